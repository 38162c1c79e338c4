"""Rendering a test run: capped explanations for people, everything for machines, one verdict."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.explain import explain_case
from kmsdet.cases.runner import run_tests
from kmsdet.reports.junit import junit_xml
from kmsdet.reports.run_output import (
    MAX_EXPLAIN_LINES,
    cap_explanation,
    render_report,
    report_json,
    report_junit_cases,
)
from kmsdet.reports.test_report import TestReport
from kmsdet.rules.loader import load_rule
from tests.unit.rules.rule_text import rule_text

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
VALUES = 2000
CASES = '''[[case]]
name = "fires"
expect = 1
[[case.event]]
eventName = "NotInTheList"
'''


def big_failing_report(tmp_path: Path) -> TestReport:
    values = " or ".join(f'"A{i}"' for i in range(VALUES))
    text = rule_text({'and event.action: "DisableKey"': f"and event.action: ({values})"})
    (tmp_path / "big.toml").write_text(text, encoding="utf-8")
    (tmp_path / "big.cases.toml").write_text(CASES, encoding="utf-8")
    run = run_tests([load_rule(tmp_path / "big.toml")], EmbeddedBackend(), now=NOW)
    return TestReport(run=run)


def rendered(report: TestReport) -> str:
    out = io.StringIO()
    render_report(report, Console(file=out, width=200), explain_case)
    return out.getvalue()


def test_text_caps_the_explanation_and_says_what_was_left_out(tmp_path: Path) -> None:
    text = rendered(big_failing_report(tmp_path))
    assert len(text.splitlines()) < MAX_EXPLAIN_LINES + 20
    # "and", the provider clause, "or" and one line per value
    assert f"{VALUES + 3 - MAX_EXPLAIN_LINES:,} more line(s) of this explanation left out" \
        in text
    assert text.strip().endswith("1 failed: failed")


def test_json_keeps_the_full_explanation(tmp_path: Path) -> None:
    document = json.loads(report_json(big_failing_report(tmp_path), explain_case))
    [result] = document["results"]
    assert len(result["details"]) > VALUES
    assert sum('event.action: "A' in line for line in result["details"]) == VALUES


def test_junit_details_are_capped_too(tmp_path: Path) -> None:
    xml = junit_xml("t", report_junit_cases(big_failing_report(tmp_path), explain_case))
    failure = ET.fromstring(xml).find(".//failure")
    assert failure is not None and failure.text is not None
    assert len(failure.text.splitlines()) < MAX_EXPLAIN_LINES + 10


def test_cap_explanation_per_event_block() -> None:
    lines = ["event 1 against the query:", *[f"  l{i}" for i in range(5)],
             "event 2 against the query:", "  only"]
    assert cap_explanation(lines, 2) == [
        "event 1 against the query:", "  l0", "  l1",
        "  ... 3 more line(s) of this explanation left out (--format json has them all)",
        "event 2 against the query:", "  only"]
