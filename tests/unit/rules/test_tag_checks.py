"""The tag vocabulary and the KD501-KD505 checks: each case breaks exactly one check."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.rules.checks.base import Severity
from kmsdet.rules.checks.tags import (
    DuplicateTag,
    InvestigationGuideTag,
    TacticTag,
    TagCasing,
    element_lines,
)
from kmsdet.rules.loader import load_text
from kmsdet.rules.tags import canonical_prefix, canonical_tag, split_tag, vocabulary
from tests.unit.rules.helpers_attack import line_of, load, run, run_all, variant

IMPACT_TAG = '    "Tactic: Impact",\n'
GUIDE_TAG = '    "Resources: Investigation Guide",\n'
LAST_TAG = GUIDE_TAG + "]"

# (case id, edits, code, severity, (line fragment, nth), message, hint fragment)
CASES = [
    ("misspelt-prefix", [('"Domain: Cloud"', '"Datasource: Cloud"')],
     "KD501", "error", ('"Datasource: Cloud"', 1),
     "tag 'Datasource: Cloud' has no known prefix", "did you mean 'Data Source: Cloud'?"),
    ("bare-tactic", [('"Domain: Cloud"', '"Impact"')],
     "KD501", "error", ('"Impact"', 1),
     "tag 'Impact' has no known prefix", "did you mean 'Tactic: Impact'?"),
    ("bare-word", [('"Domain: Cloud"', '"cloud stuff"')],
     "KD501", "error", ('"cloud stuff"', 1),
     "tag 'cloud stuff' has no known prefix", "start it with one of: 'Data Source:'"),
    ("value-casing", [('"Data Source: AWS KMS"', '"Data Source: aws kms"')],
     "KD502", "warning", ('"Data Source: aws kms"', 1),
     "tag 'Data Source: aws kms' should be spelt 'Data Source: AWS KMS'",
     '"Data Source: AWS KMS"'),
    ("spacing", [('"Data Source: AWS KMS"', '"Data Source:AWS  KMS"')],
     "KD502", "warning", ('"Data Source:AWS  KMS"', 1),
     "tag 'Data Source:AWS  KMS' should be spelt 'Data Source: AWS KMS'", None),
    ("prefix-casing", [('"Domain: Cloud"', '"domain: Quantum"')],
     "KD502", "warning", ('"domain: Quantum"', 1),
     "tag 'domain: Quantum' should be spelt 'Domain: Quantum'", None),
    ("tactic-tag-casing", [('"Tactic: Impact"', '"tactic: impact"')],
     "KD502", "warning", ('"tactic: impact"', 1),
     "tag 'tactic: impact' should be spelt 'Tactic: Impact'", None),
    ("primary-tactic-missing", [(IMPACT_TAG, "")],
     "KD503", "warning", ("tags = [", 1),
     "no 'Tactic: Impact' tag for the primary tactic", 'add "Tactic: Impact" to tags'),
    ("unmapped-tactic-tag", [(LAST_TAG, GUIDE_TAG + '    "Tactic: Exfiltration",\n]')],
     "KD503", "warning", ('"Tactic: Exfiltration"', 1),
     "tag 'Tactic: Exfiltration' names a tactic the threat mapping does not list "
     "(it lists Defense Evasion, Impact)", "remove the tag"),
    ("guide-tag-missing", [(GUIDE_TAG, "")],
     "KD504", "warning", ("tags = [", 1),
     "note contains an investigation guide but the tags lack 'Resources: Investigation Guide'",
     'add "Resources: Investigation Guide"'),
    ("duplicate", [(LAST_TAG, GUIDE_TAG + '    "Domain: Cloud",\n]')],
     "KD505", "error", ('"Domain: Cloud"', 2),
     "tag 'Domain: Cloud' is listed twice (first as element 1)", "remove the repeated tag"),
]


@pytest.mark.parametrize(("edits", "code", "severity", "where", "message", "hint"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_case_breaks_exactly_one_check(edits: list[tuple[str, str]], code: str,
                                            severity: str, where: tuple[str, int],
                                            message: str, hint: str | None) -> None:
    text = variant(*edits)
    findings = run_all(load(text))
    assert [f.code for f in findings] == [code], [f.message for f in findings]
    (finding,) = findings
    assert finding.message == message
    assert finding.severity is Severity(severity)
    assert finding.line == line_of(text, *where)
    if hint is not None:
        assert finding.hint is not None and hint in finding.hint


def test_primary_tactic_tag_is_not_required_of_ml_rules() -> None:
    text = variant((IMPACT_TAG, ""), ('type = "query"', 'type = "machine_learning"'))
    assert run(TacticTag, load(text)) == []


def test_primary_tactic_tag_uses_the_table_name_for_the_id() -> None:
    # The rule misnames TA0040; the tag must still name the tactic the id stands for.
    text = variant(('name = "Impact"', 'name = "Impakt"'))
    assert run(TacticTag, load(text)) == []


def test_rule_without_tags_is_located_at_the_threat_tactic() -> None:
    start = variant().index("tags = [")
    end = variant().index("]\n", start) + 2
    text = variant()[:start] + variant()[end:]
    findings = run(TacticTag, load(text))
    assert [f.line for f in findings] == [line_of(text, "[rule.threat.tactic]")]
    assert run(InvestigationGuideTag, load(text))[0].line == line_of(text, "note = ")


def test_note_without_investigation_guide_needs_no_guide_tag() -> None:
    text = variant((GUIDE_TAG, ""), ("### Investigating Test Rule", "### Notes"))
    assert run(InvestigationGuideTag, load(text)) == []


def test_tags_differing_only_in_case_are_not_duplicates() -> None:
    text = variant((LAST_TAG, GUIDE_TAG + '    "domain: cloud",\n]'))
    assert run(DuplicateTag, load(text)) == []
    assert [f.code for f in run(TagCasing, load(text))] == ["KD502"]


# --- the vocabulary ------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "expected"), [
    ("Data Source: AWS KMS", ("Data Source", "AWS KMS")),
    ("Data Source:AWS KMS", ("Data Source", "AWS KMS")),
    ("Threat: Ransomware: Lockbit", ("Threat", "Ransomware: Lockbit")),
    ("Impact", None),
])
def test_split_tag(tag: str, expected: tuple[str, str] | None) -> None:
    assert split_tag(tag) == expected


@pytest.mark.parametrize(("tag", "expected"), [
    ("data source: aws kms", "Data Source: AWS KMS"),
    ("Use Case:  threat detection", "Use Case: Threat Detection"),
    ("tactic: command and control", "Tactic: Command and Control"),
    ("os: MACOS", "OS: macOS"),
    ("Data Source: Something New", None),
])
def test_canonical_tag(tag: str, expected: str | None) -> None:
    assert canonical_tag(tag) == expected


def test_vocabulary_has_a_tactic_tag_for_every_attack_tactic() -> None:
    tags = set(vocabulary())
    assert {"Tactic: Impact", "Tactic: Resource Development", "Tactic: Reconnaissance"} <= tags
    assert sum(1 for t in tags if t.startswith("Tactic: ")) == 14
    assert canonical_prefix("mitre  atlas") == "Mitre Atlas"
    assert canonical_prefix("Datasource") is None


# --- element lines -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('tags = ["A: b", "C: d"]\n', [1, 1]),
    ('x = 1\ntags = [\n  "A: b",  # a comment with "quotes" and ]\n\n  \'C: d\',\n]\n', [3, 5]),
    ('tags = [\n  "A: [b]",\n  "C: \\"d\\"",\n  "E: f"]\n', [2, 3, 4]),
    ('tags = [\n  """A:\nb""",\n  "C: d",\n]\n', [2, 4]),
])
def test_element_lines(text: str, expected: list[int]) -> None:
    source = load_text(text, Path("x.toml")).source
    path = ("tags",)
    assert element_lines(source, path) == expected
