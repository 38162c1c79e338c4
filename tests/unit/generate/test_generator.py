"""Must-fire events cover every or-branch; near misses break exactly one clause each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kmsdet.fields.registry import schema_for_indices
from kmsdet.generate.generator import Generator, top_clauses
from kmsdet.kql.matcher import compile_query
from kmsdet.kql.parser import parse
from tests.unit.generate.conftest import NOW

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KMS = ('data_stream.dataset: "aws.cloudtrail" and event.provider: "kms.amazonaws.com" and '
       'event.action: ("DisableKey" or "ScheduleKeyDeletion") and event.outcome: "success" '
       'and not aws.cloudtrail.user_identity.type: "AWSService"')
CORPUS = tomllib.loads((Path(__file__).parent / "corpus/corpus.toml").read_text("utf-8"))


def test_one_firing_event_per_branch(cloudtrail) -> None:
    gen = Generator(cloudtrail, NOW).generate(parse(KMS), KMS)
    actions = [e.document["event"]["action"] for e in gen.firing]
    assert actions == ["DisableKey", "ScheduleKeyDeletion"]
    assert gen.uncovered == []
    assert [e.branches for e in gen.firing] == [('event.action: "DisableKey"',),
                                               ('event.action: "ScheduleKeyDeletion"',)]


def test_near_miss_breaks_only_its_clause(cloudtrail) -> None:
    node = parse(KMS)
    gen = Generator(cloudtrail, NOW).generate(node, KMS)
    clauses = [compile_query(c, cloudtrail, now=NOW) for c in top_clauses(node)]
    by_text = {c.text: c for c in gen.clauses}
    assert by_text['data_stream.dataset: "aws.cloudtrail"'].negatable is False
    for clause in gen.clauses:
        if clause.near_miss is None:
            continue
        held = [c(clause.near_miss.document) for c in clauses]
        assert held == [i != clause.index for i in range(len(clauses))]
    outcome = by_text['event.outcome: "success"'].near_miss
    assert outcome is not None and outcome.document["event"]["outcome"] == "failure"
    service = by_text['not aws.cloudtrail.user_identity.type: "AWSService"'].near_miss
    assert service is not None
    assert service.document["aws"]["cloudtrail"]["user_identity"]["type"] == "AWSService"


def test_count_asks_for_more_variants(cloudtrail) -> None:
    query = "event.action: (a or b or c) and event.outcome: success"
    assert len(Generator(cloudtrail, NOW).generate(parse(query), count=2).firing) == 2
    assert len(Generator(cloudtrail, NOW).generate(parse(query)).firing) == 3


def test_unsatisfiable_query_reports_why(cloudtrail) -> None:
    gen = Generator(cloudtrail, NOW).generate(parse("a: x and not a: x"))
    assert gen.firing == []
    assert gen.unsatisfiable is not None


@pytest.mark.parametrize("rule", CORPUS["rule"], ids=lambda r: r["name"])
def test_corpus_rule(rule: dict) -> None:
    schema = schema_for_indices(tuple(rule["index"]))
    node = parse(rule["query"])
    gen = Generator(schema, NOW).generate(node, rule["query"])
    if rule.get("unsat"):
        assert gen.firing == [] and gen.unsatisfiable is not None
        return
    matcher = compile_query(node, schema, now=NOW)
    assert gen.firing and all(matcher(e.document) for e in gen.firing)
    assert gen.uncovered == []
    for clause in gen.clauses:
        assert clause.negatable is not None, clause.text
        if clause.near_miss is not None:
            assert not matcher(clause.near_miss.document)
