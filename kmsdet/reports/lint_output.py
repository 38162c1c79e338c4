"""Machine-readable lint results: the JSON other tools rely on, and JUnit test cases."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence

from kmsdet.reports.junit import JUnitCase
from kmsdet.rules.checks.base import Check, Finding, Severity
from kmsdet.rules.lint import LintReport


def lint_json(report: LintReport) -> str:
    """``{"rules": N, "findings": [{code, severity, file, line, column, rule_id, message}]}``."""
    payload = {
        "rules": len(report.rules),
        "findings": [
            {k: v for k, v in f.as_dict().items() if k != "hint" or v is not None}
            for f in report.findings
        ],
    }
    return json.dumps(payload, indent=2)


def lint_junit_cases(report: LintReport, *, strict: bool) -> list[JUnitCase]:
    """One test case per rule file; it fails on an error, or on a warning under --strict."""
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_file[finding.file].append(finding)
    files = sorted({str(r.source.path) for r in report.rules} | set(by_file))
    cases = []
    for file in files:
        findings = by_file.get(file, [])
        failing = [f for f in findings if f.severity is Severity.ERROR or strict]
        details = "\n".join(f"{f.file}:{f.line or 0}: {f.severity.value} {f.code} {f.message}"
                            for f in findings)
        failure = f"{len(failing)} lint finding(s)" if failing else None
        cases.append(JUnitCase("kmsdet.lint", file, failure=failure, details=details))
    return cases


def check_list(load_codes: Mapping[str, str], checks: Sequence[Check]) -> list[dict[str, object]]:
    """Every check: its codes, severity and summary (``lint --list-checks``)."""
    rows: list[dict[str, object]] = [
        {"codes": [code], "severity": Severity.ERROR.value, "summary": summary}
        for code, summary in load_codes.items()]
    rows.extend({"codes": [c.code, *getattr(c, "extra_codes", ())],
                 "severity": c.severity.value, "summary": c.summary} for c in checks)
    return rows
