"""Cases run once per AWS integration pipeline version; rules whose verdict moves are named."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.runner import run_tests
from kmsdet.cases.versions import compare_runs, rule_reads
from kmsdet.cloudtrail.integration import CURRENT, LEGACY, PIPELINES, SESSION_RELATED, using
from kmsdet.rules.loader import load_rule
from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)

# A rule written against the 0b97ab02 mapping: the session name in user.changes.name.
SESSION_QUERY = ('event.action : "DisableKey" and user.changes.name : "break-glass"')
SESSION_CASES = '''
[[case]]
name = "break-glass session disables a key"
expect = 1
[[case.event]]
eventName = "DisableKey"
userIdentity.type = "AssumedRole"
userIdentity.arn = "arn:aws:sts::111122223333:assumed-role/Admin/break-glass"
'''


def _rule(tmp_path: Path, query: str, cases: str) -> Path:
    text = VALID_RULE
    start = text.index("query = '''") + len("query = '''")
    end = text.index("'''", start)
    text = text[:start] + "\n" + query + "\n" + text[end:]
    (tmp_path / "my_rule.toml").write_text(text, encoding="utf-8")
    (tmp_path / "my_rule.cases.toml").write_text(cases, encoding="utf-8")
    return tmp_path / "my_rule.toml"


def _runs(path: Path) -> list:
    rule = load_rule(path)
    runs = []
    for pipeline in PIPELINES:
        with using(pipeline):
            runs.append((pipeline, run_tests([rule], EmbeddedBackend(), now=NOW)))
    return runs


def test_a_rule_on_a_moved_field_is_named_with_the_field(tmp_path: Path) -> None:
    differences = compare_runs(_runs(_rule(tmp_path, SESSION_QUERY, SESSION_CASES)))
    assert len(differences) == 1
    difference = differences[0]
    assert difference.case == "break-glass session disables a key"
    assert {n: v.passed for n, v in difference.verdicts.items()} == {
        LEGACY.name: True, SESSION_RELATED.name: False, CURRENT.name: False}
    assert difference.moved == ["user.changes.name"]
    text = difference.render()
    assert "passes on 0b97ab02" in text and "fails on 7.1.0, current" in text
    assert "moved: user.changes.name" in text
    assert difference.as_dict()["moved_fields"] == ["user.changes.name"]


def test_a_rule_on_stable_fields_has_no_difference(tmp_path: Path) -> None:
    (tmp_path / "my_rule.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "my_rule.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    assert compare_runs(_runs(tmp_path / "my_rule.toml")) == []


def test_one_version_has_nothing_to_compare(tmp_path: Path) -> None:
    runs = _runs(_rule(tmp_path, SESSION_QUERY, SESSION_CASES))
    assert compare_runs(runs[:1]) == []


def test_rule_reads_query_threshold_and_unknowns(tmp_path: Path) -> None:
    rule = load_rule(_rule(tmp_path, SESSION_QUERY, SESSION_CASES))
    assert rule_reads(rule) == {"event.action", "user.changes.name"}
    free_text = load_rule(_rule(tmp_path, "break-glass", SESSION_CASES))
    assert rule_reads(free_text) is None
