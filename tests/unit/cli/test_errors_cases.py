"""`kmsdet test` through the real entry point: bad cases and bad queries name file and line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE, line_of, rule_text


def kmsdet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize(("override", "message"), [
    ('userIdentity.type = "Alien"', "userIdentity.type 'Alien' is not a CloudTrail identity"),
    ("eventName = 42", "eventName must be a string, not int 42"),
    ('_at = "yesterday"', "_at 'yesterday' is not a duration"),
    ('userIdentity.tpye = "IAMUser"', "'userIdentity.tpye' is not a userIdentity key"),
])
def test_bad_case_event_is_an_input_error_at_its_line(tmp_path: Path, override: str,
                                                      message: str) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    cases = VALID_CASES.replace('eventName = "EnableKey"', override)
    (tmp_path / "r.cases.toml").write_text(cases, encoding="utf-8")
    result = kmsdet("test", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"]["line"] == line_of(cases, override)
    assert f"r.cases.toml:{line_of(cases, override)}" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("clause", "message"), [
    ('and event.outcome: (success', "expected ')'"),
    ('and source.ip: "not-an-ip"', "'not-an-ip' is not an IP address"),
    ("and @timestamp: 2024*", "a wildcard cannot be used on a date field"),
])
def test_bad_query_names_the_rule_file(tmp_path: Path, clause: str, message: str) -> None:
    text = rule_text({'and event.action: "DisableKey"': clause})
    (tmp_path / "r.toml").write_text(text, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    result = kmsdet("test", "r.toml", cwd=tmp_path)
    assert result.returncode == 2
    where = re.search(r"r\.toml:(\d+)", result.stderr)
    assert where is not None, result.stderr
    # The query's own line, or the line inside it where the parser stopped.
    assert line_of(text, "query =") <= int(where.group(1)) <= line_of(text, clause) + 1
    assert message in result.stderr


def test_good_tree_json_stays_valid(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    result = kmsdet("test", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["passed"] == 2
