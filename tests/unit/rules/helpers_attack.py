"""A rule whose ATT&CK mapping and tags pass every KD4xx/KD5xx check, and ways to break one.

The template maps two tactics (with a subtechnique each) and writes one tag per line, so tests
can check that findings land on the exact line of the key or tag at fault.
"""

from __future__ import annotations

from pathlib import Path

from kmsdet.rules.checks.attack import (
    DuplicateTactic,
    ReferenceMismatch,
    RetiredTechnique,
    SubtechniqueNotUnderTechnique,
    TacticNameMismatch,
    TechniqueNameMismatch,
    TechniqueNotUnderTactic,
    UnknownTactic,
    UnknownTechnique,
)
from kmsdet.rules.checks.base import Check, Finding, LintContext
from kmsdet.rules.checks.tags import (
    DuplicateTag,
    InvestigationGuideTag,
    TacticTag,
    TagCasing,
    UnknownTagPrefix,
)
from kmsdet.rules.loader import load_text
from kmsdet.rules.model import Rule

ATTACK_CHECKS: tuple[type[Check], ...] = (
    UnknownTactic, TacticNameMismatch, ReferenceMismatch, UnknownTechnique,
    TechniqueNameMismatch, TechniqueNotUnderTactic, SubtechniqueNotUnderTechnique,
    RetiredTechnique, DuplicateTactic,
)
TAG_CHECKS: tuple[type[Check], ...] = (
    UnknownTagPrefix, TagCasing, TacticTag, InvestigationGuideTag, DuplicateTag,
)
ALL_CHECKS = ATTACK_CHECKS + TAG_CHECKS

TEMPLATE = '''[metadata]
creation_date = "2024/01/10"
maturity = "production"
updated_date = "2024/02/01"

[rule]
author = ["kmsdet"]
description = "Test rule."
language = "kuery"
name = "Test Rule"
note = """## Triage and analysis

### Investigating Test Rule
"""
risk_score = 47
rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"
severity = "medium"
tags = [
    "Domain: Cloud",
    "Data Source: AWS KMS",
    "Tactic: Impact",
    "Tactic: Defense Evasion",
    "Resources: Investigation Guide",
]
type = "query"
query = 'event.provider: "kms.amazonaws.com"'

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1485"
name = "Data Destruction"
reference = "https://attack.mitre.org/techniques/T1485/"

[[rule.threat.technique.subtechnique]]
id = "T1485.001"
name = "Lifecycle-Triggered Deletion"
reference = "https://attack.mitre.org/techniques/T1485/001/"

[rule.threat.tactic]
id = "TA0040"
name = "Impact"
reference = "https://attack.mitre.org/tactics/TA0040/"

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1562"
name = "Impair Defenses"
reference = "https://attack.mitre.org/techniques/T1562/"

[[rule.threat.technique.subtechnique]]
id = "T1562.008"
name = "Disable or Modify Cloud Logs"
reference = "https://attack.mitre.org/techniques/T1562/008/"

[rule.threat.tactic]
id = "TA0005"
name = "Defense Evasion"
reference = "https://attack.mitre.org/tactics/TA0005/"
'''

# The second threat's subtechnique block, for edits that remove it.
SECOND_SUBTECHNIQUE = '''[[rule.threat.technique.subtechnique]]
id = "T1562.008"
name = "Disable or Modify Cloud Logs"
reference = "https://attack.mitre.org/techniques/T1562/008/"

'''


def variant(*edits: tuple[str, str]) -> str:
    """TEMPLATE with each ``old`` text replaced (first occurrence) by ``new``."""
    text = TEMPLATE
    for old, new in edits:
        assert old in text, f"template has no {old!r}"
        text = text.replace(old, new, 1)
    return text


def load(text: str) -> Rule:
    result = load_text(text, Path("x.toml"))
    assert result.rule is not None, result.problems
    return result.rule


def run(check: type[Check], rule: Rule) -> list[Finding]:
    return list(check().check(rule, LintContext()))


def run_all(rule: Rule, checks: tuple[type[Check], ...] = ALL_CHECKS) -> list[Finding]:
    return [f for check in checks for f in run(check, rule)]


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``fragment``."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{fragment!r} (#{nth}) not in text")
