"""ES|QL syntax that Elastic's current rules use and that an older reader took for errors.

Each case was a false KD301/KD302 on Elastic's production rules: FROM subqueries, the
IP_LOCATION and URI_PARTS commands, INLINE STATS, GROK's regex named groups and dotted names
with a backquoted part. The queries here are written for the test, not taken from a rule.
"""

from __future__ import annotations

import pytest

from kmsdet.esql.analysis import EsqlSyntaxError, analyze
from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.query import QueryFields, QuerySyntax
from tests.unit.esql.test_checks import esql_rule
from tests.unit.rules.rule_text import load


def findings(query: str) -> list[tuple[str, str]]:
    rule = load(esql_rule(query)).rule
    found = [*QuerySyntax().check(rule, LintContext()), *QueryFields().check(rule, LintContext())]
    return [(f.code, f.message) for f in found]


def test_from_subqueries_are_read_as_queries() -> None:
    query = ("FROM (FROM logs-aws.cloudtrail-* | WHERE event.action == \"GetObject\"\n"
             "        | EVAL kind = \"read\" | KEEP user.name, kind),\n"
             "     (FROM logs-okta* METADATA _id | KEEP user.name, _id)\n"
             "| STATS n = COUNT(*) BY user.name, kind")
    result = analyze(query)
    assert result.sources == ["logs-aws.cloudtrail-*", "logs-okta*"]
    assert [(r.name, query[r.start:r.end]) for r in result.reads][:2] == [
        ("event.action", "event.action"), ("user.name", "user.name")]
    assert findings(query) == []


def test_a_column_no_subquery_keeps_is_out_of_scope_after_from() -> None:
    query = ("FROM (FROM logs-aws.cloudtrail-* | KEEP user.name)\n"
             "| WHERE source.ip IS NOT NULL")
    assert [(r.name, r.out_of_scope) for r in analyze(query).reads][-1] == ("source.ip", True)


def test_a_syntax_error_inside_a_subquery_points_into_it() -> None:
    query = "FROM logs-a*, (FROM logs-b* | WHER x == 1)"
    with pytest.raises(EsqlSyntaxError) as caught:
        analyze(query)
    assert caught.value.offset == query.index("WHER")


@pytest.mark.parametrize("command", [
    "IP_LOCATION geo = source.ip WITH { \"properties\": [\"country_name\", \"city_name\"] }",
    "URI_PARTS geo = url.original",
])
def test_prefix_commands_create_columns_under_their_prefix(command: str) -> None:
    query = (f"FROM logs-aws.cloudtrail-*\n| {command}\n"
             "| STATS n = COUNT_DISTINCT(geo.country_name) BY user.name")
    assert findings(query) == []
    assert analyze(query).reads[0].name in ("source.ip", "url.original")


def test_prefix_columns_survive_a_keep_pattern_but_others_do_not() -> None:
    query = ("FROM logs-* | KEEP source.ip | IP_LOCATION geo = source.ip\n"
             "| WHERE geo.city_name == \"x\" AND host.name == \"y\"")
    assert [(r.name, r.out_of_scope) for r in analyze(query).reads][-2:] == [
        ("geo.city_name", False), ("host.name", True)]


def test_inline_stats_adds_columns_and_reads_no_keyword() -> None:
    query = ("FROM logs-aws.cloudtrail-* | KEEP user.name, event.action\n"
             "| INLINE STATS hits = COUNT(*) WHERE event.action == \"x\" BY user.name\n"
             "| WHERE hits > 2")
    assert findings(query) == []
    assert "STATS" not in [r.name for r in analyze(query).reads]


def test_grok_regex_named_groups_define_columns() -> None:
    query = ("FROM logs-aws.cloudtrail-* | KEEP aws.cloudtrail.request_parameters\n"
             "| GROK aws.cloudtrail.request_parameters \"key=(?<Esql.object_key>[^,]+)\"\n"
             "| WHERE Esql.object_key LIKE \"*.pem\"")
    assert findings(query) == []


def test_dotted_name_with_a_backquoted_part_is_one_field() -> None:
    query = ("FROM logs-aws.cloudtrail-*\n"
             "| STATS n = COUNT(*) BY source.`as`.number, `user`.name\n"
             "| KEEP source.`as`.number, user.name, n")
    assert [r.name for r in analyze(query).reads] == [
        "source.as.number", "user.name", "source.as.number", "user.name", "n"]
    assert analyze(query).final_columns == ["n", "source.as.number", "user.name"]
    assert findings(query) == []


def test_a_misspelt_field_after_the_new_commands_is_still_reported() -> None:
    query = ("FROM logs-aws.cloudtrail-* | IP_LOCATION geo = source.ip\n"
             "| WHERE event.actoin == \"x\"")
    assert [code for code, _ in findings(query)] == ["KD302"]
