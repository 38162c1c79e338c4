"""Generated cases for EQL rules: each offered case raises exactly what it claims."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.runner import run_tests
from kmsdet.generate.eql_cases import append_eql_cases, generate_for_eql_rule
from kmsdet.rules.loader import load_rule
from tests.unit.eql.test_rule import eql_rule

PACK = Path(__file__).resolve().parents[3] / "rules" / "aws_kms"
POLICY_THEN_DELETE = PACK / "impact_kms_key_policy_replaced_then_key_disabled_or_deleted.toml"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
UNTIL = ('sequence by aws.cloudtrail.user_identity.arn with maxspan=10m\n'
         '  [any where event.provider == "kms.amazonaws.com" and event.action == "DisableKey"]\n'
         '  [any where event.provider == "kms.amazonaws.com" and '
         'event.action == "ScheduleKeyDeletion"]\n'
         'until [any where event.provider == "kms.amazonaws.com" and '
         'event.action == "EnableKey"]')


def names(cases: list) -> dict[str, str | None]:
    return {c.name: c.note for c in cases}


def test_a_pack_sequence_gets_a_firing_sequence_and_one_near_miss_per_condition() -> None:
    result = generate_for_eql_rule(load_rule(POLICY_THEN_DELETE), now=NOW)
    assert names(result.cases) == {
        "fires: the sequence in order, same keys, inside maxspan": None,
        "near miss: the steps in reverse order": None,
        "near miss: a different `by` value on the last step": None,
        "near miss: the events further apart than maxspan": None,
    }
    fire = result.firing[0]
    assert [e["eventName"] for e in fire.events] == ["PutKeyPolicy", "DisableKey"]


def test_until_gets_a_near_miss_with_the_until_event_between_the_steps() -> None:
    result = generate_for_eql_rule(eql_rule(UNTIL), now=NOW)
    until = next(c for c in result.cases if "until" in c.name)
    assert until.verified
    assert [e["eventName"] for e in until.events] == ["DisableKey", "EnableKey",
                                                      "ScheduleKeyDeletion"]


def test_an_event_query_gets_a_firing_event_and_clause_near_misses() -> None:
    query = 'any where event.action == "DisableKey" and event.outcome == "success"'
    result = generate_for_eql_rule(eql_rule(query), now=NOW)
    assert [c.kind for c in result.cases] == ["fire", "near_miss", "near_miss"]
    assert all(c.verified for c in result.cases), [c.note for c in result.cases]


def test_a_maxspan_longer_than_the_look_back_cannot_be_exceeded_in_one_run() -> None:
    query = UNTIL.replace("maxspan=10m", "maxspan=1h")
    result = generate_for_eql_rule(eql_rule(query), now=NOW)
    beyond = next(c for c in result.cases if "further apart" in c.name)
    assert not beyond.verified and "look-back" in (beyond.note or "")


def test_conditions_without_a_kql_counterpart_are_reported_not_guessed() -> None:
    result = generate_for_eql_rule(eql_rule('any where length(event.action) == 10'), now=NOW)
    assert result.firing == []
    assert "length(...)" in (result.cases[0].note or "")


def test_written_cases_load_and_pass(tmp_path: Path) -> None:
    for path in POLICY_THEN_DELETE.parent.glob(POLICY_THEN_DELETE.stem + ".*"):
        shutil.copy(path, tmp_path / path.name)
    rule = load_rule(tmp_path / POLICY_THEN_DELETE.name)
    written = append_eql_cases(generate_for_eql_rule(rule, now=NOW))
    assert len(written.written) == 4
    run = run_tests([rule], EmbeddedBackend(workers=1), now=NOW)
    assert run.failed == 0 and run.passed == 6 + 4
    again = append_eql_cases(generate_for_eql_rule(rule, now=NOW))
    assert again.written == [] and len(again.skipped) == 4


@pytest.mark.parametrize(("eql", "kql_fields"), [
    ('any where a == "x" and b != 1', ["a", "b"]),
    ('any where a in ("x", "y") or c like~ "p*"', ["a", "c"]),
    ("any where ?d == null", ["d"]),
])
def test_event_queries_translate_to_kql_for_the_solver(eql: str, kql_fields: list[str]) -> None:
    from kmsdet.eql.parser import parse
    from kmsdet.eql.to_kql import event_query_node
    from kmsdet.kql.ast import field_refs

    node = event_query_node(parse(eql))  # type: ignore[arg-type]
    assert sorted({name for name, _ in field_refs(node)}) == kql_fields
