"""How fast EQL rules run in the embedded engine, against KQL rules on the same events.

100 EQL rules (half event queries, half two- or three-step sequences with ``by`` keys and a
maxspan) over 100,000 CloudTrail-shaped documents, the whole run: every document through every
rule's prefilter (kmsdet.eql.prefilter_set.EqlPrefilterSet, one read per document), then each
rule's EQL run (events, or the sequence state machine) over the documents it kept. The baseline,
timed in the same process on the same documents, is issue 3's KQL MatcherSet with 100 KQL
rules of the same shape (bench_match.py). Goal: EQL under 2x the KQL time. Times are this
process's CPU time, the fastest of ``--rounds`` alternating rounds per side: the machine is
shared, and wall time would measure the neighbours.

The rules are generated like bench_match's: dataset, provider and action(s), plus one or two
refinements, written in EQL (``==``, ``in``, ``:`` wildcards, ``not``, ``cidrMatch``).

Run: .venv/bin/python bench/bench_eql.py [--docs N] [--rules N]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_match import ACTIONS, load_schema, make_documents, make_rules  # noqa: E402

from kmsdet.eql import EqlProgram  # noqa: E402
from kmsdet.eql.prefilter_set import EqlPrefilterSet  # noqa: E402
from kmsdet.kql.matcher import _Doc, compile_many  # noqa: E402
from kmsdet.kql.parser import parse  # noqa: E402

REFINEMENTS = [
    'event.outcome == "success"',
    'event.outcome == "failure"',
    'aws.cloudtrail.user_identity.type != "AWSService"',
    'aws.cloudtrail.user_identity.type in ("Root", "IAMUser")',
    'user_agent.original : "*aws-cli*"',
    'not user_agent.original : ("*Boto3*", "*terraform*")',
    'not cidrMatch(source.ip, "10.0.0.0/8", "192.168.0.0/16")',
    "aws.cloudtrail.read_only == false",
    'cloud.region in ("us-east-1", "eu-west-1")',
    'aws.cloudtrail.error_code : "AccessDenied*"',
    'user.name like "admin*"',
]


def event_condition(rng: random.Random, pairs: list[tuple[str, str]]) -> str:
    provider, action = rng.choice(pairs)
    actions = [action]
    if rng.random() < 0.3:
        actions.append(rng.choice(ACTIONS[provider]))
    action_text = (f'event.action == "{actions[0]}"' if len(actions) == 1 else
                   "event.action in (" + ", ".join(f'"{a}"' for a in actions) + ")")
    parts = ['event.dataset == "aws.cloudtrail"', f'event.provider == "{provider}"', action_text]
    parts += rng.sample(REFINEMENTS, rng.randint(1, 2))
    return " and ".join(parts)


def make_eql_rules(count: int, rng: random.Random) -> list[str]:
    pairs = [(p, a) for p, actions in ACTIONS.items() for a in actions]
    rules = []
    for index in range(count):
        if index % 2 == 0:
            rules.append(f"any where {event_condition(rng, pairs)}")
            continue
        steps = rng.choice([2, 2, 3])
        by = rng.choice(["aws.cloudtrail.user_identity.arn", "user.name",
                         "aws.cloudtrail.user_identity.arn, cloud.region"])
        span = rng.choice(["5m", "10m", "1h"])
        body = "\n  ".join(f"[any where {event_condition(rng, pairs)}]" for _ in range(steps))
        rules.append(f"sequence by {by} with maxspan={span}\n  {body}")
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    schema = load_schema()
    kql_nodes = [parse(r) for r in make_rules(args.rules, rng)]
    eql_rules = make_eql_rules(args.rules, rng)
    docs = make_documents(args.docs, rng)
    # Both sides run as the embedded backend's workers do, without the cyclic collector (their
    # structures hold no cycles; reference counting frees them). With it, the EQL side pays
    # for the documents its rules keep alive: every full collection rescans them.
    gc.collect()
    gc.disable()
    print(f"{args.rules} EQL rules ({sum(r.startswith('sequence') for r in eql_rules)} "
          f"sequences) and {args.rules} KQL rules x {len(docs):,} documents")

    def kql_run() -> int:
        matchers = compile_many(kql_nodes, schema)
        return sum(len(matchers.matches(doc)) for doc in docs)

    def eql_run() -> tuple[list[EqlProgram], list[list[_Doc]], list[list], float]:
        start = time.process_time()
        programs = [EqlProgram(r, schema) for r in eql_rules]
        prefilters = EqlPrefilterSet(programs)
        kept: list[list[_Doc]] = [[] for _ in programs]
        for doc in docs:
            d = _Doc(doc)  # one wrapper: conversions and condition results reused by the runs
            for index in prefilters.matches_doc(d):
                kept[index].append(d)
        prefilter = time.process_time() - start
        results = [p.run(k, size=1_000_000) for p, k in zip(programs, kept, strict=True)]
        return programs, kept, results, prefilter

    # Alternate the two sides and keep each one's fastest round: the machine is shared.
    kql_times, eql_times, prefilter_times = [], [], []
    for _ in range(args.rounds):
        start = time.process_time()
        kql_hits = kql_run()
        kql_times.append(time.process_time() - start)
        start = time.process_time()
        programs, kept, results, prefilter = eql_run()
        eql_times.append(time.process_time() - start)
        prefilter_times.append(prefilter)
    kql_time, eql_time, prefilter_time = min(kql_times), min(eql_times), min(prefilter_times)

    sequences = sum(len(r) for p, r in zip(programs, results, strict=True) if p.is_sequence)
    events = sum(len(r) for p, r in zip(programs, results, strict=True) if not p.is_sequence)
    print(f"KQL MatcherSet: {kql_hits:,} matches")
    print(f"EQL: {sum(len(k) for k in kept):,} documents kept, {events:,} event results, "
          f"{sequences:,} sequences")
    print(f"{'run':<40}{'seconds':>10}{'docs/s':>12}")
    for label, seconds in (("KQL MatcherSet (baseline)", kql_time),
                           ("EQL prefilter set only", prefilter_time),
                           ("EQL whole run (prefilter + runs)", eql_time)):
        print(f"{label:<40}{seconds:>10.2f}{len(docs) / seconds:>12,.0f}")
    ratio = eql_time / kql_time
    print(f"ratio EQL whole run / KQL MatcherSet: {ratio:.2f}x (goal < 2x: "
          f"{'met' if ratio < 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
