"""Regressions: the false findings that linting Elastic's whole rule corpus exposed.

Each case holds the false finding's shape (and, where the check is right elsewhere, the true
finding next to it), so none of them can come back:

* KD501/KD405/KD504 on deprecated rules: Elastic's tooling no longer validates a retired rule's
  tags, ATT&CK mapping or fields; nor does kmsdet.
* KD209: a rule's name "also used by" its own deprecated copy in rules/_deprecated.
* KD308: a field pattern matching no field of a partial field list (an integration's fields).
* KD302: Elastic Defend's ``.caseless`` multi-fields.
* KD306: investigation fields on ES|QL rules, checked against the default indices.
* KD215: an EQL sequence after a comment taken for a single-event query.
* KD502: ``Data Source: Github``, the spelling all of Elastic's rules use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.rules.checks.base import LintContext, Severity, all_checks
from kmsdet.rules.checks.query import InvestigationFieldsKnown, QueryFields
from kmsdet.rules.checks.satisfiable import QuerySatisfiable
from kmsdet.rules.checks.schedule import TimestampOverride
from kmsdet.rules.checks.tags import TagCasing
from kmsdet.rules.lint import lint_paths, lint_results
from tests.unit.rules.rule_text import load, rule_text

QUERY = 'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"\n'
CT_INDEX = 'index = ["logs-aws.cloudtrail-*"]'
TAGS = 'tags = ["Domain: Cloud", "Tactic: Impact"]'
MATURITY = 'maturity = "production"'
OTHER_ID = 'rule_id = "7d0c4e55-9c1b-4d3c-8f0a-2b6e1d9f3a11"'
BASE_ID = 'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"'
# Old, unprefixed tags, a technique name ATT&CK has since changed and an investigation guide
# without its tag: what a rule retired years ago looks like.
RETIRED = {
    TAGS: 'tags = ["Elastic", "Cloud", "AWS", "Continuous Monitoring"]',
    'name = "Data Destruction"': 'name = "Data Wiping"',
    'note = "## Triage and analysis"': 'note = "## Investigating the rule"',
}


def codes(text: str, name: str = "test_rule.toml") -> list[str]:
    return [f.code for f in lint_results([load(text, name)]).findings]


def test_deprecated_rule_is_not_held_to_current_tags_attack_or_fields() -> None:
    live = codes(rule_text(RETIRED))
    assert {"KD501", "KD405", "KD504"} <= set(live)  # the checks do fire on a live rule
    dead = codes(rule_text({**RETIRED, MATURITY: 'maturity = "deprecated"'}))
    assert not {c for c in dead if c[:3] in ("KD4", "KD5")}


def test_deprecated_rule_still_gets_structural_checks() -> None:
    text = rule_text({MATURITY: 'maturity = "deprecated"', 'severity = "medium"':
                      'severity = "huge"'})
    assert "KD201" in codes(text)


def _write(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("copy_maturity", "reported"), [
    ('maturity = "deprecated"', False),
    (MATURITY, True),
])
def test_a_name_shared_with_a_deprecated_copy_is_not_a_duplicate(
        tmp_path: Path, copy_maturity: str, reported: bool) -> None:
    _write(tmp_path, "rules/aws/a_rule.toml", rule_text())
    _write(tmp_path, "rules/_deprecated/a_rule.toml",
           rule_text({BASE_ID: OTHER_ID, MATURITY: copy_maturity}))
    checks = [c for c in all_checks() if c.code == "KD209"]
    report = lint_paths([tmp_path], checks=checks)
    assert bool(report.findings) is reported


def kql(query: str, index: str) -> str:
    return rule_text({QUERY: query + "\n", CT_INDEX: f"index = {index}"})


@pytest.mark.parametrize(("query", "index", "reported"), [
    # Azure's fields exist; kmsdet's list of them is not complete, so nothing is proven.
    ("azure.auditlogs.properties.target_resources.*.display_name: guest",
     '["filebeat-*", "logs-azure*"]', False),
    ("target_resources.*.display_name: guest", '["logs-azure*"]', False),
    # On the CloudTrail data stream the list is complete: such a pattern is a real mistake.
    ("aws.cloudtrail.no_such_*: x", '["logs-aws.cloudtrail-*"]', True),
])
def test_kd308_needs_a_complete_field_list(query: str, index: str, reported: bool) -> None:
    findings = list(QuerySatisfiable().check(load(kql(query, index)).rule, LintContext()))
    assert bool(findings) is reported


@pytest.mark.parametrize(("query", "index", "expected"), [
    ('process.name.caseless: "cmd.exe"', '["logs-endpoint.events.process-*"]', []),
    ('process.executable.caseless: *\\\\temp\\\\*', '["logs-endpoint.events.*"]',
     [("KD305", "warning")]),  # a leading wildcard on it is still slow, as on any keyword
    # A misspelt multi-field is still reported...
    ('process.name.caseles: "cmd.exe"', '["logs-endpoint.events.process-*"]',
     [("KD302", "warning")]),
    # ...and on a data stream kmsdet describes completely, no Defend field exists.
    ('user.name.caseless: "root"', '["logs-aws.cloudtrail-*"]', [("KD302", "error")]),
], ids=["caseless", "caseless-wildcard", "typo", "complete-schema"])
def test_defend_caseless_multi_fields(query: str, index: str,
                                      expected: list[tuple[str, str]]) -> None:
    findings = list(QueryFields().check(load(kql(query, index)).rule, LintContext()))
    assert [(f.code, f.severity.value) for f in findings] == expected


def esql(query: str, fields: str) -> str:
    return rule_text({
        'language = "kuery"': 'language = "esql"', 'type = "query"': 'type = "esql"',
        CT_INDEX: "", QUERY: query}) + f'\n[rule.investigation_fields]\nfield_names = {fields}\n'


BEDROCK = "from logs-aws_bedrock.invocation-*\n"


@pytest.mark.parametrize(("query", "fields", "expected"), [
    # Columns the query computes, and fields of the FROM indices (aws_bedrock's table)
    (BEDROCK + "| stats Esql.count = count(*) by gen_ai.request.model.id\n",
     '["gen_ai.request.model.id", "Esql.count"]', []),
    ("from logs-aws_bedrock.invocation-* metadata _id\n| where gen_ai.request.model.id == \"x\"\n",
     '["gen_ai.request.model.id", "gen_ai.response.error_code"]', []),
    # ...while a field the aggregated alerts do not carry is still reported
    (BEDROCK + "| stats Esql.count = count(*) by gen_ai.request.model.id\n",
     '["user.id"]', [("KD306", "warning")]),
], ids=["stats-columns", "source-fields", "not-a-column"])
def test_investigation_fields_of_esql_rules_follow_the_query(
        query: str, fields: str, expected: list[tuple[str, str]]) -> None:
    findings = InvestigationFieldsKnown().check(load(esql(query, fields)).rule, LintContext())
    assert [(f.code, f.severity.value) for f in findings] == expected


@pytest.mark.parametrize("query", [
    "/* a comment that explains the sequence */\nsequence by host.id with maxspan=1m\n"
    "  [process where true]\n  [network where true]\n",
    "// line comment\n// another\nsequence with maxspan=1m\n  [process where true]\n"
    "  [network where true]\n",
])
def test_sequence_after_a_comment_needs_no_timestamp_override(query: str) -> None:
    text = rule_text({'language = "kuery"': 'language = "eql"', 'type = "query"': 'type = "eql"',
                      QUERY: query, 'timestamp_override = "event.ingested"\n': ""})
    assert list(TimestampOverride().check(load(text).rule, LintContext())) == []


def test_single_event_eql_after_a_comment_still_needs_the_override() -> None:
    text = rule_text({'language = "kuery"': 'language = "eql"', 'type = "query"': 'type = "eql"',
                      QUERY: "/* sequence */ process where true\n",
                      'timestamp_override = "event.ingested"\n': ""})
    [finding] = TimestampOverride().check(load(text).rule, LintContext())
    assert finding.severity is Severity.WARNING


@pytest.mark.parametrize(("tag", "expected"), [
    ("Data Source: Github", None),
    ("Data Source: GitHub", "Data Source: Github"),
    ("data source: github", "Data Source: Github"),
])
def test_github_is_spelt_as_elastic_spells_it(tag: str, expected: str | None) -> None:
    text = rule_text({TAGS: f'tags = ["Domain: Cloud", "Tactic: Impact", "{tag}"]'})
    findings = list(TagCasing().check(load(text).rule, LintContext()))
    assert [f.message.rsplit("'", 2)[-2] for f in findings] == ([expected] if expected else [])
