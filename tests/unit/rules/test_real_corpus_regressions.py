"""Regressions from linting a current copy of Elastic's prebuilt rules (2,440 files).

* KD501: the rule profiling tags Elastic added to most rules (``Noise:``, ``Performance:``,
  ``Profile:``) were "unknown prefixes".
* KD104: a threshold rule's alert suppression has only a duration (it suppresses on the
  threshold fields), yet ``group_by`` was required of every rule type.

The ES|QL false findings are covered in tests/unit/esql/test_newer_syntax.py.
"""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.query import InvestigationFieldsKnown
from kmsdet.rules.checks.required import RequiredByType
from kmsdet.rules.lint import lint_results
from tests.unit.rules.rule_text import load, rule_text

TAGS = 'tags = ["Domain: Cloud", "Tactic: Impact"]'


def codes(text: str) -> list[str]:
    return [f.code for f in lint_results([load(text)]).findings]


@pytest.mark.parametrize("tag", [
    "Noise: Low", "Noise: Unknown", "Performance: Fast", "Performance: Very Slow",
    "Profile: Recommended", "Profile: Aggressive",
])
def test_profiling_tags_have_known_prefixes(tag: str) -> None:
    text = rule_text({TAGS: f'tags = ["Domain: Cloud", "Tactic: Impact", "{tag}"]'})
    assert not {"KD501", "KD502"} & set(codes(text))


def test_profiling_tags_are_held_to_their_spelling() -> None:
    text = rule_text({TAGS: 'tags = ["Domain: Cloud", "Tactic: Impact", "performance: very slow"]'})
    assert "KD502" in codes(text)
    text = rule_text({TAGS: 'tags = ["Domain: Cloud", "Tactic: Impact", "Noize: Low"]'})
    assert "KD501" in codes(text)


THRESHOLD = {
    'type = "query"': 'type = "threshold"',
    "[[rule.threat]]": '[rule.threshold]\nfield = ["user.name"]\nvalue = 5\n\n'
                       '[rule.alert_suppression]\nduration = {value = 1, unit = "h"}\n\n'
                       "[[rule.threat]]",
}


def test_threshold_suppression_needs_no_group_by() -> None:
    result = load(rule_text(THRESHOLD))
    assert result.rule is not None and not result.problems
    assert list(RequiredByType().check(result.rule, LintContext())) == []


def test_other_types_still_need_group_by() -> None:
    text = rule_text({"[[rule.threat]]": '[rule.alert_suppression]\nduration = {value = 1, '
                      'unit = "h"}\n\n[[rule.threat]]'})
    [finding] = RequiredByType().check(load(text).rule, LintContext())
    assert finding.message == "a query rule's alert_suppression needs 'group_by'"
    assert finding.line == text.splitlines().index("[rule.alert_suppression]") + 1


ATLAS_MAPPING = '''
[[rule.threat_mappings]]
framework = "MITRE ATLAS"
version = "2026.01"
[[rule.threat_mappings.threat]]
framework = "MITRE ATLAS"
[[rule.threat_mappings.threat.technique]]
id = "AML.T0051"
name = "LLM Prompt Injection"
reference = "https://atlas.mitre.org/techniques/AML.T0051/"
[rule.threat_mappings.threat.tactic]
id = "AML.TA0005"
name = "Execution"
reference = "https://atlas.mitre.org/tactics/AML.TA0005/"
'''


@pytest.mark.parametrize(("tag", "reported"), [("Execution", False), ("Collection", True)])
def test_tactic_tags_count_the_versioned_threat_mappings(tag: str, reported: bool) -> None:
    text = rule_text({TAGS: f'tags = ["Domain: Cloud", "Tactic: Impact", "Tactic: {tag}"]'})
    messages = [f.message for f in lint_results([load(text + ATLAS_MAPPING)]).findings
                if f.code == "KD503"]
    assert bool(messages) is reported


def esql_with_fields(query: str, fields: str) -> str:
    return rule_text({
        'language = "kuery"': 'language = "esql"', 'type = "query"': 'type = "esql"',
        'index = ["logs-aws.cloudtrail-*"]\n': "",
        'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"\n': query,
    }) + f"\n[rule.investigation_fields]\nfield_names = {fields}\n"


@pytest.mark.parametrize(("query", "reported"), [
    # No STATS: each alert carries its source document, so a field KEEP dropped is there.
    ("from logs-aws.cloudtrail-* metadata _id, _index, _version\n"
     "| where event.action == \"PutObject\"\n| keep _id, _index, _version, source.ip\n", False),
    # STATS folds the rows: only the result's columns reach the alert.
    ("from logs-aws.cloudtrail-*\n| stats n = count(*) by source.ip\n"
     "| keep source.ip, n\n", True),
], ids=["row-query", "aggregating"])
def test_investigation_fields_of_row_queries_come_with_the_source_document(
        query: str, reported: bool) -> None:
    text = esql_with_fields(query, '["source.ip", "cloud.region"]')
    findings = list(InvestigationFieldsKnown().check(load(text).rule, LintContext()))
    assert [f.code for f in findings] == (["KD306"] if reported else [])
