"""`kmsdet test --skip-unsupported`: rules a backend cannot run are skipped in every report,
never counted as passed, and without the flag they stop the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE, rule_text

ESQL = rule_text({
    'type = "query"': 'type = "esql"', 'language = "kuery"': 'language = "esql"',
    'index = ["logs-aws.cloudtrail-*"]\n': '',
    'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"':
        'rule_id = "6f1c2b3d-1f7e-4f4e-9d3c-8a0e0b5a3e0c"',
    'name = "Test Rule"': 'name = "ES|QL Rule"',
    'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"':
        'from logs-aws.cloudtrail-* | where event.action == "DisableKey"'})


def tree(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "kql.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "rules" / "kql.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    (tmp_path / "rules" / "esql.toml").write_text(ESQL, encoding="utf-8")
    (tmp_path / "rules" / "esql.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    return tmp_path / "rules"


def kmsdet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_without_the_flag_an_unsupported_rule_stops_the_run(tmp_path: Path) -> None:
    result = kmsdet("test", str(tree(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2
    assert "ES|QL Rule" in result.stderr and "Traceback" not in result.stderr


def test_skipped_rules_appear_as_skipped_in_every_report(tmp_path: Path) -> None:
    rules = tree(tmp_path)
    text = kmsdet("test", str(rules), "--skip-unsupported", "--junit", "j.xml", cwd=tmp_path)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "SKIP ES|QL Rule: not run on the embedded backend" in text.stdout
    assert "2 tests on the embedded backend (2 cases, 0 storylines): 2 passed" in \
        " ".join(text.stdout.split())
    junit = (tmp_path / "j.xml").read_text(encoding="utf-8")
    assert 'name="(not run)"' in junit and "<skipped" in junit
    data = json.loads(kmsdet("test", str(rules), "--skip-unsupported", "--format", "json",
                             cwd=tmp_path).stdout)
    assert [r["rule_name"] for r in data["skipped_rules"]] == ["ES|QL Rule"]
    assert data["ok"] is True and data["passed"] == 2


def test_a_run_that_skips_everything_tested_nothing(tmp_path: Path) -> None:
    rules = tree(tmp_path)
    (rules / "kql.toml").unlink()
    (rules / "kql.cases.toml").unlink()
    result = kmsdet("test", str(rules), "--skip-unsupported", cwd=tmp_path)
    assert result.returncode == 1 and "nothing was tested" in result.stdout
