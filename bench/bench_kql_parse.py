"""How fast kmsdet parses rule queries, against lark parsers of a comparable KQL grammar.

Lint parses every rule's query once; the target is 2,000 rules in under 3 s for the whole
process, so 1,000 parses should take well under a second. The baselines are run side by side
in this process on the same 1,000 generated queries: lark's Earley parser (a naive general
parser) and lark's LALR(1) parser, both on a context-free approximation of KQL written for
this benchmark. They only build lark parse trees, while kmsdet builds its AST with spans and
resolved values, so the comparison flatters lark.

Run: .venv/bin/python bench/bench_kql_parse.py [--queries N] [--repeat R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.dsl import to_dsl
from kmsdet.kql.parser import parse

# A context-free approximation of Kibana's KQL (close enough for the generated queries:
# keywords are separate tokens, a value is one or more words or one quoted string).
LARK_GRAMMAR = r"""
?start: or_q
?or_q: and_q (OR and_q)*
?and_q: not_q (AND not_q)*
?not_q: NOT sub_q -> negation
      | sub_q
?sub_q: "(" or_q ")"
      | literal ":" "{" or_q "}" -> nested
      | literal RANGE_OP literal -> range
      | literal ":" values -> field_value
      | literal -> free_text
?values: "(" or_v ")"
       | literal
?or_v: and_v (OR and_v)*
?and_v: not_v (AND not_v)*
?not_v: NOT values -> value_negation
      | values
literal: QUOTED | WORD+
RANGE_OP: "<=" | ">=" | "<" | ">"
QUOTED: /"(\\.|[^"\\])*"/
OR.2: /or(?![^\s():<>"{}])/i
AND.2: /and(?![^\s():<>"{}])/i
NOT.2: /not(?![^\s():<>"{}])/i
WORD: /(\\[\\():<>"*{}trn]|[^\s\\():<>"{}])+/
%import common.WS
%ignore WS
"""

PROVIDERS = ["kms.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com", "s3.amazonaws.com",
             "cloudtrail.amazonaws.com", "ec2.amazonaws.com"]
KMS_ACTIONS = ["DisableKey", "ScheduleKeyDeletion", "DeleteImportedKeyMaterial", "PutKeyPolicy",
               "CreateGrant", "RetireGrant", "Decrypt", "GenerateDataKey", "ImportKeyMaterial",
               "CancelKeyDeletion", "UpdateAlias", "DeleteAlias"]
PROCESSES = ["cmd.exe", "powershell.exe", "rundll32.exe", "regsvr32.exe", "mshta.exe", "bash",
             "curl", "wget", "python3", "certutil.exe"]
IDENTITY_TYPES = ["AssumedRole", "IAMUser", "Root", "FederatedUser", "AWSService"]


def _value(rng: random.Random, words: list[str]) -> str:
    word = rng.choice(words)
    roll = rng.random()
    if roll < 0.45:
        return f'"{word}"'
    if roll < 0.6:
        return f"*{word[: max(2, len(word) // 2)]}*"
    return word


def _list(rng: random.Random, field: str, words: list[str]) -> str:
    count = rng.choice([1, 1, 2, 3, 4, 6])
    if count == 1:
        return f"{field}: {_value(rng, words)}"
    values = rng.sample(words, min(count, len(words)))
    quoted = rng.random() < 0.5
    joined = " or ".join(f'"{v}"' if quoted else v for v in values)
    return f"{field}: ({joined})"


def _condition(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.18:
        return _list(rng, "event.action", KMS_ACTIONS)
    if kind < 0.28:
        return _list(rng, "event.provider", PROVIDERS)
    if kind < 0.36:
        return _list(rng, "aws.cloudtrail.user_identity.type", IDENTITY_TYPES)
    if kind < 0.46:
        return _list(rng, "process.name", PROCESSES)
    if kind < 0.52:
        return f"process.command_line: *{rng.choice(['-enc', 'mimikatz', 'Invoke-', 'base64'])}*"
    if kind < 0.57:
        return rf"file.path: C\:\\Windows\\{rng.choice(['Temp', 'System32', 'Tasks'])}\\*"
    if kind < 0.62:
        return f"event.outcome: {rng.choice(['success', 'failure'])}"
    if kind < 0.67:
        return f"source.ip: {rng.choice(['10.0.0.0/8', '192.168.0.0/16', '*'])}"
    if kind < 0.72:
        return f"event.duration {rng.choice(['>', '>=', '<'])} {rng.randint(1, 10**9)}"
    if kind < 0.76:
        return f'@timestamp >= "2024-0{rng.randint(1, 9)}-01"'
    if kind < 0.80:
        return ("threat.enrichments: { matched.field: source.ip and indicator.type: "
                f"{rng.choice(['ipv4-addr', 'domain-name'])} }}")
    if kind < 0.84:
        user = rng.choice(["root", "admin*", "svc-*", '"Administrator"'])
        return f"user.name: {user}"
    if kind < 0.88:
        return f"aws.cloudtrail.error_code: {rng.choice(['AccessDenied', '*Unauthorized*', '*'])}"
    if kind < 0.92:
        return "host.os.type: windows and event.category: process"
    if kind < 0.95:
        return f"{rng.choice(['mimikatz', 'lsass', 'vssadmin'])}"
    return f"data_stream.dataset: {rng.choice(['aws.cloudtrail', 'endpoint.events.process'])}"


def _conjunct(rng: random.Random) -> str:
    cond = _condition(rng)
    if rng.random() < 0.15:
        cond = f"({cond} or {_condition(rng)})"
    if rng.random() < 0.18:
        cond = f"not {cond}" if cond.startswith("(") else f"not ({cond})"
    return cond


def generate_queries(count: int, seed: int = 1234) -> list[str]:
    """Rule-like queries: a dataset filter, then 1-6 conditions joined by and."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        head = rng.choice(['event.dataset: "aws.cloudtrail"', "data_stream.dataset: aws.cloudtrail",
                           'event.category: "process"', "event.module: endpoint"])
        parts = [head] + [_conjunct(rng) for _ in range(rng.randint(1, 6))]
        sep = rng.choice([" and ", "\n    and ", " AND "])
        queries.append(sep.join(parts))
    return queries


def best_time(fn: Callable[[str], object], queries: list[str], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        for query in queries:
            fn(query)
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    queries = generate_queries(args.queries)
    chars = sum(map(len, queries))
    print(f"{len(queries)} generated rule queries, {chars / len(queries):.0f} characters on "
          f"average, best of {args.repeat} runs (Earley: 1 run); for example:")
    for query in queries[:2]:
        print("   ", query.replace("\n", "\n    "))

    failures = 0
    for query in queries:
        parse(query)  # all generated queries must parse; a failure here is a bench bug
    import lark

    earley = lark.Lark(LARK_GRAMMAR, parser="earley")
    lalr = lark.Lark(LARK_GRAMMAR, parser="lalr")
    for query in queries:
        try:
            lalr.parse(query)
        except lark.LarkError:
            failures += 1

    schema = FieldSchema.from_types({
        "event.action": "keyword", "event.provider": "keyword", "event.outcome": "keyword",
        "event.dataset": "keyword", "data_stream.dataset": "constant_keyword",
        "process.name": "keyword", "process.command_line": "wildcard", "file.path": "keyword",
        "source.ip": "ip", "event.duration": "long", "@timestamp": "date", "user.name": "keyword",
        "threat.enrichments": "nested", "threat.enrichments.matched.field": "keyword",
        "threat.enrichments.indicator.type": "keyword", "host.os.type": "keyword",
    })

    ours = best_time(parse, queries, args.repeat)
    ours_dsl = best_time(lambda q: to_dsl(parse(q), schema), queries, args.repeat)
    lalr_t = best_time(lalr.parse, queries, args.repeat)
    earley_t = best_time(earley.parse, queries, 1)  # seconds per run; once is enough

    per = 1e6 / len(queries)
    rows = [
        ("kmsdet parse (hand-written)", ours),
        ("kmsdet parse + to_dsl", ours_dsl),
        ("lark LALR(1), tree only", lalr_t),
        ("lark Earley, tree only (baseline)", earley_t),
    ]
    print(f"{'parser':36} {'total ms':>10} {'us/query':>10} {'vs Earley':>10} {'vs LALR':>9}")
    for name, seconds in rows:
        print(f"{name:36} {seconds * 1e3:10.1f} {seconds * per:10.1f} "
              f"{earley_t / seconds:9.1f}x {lalr_t / seconds:8.2f}x")
    print(f"lark LALR rejected {failures} of {len(queries)} queries (approximate grammar)")
    sizes = sorted(map(len, queries))
    print(f"query length: median {statistics.median(sizes):.0f}, max {sizes[-1]} characters")
    print(f"goal: 1,000 parses under 1 s -> {'met' if ours * 1000 / len(queries) < 1 else 'MISSED'}"
          f" ({ours * 1000 / len(queries) * 1e3:.0f} ms per 1,000)")


if __name__ == "__main__":
    main()
