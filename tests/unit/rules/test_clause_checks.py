"""KD350: the clauses a rule's search expands to, against Elasticsearch's maxClauseCount."""

from __future__ import annotations

import pytest

from kmsdet.fields.registry import schema_for_indices
from kmsdet.kql.dsl import to_dsl
from kmsdet.kql.parser import parse
from kmsdet.rules.checks.base import LintContext, Severity
from kmsdet.rules.checks.clauses import (
    GUARANTEED_CLAUSES,
    SMALL_NODE_CLAUSES,
    ClauseCount,
    count_clauses,
)
from tests.unit.rules.rule_text import line_of, load, rule_text

SCHEMA = schema_for_indices(("logs-aws.cloudtrail-*",))
ACTION = 'and event.action: "DisableKey"'


def clauses(query: str) -> int:
    return count_clauses(to_dsl(parse(query), SCHEMA), SCHEMA)


@pytest.mark.parametrize(("query", "expected"), [
    ('event.action: "DisableKey"', 1),
    ("event.action: (A or B or C)", 3),
    ("event.action: A and not event.outcome: failure", 2),
    ("event.action: A and (user.name: x or (source.ip: 10.0.0.1 and cloud.region: y))", 4),
    ("event.action: A and @timestamp >= now-1d", 2),
    ("event.action: A and user.name: *", 2),
    # match_phrase on a text field: one clause per analysed token, as Lucene counts them
    ('message: "the quick brown fox"', 4),
    ('message: "one"', 1),
])
def test_count_clauses_table(query: str, expected: int) -> None:
    assert clauses(query) == expected


def test_a_field_wildcard_counts_every_field_it_expands_to() -> None:
    expanded = SCHEMA.expand("aws.cloudtrail.user_identity.*")
    assert len(expanded) > 3
    assert clauses("aws.cloudtrail.user_identity.*: x") >= len(expanded) - 2


def values(n: int) -> str:
    return "and event.action: (" + " or ".join(f'"A{i}"' for i in range(n)) + ")"


def check(text: str):
    rule = load(text).rule
    assert rule is not None
    return list(ClauseCount().check(rule, LintContext()))


def test_at_the_guaranteed_floor_nothing_is_reported() -> None:
    # event.provider + the values = exactly the floor
    assert check(rule_text({ACTION: values(GUARANTEED_CLAUSES - 1)})) == []


def test_above_the_floor_is_a_warning_at_the_query() -> None:
    text = rule_text({ACTION: values(GUARANTEED_CLAUSES)})
    [finding] = check(text)
    assert (finding.code, finding.severity) == ("KD350", Severity.WARNING)
    assert f"{GUARANTEED_CLAUSES + 1:,} clauses" in finding.message
    assert finding.line == line_of(text, "query =")


def test_ten_thousand_values_are_an_error() -> None:
    [finding] = check(rule_text({ACTION: values(10_000)}))
    assert finding.severity is Severity.ERROR
    assert "10,001 clauses" in finding.message and "maxClauseCount" in finding.message
    assert SMALL_NODE_CLAUSES < 10_001


def test_exceptions_count_too() -> None:
    listed = ", ".join(f'"u{i}"' for i in range(GUARANTEED_CLAUSES))
    text = rule_text(append=f'\n[[kmsdet.exceptions]]\nfield = "user.name"\n'
                            f'type = "match_any"\nvalue = [{listed}]\n')
    [finding] = check(text)
    assert f"{GUARANTEED_CLAUSES + 2:,} clauses" in finding.message
