"""Storylines: loading with positions, the rule schedule, deduplication and the shipped pack."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kmsdet.backends.base import RUN_ID_FIELD, Alert, Backend, Execution
from kmsdet.backends.documents import first_value
from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.backends.schedule import run_times
from kmsdet.cases.scenarios import load_scenario, run_scenario, run_scenarios
from kmsdet.errors import InputError
from kmsdet.rules.loader import load_rules, load_text
from kmsdet.rules.model import Rule

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[3]

RULE = '''[metadata]
creation_date = "2026/01/10"
updated_date = "2026/01/10"

[rule]
author = ["kmsdet"]
description = "Test rule."
from = "now-6m"
index = ["logs-aws.cloudtrail-*"]
language = "kuery"
name = "{name}"
risk_score = 47
rule_id = "{rule_id}"
severity = "medium"
timestamp_override = "event.ingested"
type = "{type}"
query = \'\'\'
event.provider: "kms.amazonaws.com" and event.action: ({actions}) and event.outcome: "success"
\'\'\'
{extra}
'''

THRESHOLD = '''[rule.threshold]
field = ["aws.cloudtrail.user_identity.arn"]
value = 3
'''

NEW_TERMS = '''[rule.new_terms]
field = "new_terms_fields"
value = ["aws.cloudtrail.user_identity.arn"]

[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-10d"
'''


def make_rule(tmp_path: Path, name: str, *, rule_type: str = "query",
              actions: str = '"DisableKey"', extra: str = "") -> Rule:
    rule_id = f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}"
    text = RULE.format(name=name, rule_id=rule_id, type=rule_type, actions=actions, extra=extra)
    result = load_text(text, tmp_path / f"{name.replace(' ', '_').lower()}.toml")
    assert result.rule is not None, result.problems
    return result.rule


def write(tmp_path: Path, text: str, name: str = "story.scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MALLORY = 'userIdentity.type = "IAMUser"\nuserIdentity.userName = "mallory"\n'


def event(name: str, at: str, extra: str = MALLORY) -> str:
    return f'[[event]]\n_at = "{at}"\neventName = "{name}"\n{extra}\n'


class RecordingBackend(Backend):
    """The embedded engine behind the interface, remembering every execution it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.inner = EmbeddedBackend()
        self.executions: list[Execution] = []

    def execute(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        self.executions.extend(executions)
        return self.inner.execute(executions)


# Loading ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message", "line"), [
    ('name = "x"\n', "event", None),
    ('name = "x"\n[[event]]\neventName = "DisableKey"\n[[expect]]\nrule = "r"\nalerts = -1\n',
     "'alerts' in [[expect]] 1", 6),
    ('name = "x"\nstart = 5\n[[event]]\neventName = "DisableKey"\n', "start", 2),
    ('name = "x"\nsurprise = true\n[[event]]\neventName = "DisableKey"\n', "surprise", 2),
    ('name = "x"\n[[event]\n', "TOML syntax error", 2),
])
def test_bad_storylines_name_the_place(tmp_path: Path, text: str, message: str,
                                       line: int | None) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert message in info.value.message
    assert info.value.file == str(path)
    if line is not None:
        assert info.value.line == line


def test_expectation_for_an_unknown_rule_points_at_its_line(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Disable")
    path = write(tmp_path, 'name = "x"\n' + event("DisableKey", "-1m")
                 + '[[expect]]\nrule = "No Such Rule"\nalerts = 1\n')
    with pytest.raises(InputError) as info:
        run_scenario([rule], load_scenario(path), EmbeddedBackend(), now=NOW)
    assert "No Such Rule" in info.value.message
    assert info.value.line == path.read_text().splitlines().index('rule = "No Such Rule"') + 1


def test_a_rule_listed_twice_is_refused(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Disable")
    expect = f'[[expect]]\nrule = "Disable"\nalerts = 1\n[[expect]]\nrule = "{rule.rule_id}"\n' \
             'alerts = 1\n'
    path = write(tmp_path, 'name = "x"\n' + event("DisableKey", "-1m") + expect)
    with pytest.raises(InputError, match="twice"):
        run_scenario([rule], load_scenario(path), EmbeddedBackend(), now=NOW)


# Schedule and deduplication ---------------------------------------------------------------------

def test_overlapping_runs_raise_one_alert_per_event(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Disable")
    path = write(tmp_path, 'name = "x"\n' + event("DisableKey", "-4m") + event("EnableKey", "-1m")
                 + '[[expect]]\nrule = "Disable"\nalerts = 1\n')
    backend = RecordingBackend()
    result = run_scenario([rule], load_scenario(path), backend, now=NOW)
    assert len(backend.executions) >= 2  # the event sits in two overlapping windows
    assert result.passed and result.outcomes[0].actual == 1


def test_every_execution_has_its_own_run_id_on_its_documents(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Disable")
    events = event("DisableKey", "-20m") + event("DisableKey", "-1m")
    path = write(tmp_path, 'name = "x"\n' + events)
    backend = RecordingBackend()
    run_scenario([rule], load_scenario(path), backend, now=NOW)
    ids = [e.run_id for e in backend.executions]
    assert len(set(ids)) == len(ids) > 1
    for execution in backend.executions:
        assert {first_value(d, RUN_ID_FIELD) for d in execution.documents} == {execution.run_id}


def test_events_far_apart_are_all_seen_and_empty_runs_are_skipped(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Disable")
    path = write(tmp_path, 'name = "x"\n' + event("DisableKey", "-3h") + event("DisableKey", "-1m")
                 + '[[expect]]\nrule = "Disable"\nalerts = 2\n')
    backend = RecordingBackend()
    result = run_scenario([rule], load_scenario(path), backend, now=NOW)
    assert result.passed
    assert len(backend.executions) <= 4  # two or so runs per event, not 36 runs for 3 hours


def test_run_times_follow_the_interval_and_stop_after_the_end(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Disable")
    doc = {"event": {"ingested": "2026-03-02T11:58:00Z"}}
    runs = run_times(rule, [doc], start=NOW - timedelta(minutes=10), end=NOW)
    assert runs == [NOW]  # the runs at -10m and -5m search windows without the event
    runs = run_times(rule, [doc], start=NOW - timedelta(minutes=1), end=NOW)
    assert runs == [NOW - timedelta(minutes=1), NOW + timedelta(minutes=4)]  # the last is past end


def test_threshold_group_counts_its_events_once(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "Burst", rule_type="threshold",
                     actions='"DisableKey" or "ScheduleKeyDeletion"', extra=THRESHOLD)
    burst = "".join(event("DisableKey", at) for at in ("-510s", "-9m", "-8m"))
    later = "".join(event("ScheduleKeyDeletion", at) for at in ("-150s", "-3m", "-2m"))
    path = write(tmp_path, 'name = "x"\n' + burst + '[[expect]]\nrule = "Burst"\nalerts = 1\n')
    assert run_scenario([rule], load_scenario(path), EmbeddedBackend(), now=NOW).passed
    path = write(tmp_path, 'name = "x"\n' + burst + later
                 + '[[expect]]\nrule = "Burst"\nalerts = 2\n', "two.scenario.toml")
    result = run_scenario([rule], load_scenario(path), EmbeddedBackend(), now=NOW)
    assert result.outcomes[0].actual == 2


def test_events_before_start_are_history_for_new_terms(tmp_path: Path) -> None:
    rule = make_rule(tmp_path, "First", rule_type="new_terms", actions='"EnableKeyRotation"',
                     extra=NEW_TERMS)
    events = event("EnableKeyRotation", "-3d") + event("EnableKeyRotation", "-10m")
    live_late = write(tmp_path, 'name = "x"\nstart = "-1h"\n' + events)
    live_early = write(tmp_path, 'name = "x"\n' + events, "early.scenario.toml")
    late = run_scenario([rule], load_scenario(live_late), EmbeddedBackend(), now=NOW)
    early = run_scenario([rule], load_scenario(live_early), EmbeddedBackend(), now=NOW)
    assert late.outcomes[0].actual == 0  # the principal is known from the history
    assert early.outcomes[0].actual == 1  # the rule saw the first appearance itself


def test_unexpected_alert_fails_and_is_reported(tmp_path: Path) -> None:
    quiet = make_rule(tmp_path, "Quiet", actions='"ReplicateKey"')
    noisy = make_rule(tmp_path, "Noisy")
    path = write(tmp_path, 'name = "x"\n' + event("DisableKey", "-1m"))
    result = run_scenario([quiet, noisy], load_scenario(path), EmbeddedBackend(), now=NOW)
    assert not result.passed
    assert [o.rule.name for o in result.failures] == ["Noisy"]
    summary = result.as_dict()
    assert summary["passed"] is False
    assert summary["rules"] == [{"rule_id": noisy.rule_id, "rule_name": "Noisy", "expected": 0,
                                 "actual": 1, "passed": False}]


# The shipped pack -------------------------------------------------------------------------------

def test_shipped_storylines_raise_exactly_their_alerts() -> None:
    rules = load_rules([REPO / "rules" / "aws_kms"])
    results = run_scenarios(rules, [REPO / "rules" / "scenarios"], EmbeddedBackend(), now=NOW)
    by_file = {r.path.name: r for r in results}
    assert set(by_file) == {"byok_ransomware_attack.scenario.toml",
                            "routine_key_administration.scenario.toml"}
    for result in results:
        assert result.passed, result.as_dict()
    assert sum(o.actual for o in by_file["routine_key_administration.scenario.toml"].outcomes) == 0
    assert sum(o.actual for o in by_file["byok_ransomware_attack.scenario.toml"].outcomes) == 13


def test_the_benign_storyline_needs_the_exceptions() -> None:
    rules = load_rules([REPO / "rules" / "aws_kms"])
    for rule in rules:
        if rule.kmsdet:
            rule.kmsdet.exceptions = []
    [result] = run_scenarios(rules, [REPO / "rules/scenarios/routine_key_administration"
                                     ".scenario.toml"], EmbeddedBackend(), now=NOW)
    fired = {o.rule.name for o in result.failures}
    assert "AWS KMS Customer Managed Key Disabled or Scheduled for Deletion" in fired
    assert "AWS KMS Several Keys Disabled or Scheduled for Deletion by One Principal" in fired
