"""Rule cases end to end on the embedded backend: loading, building events, counting alerts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.events import build_case_events
from kmsdet.cases.loader import load_cases
from kmsdet.cases.model import Case
from kmsdet.cases.runner import run_tests
from kmsdet.errors import InputError
from kmsdet.reports.run_output import run_json
from kmsdet.rules.loader import load_rule, load_rules
from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
RULES = Path(__file__).resolve().parents[3] / "rules"


def tree(tmp_path: Path, cases: str = VALID_CASES) -> Path:
    (tmp_path / "my_rule.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "my_rule.cases.toml").write_text(cases, encoding="utf-8")
    return tmp_path / "my_rule.toml"


def test_cases_pass_and_report_counts(tmp_path: Path) -> None:
    rule = load_rule(tree(tmp_path))
    run = run_tests([rule], EmbeddedBackend(), now=NOW)
    assert [(r.case.name, r.expected, r.actual) for r in run.results] == [("fires", 1, 1),
                                                                          ("quiet", 0, 0)]
    payload = json.loads(run_json(run))
    assert payload["backend"] == "embedded"
    assert (payload["passed"], payload["failed"]) == (2, 0)
    assert set(payload["results"][0]) == {"rule_id", "rule_name", "case", "expected", "actual",
                                          "passed"}


def test_a_broken_query_fails_its_must_fire_case(tmp_path: Path) -> None:
    path = tree(tmp_path)
    path.write_text(VALID_RULE.replace('"DisableKey"', '"DisableKye"'), encoding="utf-8")
    run = run_tests([load_rule(path)], EmbeddedBackend(), now=NOW)
    assert [(r.case.name, r.passed) for r in run.results] == [("fires", False), ("quiet", True)]
    assert run.failed == 1


def test_same_seed_builds_the_same_events() -> None:
    case = Case.model_validate({"name": "c", "expect": 1, "event": [{"eventName": "DisableKey"}]})
    first = build_case_events(case, now=NOW, seed=7, key="r")
    again = build_case_events(case, now=NOW, seed=7, key="r")
    other = build_case_events(case, now=NOW, seed=8, key="r")
    assert [e.raw for e in first] == [e.raw for e in again]
    assert first[0].raw["eventID"] != other[0].raw["eventID"]


def test_event_options_set_time_ingest_delay_and_count() -> None:
    case = Case.model_validate({"name": "c", "expect": 2, "event": [
        {"eventName": "DisableKey", "_at": "-2h", "_ingest_delay": "90m", "_count": 2}]})
    events = build_case_events(case, now=NOW, seed=0, key="r")
    assert len(events) == 2
    assert events[0].raw["eventTime"] == "2026-01-15T10:00:00Z"
    assert events[0].ingested == datetime(2026, 1, 15, 11, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(("event", "message"), [
    ({"eventName": "DisableKey", "_at": "soon"}, "_at 'soon' is not a duration"),
    ({"eventName": "DisableKey", "_colour": "red"}, "unknown option _colour"),
    ({"eventName": "DisableKey", "_count": 0}, "_count must be a positive integer"),
])
def test_bad_event_options_are_input_errors(event: dict, message: str) -> None:
    case = Case.model_validate({"name": "c", "expect": 1, "event": [event]})
    with pytest.raises(InputError, match=message):
        build_case_events(case, now=NOW, seed=0, key="r")


def test_invalid_case_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tree(tmp_path, '[[case]]\nname = "x"\nexpect = "one"\n[[case.event]]\neventName = "A"\n')
    with pytest.raises(InputError) as info:
        load_cases(path)
    assert info.value.file == str(tmp_path / "my_rule.cases.toml")
    assert info.value.line == 3
    assert info.value.field == "case[1].expect"  # counted from 1, as people count


def test_the_shipped_pack_passes_on_the_embedded_backend() -> None:
    run = run_tests(load_rules([RULES]), EmbeddedBackend())
    failures = [(r.rule.name, r.case.name, r.expected, r.actual) for r in run.results
                if not r.passed]
    assert failures == []
    assert run.results and not run.rules_without_cases


def test_benign_baseline_catches_a_rule_that_matches_too_much(tmp_path: Path) -> None:
    path = tree(tmp_path)
    path.write_text(VALID_RULE.replace('and event.action: "DisableKey"\n', ""), encoding="utf-8")
    run = run_tests([load_rule(path)], EmbeddedBackend(), now=NOW, baseline=300)
    [baseline] = [r for r in run.results if r.case.name == "benign baseline (300 events)"]
    assert baseline.expected == 0 and baseline.actual > 0 and not baseline.passed


def test_the_pack_stays_quiet_on_the_benign_baseline() -> None:
    rules = load_rules([RULES])
    run = run_tests(rules, EmbeddedBackend(), baseline=2000)
    baseline = [r for r in run.results if r.case.name.startswith("benign baseline")]
    assert len(baseline) == len(rules)
    assert [(r.rule.name, r.actual) for r in baseline if r.actual] == []


def test_every_pack_rule_has_two_must_fire_and_two_must_not_fire_cases() -> None:
    short = []
    for rule in load_rules([RULES]):
        loaded = load_cases(rule.source.path)
        cases = loaded.cases if loaded else []
        fire = sum(1 for c in cases if c.must_fire)
        quiet = len(cases) - fire
        if fire < 2 or quiet < 2:
            short.append((rule.name, fire, quiet))
    assert short == []
