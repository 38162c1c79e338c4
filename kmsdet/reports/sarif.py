"""SARIF 2.1.0, so that GitHub code scanning shows findings inline on the rule files."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kmsdet import __version__
from kmsdet.rules.checks.base import Check, Finding, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/kmsdet/kmsdet"


def to_sarif(findings: Sequence[Finding], checks: Sequence[Check],
             root: Path | None = None) -> dict[str, Any]:
    """One SARIF run; URIs are relative to ``root`` (the repository) so annotations land."""
    descriptors: dict[str, dict[str, Any]] = {}
    for check in checks:
        for code in (check.code, *getattr(check, "extra_codes", ())):
            descriptors[code] = _descriptor(code, check.summary, check.severity)
    for finding in findings:
        descriptors.setdefault(finding.code, _descriptor(finding.code, finding.message,
                                                         finding.severity))
    codes = sorted(descriptors)
    index = {code: i for i, code in enumerate(codes)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "kmsdet", "version": __version__,
                                "informationUri": INFO_URI,
                                "rules": [descriptors[c] for c in codes]}},
            "results": [_result(f, index[f.code], root) for f in findings],
        }],
    }


def _descriptor(code: str, summary: str, severity: Severity) -> dict[str, Any]:
    return {
        "id": code,
        "name": code,
        "shortDescription": {"text": summary or code},
        "defaultConfiguration": {"level": _level(severity)},
    }


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def _uri(file: str, root: Path | None) -> str:
    path = Path(file)
    if root is not None:
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(root.resolve())
    return path.as_posix()


def _result(finding: Finding, rule_index: int, root: Path | None) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(finding.line or 1, 1)}
    if finding.column:
        region["startColumn"] = max(finding.column, 1)
    text = finding.message + (f" ({finding.hint})" if finding.hint else "")
    return {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": _level(finding.severity),
        "message": {"text": text},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(finding.file, root)},
            "region": region,
        }}],
    }
