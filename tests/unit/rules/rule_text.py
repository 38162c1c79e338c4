"""A valid query rule as TOML text, and a way to break exactly one thing in it."""

from __future__ import annotations

from pathlib import Path

from kmsdet.rules.loader import LoadResult, load_text

VALID_RULE = '''[metadata]
creation_date = "2024/01/10"
integration = ["aws"]
maturity = "production"
updated_date = "2024/02/01"

[rule]
author = ["kmsdet"]
description = "Test rule."
from = "now-6m"
index = ["logs-aws.cloudtrail-*"]
language = "kuery"
license = "Apache License 2.0"
name = "Test Rule"
note = "## Triage and analysis"
risk_score = 47
rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"
severity = "medium"
tags = ["Domain: Cloud", "Tactic: Impact"]
timestamp_override = "event.ingested"
type = "query"
query = \'\'\'
event.provider: "kms.amazonaws.com"
and event.action: "DisableKey"
\'\'\'

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1485"
name = "Data Destruction"
reference = "https://attack.mitre.org/techniques/T1485/"

[rule.threat.tactic]
id = "TA0040"
name = "Impact"
reference = "https://attack.mitre.org/tactics/TA0040/"
'''


VALID_CASES = '''[[case]]
name = "fires"
expect = 1
[[case.event]]
eventName = "DisableKey"

[[case]]
name = "quiet"
expect = 0
[[case.event]]
eventName = "EnableKey"
'''


def rule_text(replace: dict[str, str] | None = None, append: str = "") -> str:
    """VALID_RULE with whole lines swapped: {"severity = \\"medium\\"": "severity = \\"x\\""}."""
    text = VALID_RULE
    for old, new in (replace or {}).items():
        assert old in text, f"template has no line {old!r}"
        text = text.replace(old, new, 1)
    return text + append


def load(text: str, name: str = "test_rule.toml") -> LoadResult:
    return load_text(text, Path(name))


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first line containing ``fragment``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")
