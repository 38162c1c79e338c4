"""`kmsdet test` through the real entry point: every report agrees with the exit code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE, line_of, rule_text

REPO = Path(__file__).resolve().parents[3]
STORY = "scenarios/byok_ransomware_attack.scenario.toml"


def kmsdet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def junit_counts(path: Path) -> tuple[int, int]:
    root = ET.parse(path).getroot()
    return int(root.get("tests", "0")), int(root.get("failures", "0"))


@pytest.fixture
def pack_with_failing_storyline(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    story = tmp_path / "rules" / STORY
    text = story.read_text(encoding="utf-8")
    assert "alerts = 1" in text
    story.write_text(text.replace("alerts = 1", "alerts = 2", 1), encoding="utf-8")
    return tmp_path


def test_failing_storyline_fails_json_and_junit(pack_with_failing_storyline: Path) -> None:
    cwd = pack_with_failing_storyline
    result = kmsdet("test", "rules", "--junit", "o.xml", "--format", "json", cwd=cwd)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == 1 and report["ok"] is False
    assert report["passed"] + report["failed"] == report["tests"]
    [story] = [s for s in report["scenarios"] if not s["passed"]]
    [failure] = story["failures"]
    assert (failure["expected"], failure["actual"]) == (2, 1)
    assert failure["alerted_events"], "the failure names the events that alerted"
    tests, failures = junit_counts(cwd / "o.xml")
    assert failures == 1 and tests == report["tests"]
    storylines = ET.parse(cwd / "o.xml").getroot().iter("testcase")
    failed = [c for c in storylines if c.find("failure") is not None]
    assert [c.get("classname") for c in failed] == ["kmsdet.storyline"]
    assert "expected 2 alert(s), got 1" in (failed[0].find("failure").text or "")


def test_failing_storyline_text_summary_says_failed(pack_with_failing_storyline: Path) -> None:
    result = kmsdet("test", "rules", cwd=pack_with_failing_storyline)
    assert result.returncode == 1
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.endswith("1 failed: failed"), summary
    assert ": ok" not in result.stdout


def test_passing_pack_reports_ok_everywhere(tmp_path: Path) -> None:
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    result = kmsdet("test", "rules", "--junit", "o.xml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["failed"] == 0
    assert len(report["scenarios"]) == 2
    assert junit_counts(tmp_path / "o.xml") == (report["tests"], 0)


def test_rule_without_cases_only_is_not_ok(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    result = kmsdet("test", ".", "--junit", "o.xml", cwd=tmp_path)
    assert result.returncode == 1
    assert "nothing was tested" in result.stdout
    assert result.stdout.strip().endswith("failed")
    assert junit_counts(tmp_path / "o.xml")[1] == 1


def test_empty_cases_file_is_not_ok(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text("", encoding="utf-8")
    result = kmsdet("test", ".", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["problems"]
    assert [r["file"] for r in report["rules_without_cases"]] == ["r.toml"]


def test_baseline_alone_tests_nothing(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    result = kmsdet("test", ".", "--baseline", "50", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["ok"] is False


def test_query_syntax_error_without_cases_is_an_input_error(tmp_path: Path) -> None:
    clause = "and event.outcome: (success"
    text = rule_text({'and event.action: "DisableKey"': clause})
    (tmp_path / "broken.toml").write_text(text, encoding="utf-8")
    (tmp_path / "good.toml").write_text(
        VALID_RULE.replace("0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d",
                           "1b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d").replace(
            'name = "Test Rule"', 'name = "Good Rule"'), encoding="utf-8")
    (tmp_path / "good.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    result = kmsdet("test", ".", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    where = re.search(r"broken\.toml:(\d+)", result.stderr)
    assert where is not None, result.stderr
    assert line_of(text, "query =") <= int(where.group(1)) <= line_of(text, clause) + 1
