"""ATT&CK table lookups and the KD401-KD409 checks: each case breaks exactly one check."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.rules.attack import id_from_url, load_attack, table_from_dict, technique_url
from kmsdet.rules.checks.attack import ReferenceMismatch, RetiredTechnique
from kmsdet.rules.checks.base import Severity
from kmsdet.rules.loader import find_rule_files, load_file
from tests.unit.rules.helpers_attack import (
    ALL_CHECKS,
    ATTACK_CHECKS,
    SECOND_SUBTECHNIQUE,
    TEMPLATE,
    line_of,
    load,
    run,
    run_all,
    variant,
)

SEED_RULES = find_rule_files([Path(__file__).resolve().parents[3] / "rules" / "aws_kms"])

FIRST_TACTIC = '[rule.threat.tactic]\nid = "TA0040"'
SECOND_TACTIC = '[rule.threat.tactic]\nid = "TA0005"'
SECOND_AS_T1490 = (
    (SECOND_SUBTECHNIQUE, ""),
    ('id = "T1562"', 'id = "T1490"'),
    ('name = "Impair Defenses"', 'name = "Inhibit System Recovery"'),
    ("techniques/T1562/", "techniques/T1490/"),
)


def _technique_block(tid: str, name: str) -> str:
    return (f'[[rule.threat.technique]]\nid = "{tid}"\nname = "{name}"\n'
            f'reference = "{technique_url(tid)}"\n\n')


# (case id, edits, code, (line fragment, nth), message, hint fragment)
CASES = [
    ("framework", [('framework = "MITRE ATT&CK"', 'framework = "MITRE ATTACK"')],
     "KD401", ('framework = "MITRE ATTACK"', 1),
     "unknown threat framework 'MITRE ATTACK'", "did you mean 'MITRE ATT&CK'?"),
    ("tactic-id", [('id = "TA0040"', 'id = "TA0099"'), ("tactics/TA0040/", "tactics/TA0099/")],
     "KD401", ('id = "TA0099"', 1),
     "unknown ATT&CK tactic id 'TA0099'", "'Impact' is TA0040"),
    ("tactic-name", [('name = "Impact"', 'name = "Exfiltration"')],
     "KD402", ('name = "Exfiltration"', 1),
     "tactic TA0040 is named 'Impact', not 'Exfiltration' ('Exfiltration' is TA0010)",
     'name = "Impact"'),
    ("tactic-url", [("tactics/TA0040/", "tactics/TA0010/")],
     "KD403", ("tactics/TA0010/", 1),
     "reference 'https://attack.mitre.org/tactics/TA0010/' points at TA0010, not TA0040",
     'reference = "https://attack.mitre.org/tactics/TA0040/"'),
    ("subtechnique-url", [("techniques/T1485/001/", "techniques/T1485/002/")],
     "KD403", ("techniques/T1485/002/", 1),
     "reference 'https://attack.mitre.org/techniques/T1485/002/' points at T1485.002, "
     "not T1485.001", "https://attack.mitre.org/techniques/T1485/001/"),
    ("foreign-url", [('"https://attack.mitre.org/techniques/T1562/"',
                      '"https://example.com/T1562"')],
     "KD403", ("https://example.com/T1562", 1),
     "reference 'https://example.com/T1562' is not an ATT&CK URL for T1562",
     "https://attack.mitre.org/techniques/T1562/"),
    ("subtechnique-id", [('id = "T1485.001"', 'id = "T1485.009"'),
                         ("techniques/T1485/001/", "techniques/T1485/009/")],
     "KD404", ('id = "T1485.009"', 1),
     "unknown ATT&CK subtechnique id 'T1485.009' (ATT&CK 18.1)",
     "'Lifecycle-Triggered Deletion' is T1485.001"),
    ("technique-id", [(SECOND_SUBTECHNIQUE, ""), ('id = "T1562"', 'id = "T1999"'),
                      ("techniques/T1562/", "techniques/T1999/")],
     "KD404", ('id = "T1999"', 1),
     "unknown ATT&CK technique id 'T1999' (ATT&CK 18.1)", "'Impair Defenses' is T1562"),
    ("technique-name", [('name = "Data Destruction"', 'name = "Data Destroy"')],
     "KD405", ('name = "Data Destroy"', 1),
     "technique T1485 is named 'Data Destruction', not 'Data Destroy'",
     'name = "Data Destruction"'),
    ("subtechnique-name-casing", [('name = "Lifecycle-Triggered Deletion"',
                                   'name = "Lifecycle-triggered deletion"')],
     "KD405", ('name = "Lifecycle-triggered deletion"', 1),
     "subtechnique T1485.001 is named 'Lifecycle-Triggered Deletion', "
     "not 'Lifecycle-triggered deletion'", None),
    ("wrong-tactic", list(SECOND_AS_T1490),
     "KD406", ('id = "T1490"', 1),
     "technique T1490 Inhibit System Recovery is not part of tactic TA0005 Defense Evasion; "
     "it belongs to Impact (TA0040)", "[[rule.threat]]"),
    ("foreign-subtechnique", [('id = "T1485.001"', 'id = "T1562.008"'),
                              ('name = "Lifecycle-Triggered Deletion"',
                               'name = "Disable or Modify Cloud Logs"'),
                              ("techniques/T1485/001/", "techniques/T1562/008/")],
     "KD407", ('id = "T1562.008"', 1),
     "subtechnique T1562.008 Disable or Modify Cloud Logs belongs to T1562, not to T1485",
     "move it under technique T1562"),
    ("subtechnique-as-technique", [(SECOND_SUBTECHNIQUE, ""),
                                   ('id = "T1562"', 'id = "T1562.008"'),
                                   ('name = "Impair Defenses"',
                                    'name = "Disable or Modify Cloud Logs"'),
                                   ("techniques/T1562/", "techniques/T1562/008/")],
     "KD407", ('id = "T1562.008"', 1),
     "T1562.008 Disable or Modify Cloud Logs is a subtechnique, listed as a technique",
     "list T1562 as the technique"),
    ("technique-as-subtechnique", [('id = "T1485.001"', 'id = "T1490"'),
                                   ('name = "Lifecycle-Triggered Deletion"',
                                    'name = "Inhibit System Recovery"'),
                                   ("techniques/T1485/001/", "techniques/T1490/")],
     "KD407", ('id = "T1490"', 1),
     "T1490 Inhibit System Recovery is a technique, listed as a subtechnique of T1485", None),
    ("revoked", [(FIRST_TACTIC, _technique_block("T1488", "Disk Content Wipe") + FIRST_TACTIC)],
     "KD408", ('id = "T1488"', 1),
     "technique T1488 Disk Content Wipe is revoked in ATT&CK 18.1; "
     "it was replaced by T1561.001 Disk Content Wipe",
     "map T1561.001 (Disk Content Wipe, https://attack.mitre.org/techniques/T1561/001/)"),
    ("deprecated", [(SECOND_TACTIC, _technique_block("T1064", "Scripting") + SECOND_TACTIC)],
     "KD408", ('id = "T1064"', 1),
     "technique T1064 Scripting is deprecated in ATT&CK 18.1",
     "remove it or map a current technique"),
    ("duplicate-tactic", [*SECOND_AS_T1490,
                          ('id = "TA0005"', 'id = "TA0040"'),
                          ('name = "Defense Evasion"', 'name = "Impact"'),
                          ("tactics/TA0005/", "tactics/TA0040/"),
                          ('    "Tactic: Defense Evasion",\n', "")],
     "KD409", ('id = "TA0040"', 2),
     "tactic TA0040 Impact is listed again (first in threat entry 1)", "merge"),
]


def test_template_is_clean() -> None:
    assert run_all(load(TEMPLATE)) == []


@pytest.mark.parametrize(("edits", "code", "where", "message", "hint"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_case_breaks_exactly_one_check(edits: list[tuple[str, str]], code: str,
                                            where: tuple[str, int], message: str,
                                            hint: str | None) -> None:
    text = variant(*edits)
    findings = run_all(load(text))
    assert [f.code for f in findings] == [code], [f.message for f in findings]
    (finding,) = findings
    assert finding.message == message
    assert finding.line == line_of(text, *where)
    assert finding.file == "x.toml"
    if hint is not None:
        assert finding.hint is not None and hint in finding.hint


def test_retired_technique_is_a_warning_and_the_rest_errors() -> None:
    assert RetiredTechnique.severity is Severity.WARNING
    others = [c for c in ATTACK_CHECKS if c is not RetiredTechnique]
    assert all(c.severity is Severity.ERROR for c in others)
    codes = [c.code for c in ALL_CHECKS]
    assert len(set(codes)) == len(codes) and all(c.summary for c in ALL_CHECKS)


def test_missing_trailing_slash_is_tolerated() -> None:
    text = TEMPLATE.replace('/"\n', '"\n')
    assert "techniques/T1485/001\"" in text and "tactics/TA0040\"" in text
    assert run(ReferenceMismatch, load(text)) == []


def test_atlas_entries_are_skipped() -> None:
    atlas = '''
[[rule.threat]]
framework = "MITRE ATLAS"

[[rule.threat.technique]]
id = "AML.T0024"
name = "Exfiltration via AI Inference API"
reference = "https://atlas.mitre.org/techniques/AML.T0024"

[rule.threat.tactic]
id = "AML.TA0010"
name = "Exfiltration"
reference = "https://atlas.mitre.org/tactics/AML.TA0010"
'''
    assert run_all(load(TEMPLATE + atlas), ATTACK_CHECKS) == []


@pytest.mark.parametrize("path", SEED_RULES, ids=[p.name for p in SEED_RULES])
def test_seed_rules_have_no_findings(path: Path) -> None:
    result = load_file(path)
    assert result.rule is not None, result.problems
    assert [f.message for f in run_all(result.rule)] == []


def test_seed_rules_exist() -> None:
    assert len(SEED_RULES) >= 2


# --- the table and its lookups ----------------------------------------------------------------

def test_table_records_its_release_and_has_lifecycle_triggered_deletion() -> None:
    table = load_attack()
    assert table.version == "18.1"
    sub = table.technique("T1485.001")
    assert sub is not None and sub.name == "Lifecycle-Triggered Deletion"
    assert sub.tactics == ("TA0040",) and sub.parent_id == "T1485" and not sub.retired
    impact = table.tactic("TA0040")
    assert impact is not None and impact.name == "Impact"
    assert len(table.tactics) == 14


def test_revoked_technique_names_its_live_replacement() -> None:
    table = load_attack()
    revoked = table.technique("T1488")
    assert revoked is not None and revoked.revoked and revoked.revoked_by == "T1561.001"
    # Every revoked technique that names a replacement names a live one.
    for tech in table.techniques.values():
        if tech.revoked_by:
            replacement = table.technique(tech.revoked_by)
            assert replacement is not None and not replacement.retired, tech.id


def test_lookups_by_name_are_case_blind_and_skip_retired() -> None:
    table = load_attack()
    c2 = table.tactic_by_name("command and control")
    assert c2 is not None and c2.id == "TA0011"
    assert [t.id for t in table.techniques_named("disk content wipe")] == ["T1561.001"]


@pytest.mark.parametrize(("url", "expected"), [
    ("https://attack.mitre.org/tactics/TA0040/", "TA0040"),
    ("https://attack.mitre.org/tactics/TA0040", "TA0040"),
    ("https://attack.mitre.org/techniques/T1485/", "T1485"),
    ("https://attack.mitre.org/techniques/T1485", "T1485"),
    ("https://attack.mitre.org/techniques/T1485/001/", "T1485.001"),
    ("https://attack.mitre.org/techniques/T1485/001", "T1485.001"),
    ("https://attack.mitre.org/techniques/T1485.001/", None),
    ("http://attack.mitre.org/tactics/TA0040/", None),
    ("https://atlas.mitre.org/tactics/AML.TA0010", None),
    ("https://attack.mitre.org/tactics/TA0040//", None),
])
def test_id_from_url(url: str, expected: str | None) -> None:
    assert id_from_url(url) == expected


@pytest.mark.parametrize(("tid", "url"), [
    ("T1485", "https://attack.mitre.org/techniques/T1485/"),
    ("T1485.001", "https://attack.mitre.org/techniques/T1485/001/"),
])
def test_technique_url(tid: str, url: str) -> None:
    assert technique_url(tid) == url
    assert id_from_url(url) == tid


def test_table_from_dict_leaves_out_defaults() -> None:
    table = table_from_dict({
        "attack_version": "99.0",
        "tactics": {"TA0040": {"name": "Impact", "shortname": "impact"}},
        "techniques": {"T1": {"name": "Old", "tactics": ["TA0040"], "deprecated": True}},
    })
    tech = table.technique("T1")
    assert table.version == "99.0"
    assert tech is not None and tech.deprecated and not tech.revoked and tech.revoked_by is None
