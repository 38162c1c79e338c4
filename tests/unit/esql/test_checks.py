"""ES|QL lint: KD301 positions in the file, KD302 against the FROM indices' fields."""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.query import QueryFields, QuerySyntax
from tests.unit.rules.rule_text import line_of, load, rule_text

QUERY = 'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"\n'


def esql_rule(query: str) -> str:
    return rule_text({'language = "kuery"': 'language = "esql"', 'type = "query"': 'type = "esql"',
                      'index = ["logs-aws.cloudtrail-*"]\n': "", QUERY: query})


def test_syntax_error_points_at_the_file_position() -> None:
    text = esql_rule("from logs-aws.cloudtrail-*\n| wher event.action == \"x\"\n")
    [finding] = QuerySyntax().check(load(text).rule, LintContext())
    assert finding.code == "KD301" and "unknown command" in finding.message
    assert finding.line == line_of(text, "| wher")
    assert finding.column == 3


@pytest.mark.parametrize(("query", "expected"), [
    ("from logs-aws.cloudtrail-*\n| where event.actoin == \"x\"\n", [("KD302", "error")]),
    ("from logs-aws.cloudtrail-*\n| where event.action == \"x\"\n", []),
    ("from logs-*\n| where event.actoin == \"x\"\n", [("KD302", "warning")]),
    ("from logs-aws_bedrock.invocation-*\n| stats n = count(*) by gen_ai.request.model.id\n"
     "| where n > 2\n", []),
    ("from logs-aws.cloudtrail-*\n| stats n = count(*) by user.name\n"
     "| where source.ip == \"1.2.3.4\"\n", [("KD302", "error")]),
    ("from logs-okta*\n| where okta.actor.alternate_id == \"x\"\n", []),
], ids=["typo-complete", "ok", "typo-partial", "stats-columns", "after-stats", "no-table"])
def test_fields_each_command_reads(query: str, expected: list[tuple[str, str]]) -> None:
    findings = QueryFields().check(load(esql_rule(query)).rule, LintContext())
    assert [(f.code, f.severity.value) for f in findings] == expected


def test_unknown_field_is_located_and_suggested() -> None:
    text = esql_rule("from logs-aws.cloudtrail-*\n| where event.actoin == \"x\"\n")
    [finding] = QueryFields().check(load(text).rule, LintContext())
    assert finding.line == line_of(text, "event.actoin")
    assert "event.action" in (finding.hint or "")
