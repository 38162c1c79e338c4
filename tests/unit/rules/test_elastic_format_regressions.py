"""Regressions: false findings the Elastic-format corpus exposed, each fixed in its check.

* KD301 refused EQL that Elasticsearch runs (``with runs=``, ``sample``, missing-event steps).
* KD215 asked sequence EQL rules for timestamp_override, which Elastic ships without.
* KD302/KD306 warned on every field of integrations kmsdet has no field table for (``okta.*``)
  and on Elastic Defend's ``Ext`` fields, while saying nothing about whether they are right.
"""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext, Severity
from kmsdet.rules.checks.query import InvestigationFieldsKnown, QueryFields, QuerySyntax
from kmsdet.rules.checks.schedule import TimestampOverride
from tests.unit.rules.rule_text import load, rule_text

QUERY = 'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"\n'
CT_INDEX = 'index = ["logs-aws.cloudtrail-*"]'
OVERRIDE = 'timestamp_override = "event.ingested"\n'


def eql_rule(query: str, *, override: bool = True) -> str:
    swaps = {'language = "kuery"': 'language = "eql"', 'type = "query"': 'type = "eql"',
             QUERY: query}
    if not override:
        swaps[OVERRIDE] = ""
    return rule_text(swaps)


def kql_rule(query: str, index: str) -> str:
    return rule_text({QUERY: query, CT_INDEX: f"index = {index}"})


@pytest.mark.parametrize("query", [
    # A run of identical steps, as brute-force rules write it.
    'sequence by host.id, user.name with maxspan=15s\n'
    '  [authentication where event.outcome == "failure"] with runs=5\n'
    '  [authentication where event.outcome == "success"]\n',
    # A missing-event step (needs maxspan, which is given).
    'sequence by host.id with maxspan=1m\n'
    '  [process where event.type == "start"]\n  ![network where true]\n',
    'sample by host.id\n  [process where process.name == "a"]\n  [network where true]\n',
], ids=["runs", "missing-event", "sample"])
def test_eql_that_elasticsearch_runs_is_accepted(query: str) -> None:
    assert list(QuerySyntax().check(load(eql_rule(query)).rule, LintContext())) == []


def test_eql_missing_event_step_without_maxspan_is_still_an_error() -> None:
    """Elasticsearch refuses it too; the dialect widening must not hide real mistakes."""
    text = eql_rule('sequence by host.id\n  [process where true]\n  ![network where true]\n')
    [finding] = QuerySyntax().check(load(text).rule, LintContext())
    assert finding.code == "KD301" and finding.severity is Severity.ERROR


@pytest.mark.parametrize(("query", "warns"), [
    ('sequence by host.id with maxspan=1m\n  [process where true]\n  [network where true]\n',
     False),
    ('  SEQUENCE with maxspan=1m\n  [process where true]\n  [network where true]\n', False),
    ('sample by host.id\n  [process where true]\n  [network where true]\n', False),
    ('process where process.name == "sequence"\n', True),
], ids=["sequence", "upper-case", "sample", "single-event"])
def test_timestamp_override_is_asked_of_single_event_eql_only(query: str, warns: bool) -> None:
    findings = list(TimestampOverride().check(load(eql_rule(query, override=False)).rule,
                                              LintContext()))
    assert [f.code for f in findings] == (["KD215"] if warns else [])


@pytest.mark.parametrize(("query", "index", "expected"), [
    # Okta fields on Okta indices: kmsdet has no Okta field table, so nothing to judge.
    ("okta.actor.alternate_id: admin*", '["filebeat-*", "logs-okta*"]', []),
    ("azure.activitylogs.operation_name: x", '["logs-azure*"]', []),
    # Elastic Defend's own fields sit under `Ext` inside ECS field sets.
    ("process.Ext.token.integrity_level_name: system", '["logs-endpoint.events.process-*"]',
     []),
    # A typo inside an ECS field set is still a warning on the same indices.
    ("process.nmae: bash", '["logs-endpoint.events.process-*"]', [("KD302", "warning")]),
    # On the CloudTrail data stream kmsdet knows every field: a foreign one is an error.
    ("okta.actor.alternate_id: admin", '["logs-aws.cloudtrail-*"]', [("KD302", "error")]),
], ids=["okta", "azure", "defend-ext", "ecs-typo", "cloudtrail-complete"])
def test_fields_outside_every_bundled_schema(query: str, index: str,
                                             expected: list[tuple[str, str]]) -> None:
    rule = load(kql_rule(query + "\n", index)).rule
    findings = list(QueryFields().check(rule, LintContext()))
    assert [(f.code, f.severity.value) for f in findings] == expected


def test_investigation_fields_outside_every_bundled_schema_are_not_reported() -> None:
    text = kql_rule("event.dataset: okta.system\n", '["logs-okta*"]') + (
        '\n[rule.investigation_fields]\n'
        'field_names = ["okta.actor.alternate_id", "file.Ext.header_bytes", "user.nmae"]\n')
    findings = list(InvestigationFieldsKnown().check(load(text).rule, LintContext()))
    assert [(f.code, f.severity.value) for f in findings] == [("KD306", "warning")]
    assert "user.nmae" in findings[0].message
