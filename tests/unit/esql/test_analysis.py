"""The ES|QL reader: sources, field reads per command, result columns, syntax errors."""

from __future__ import annotations

import pytest

from kmsdet.esql.analysis import EsqlSyntaxError, analyze


def reads(query: str) -> list[tuple[str, str, bool]]:
    return [(r.name, r.command, r.out_of_scope) for r in analyze(query).reads]


def test_sources_and_metadata() -> None:
    result = analyze("FROM logs-aws.cloudtrail-*, `logs-okta*` METADATA _id, _version\n"
                     "| WHERE _id IS NOT NULL")
    assert result.sources == ["logs-aws.cloudtrail-*", "logs-okta*"]
    assert reads("FROM a METADATA _id | WHERE _id IS NOT NULL") == []


def test_each_command_reads_its_fields() -> None:
    query = ("from logs-* | where event.action == \"x\" and @timestamp > now() - 1 hour\n"
             "| eval Esql.len = length(user.name), ip = to_ip(source.address)\n"
             "| where Esql.len > 3 | sort ip desc | dissect message \"%{a} %{b}\"\n"
             "| rename host.name as h | where a == h and b like \"x*\"")
    assert reads(query) == [
        ("event.action", "where", False), ("@timestamp", "where", False),
        ("user.name", "eval", False), ("source.address", "eval", False),
        ("message", "dissect", False), ("host.name", "rename", False),
    ]


def test_stats_and_keep_fix_the_columns() -> None:
    query = ("from logs-* | stats c = count(*), values(user.name) by host.id\n"
             "| where c > 1 and user.name == \"x\"")
    result = analyze(query)
    assert result.final_columns == ["c", "host.id", "values(user.name)"]
    assert reads(query)[-1] == ("user.name", "where", True)
    kept = analyze("from logs-* | keep host.*, user.name | where host.id == \"a\"")
    assert kept.final_columns is None  # a pattern over source fields: unknown columns


def test_unmodelled_commands_never_produce_reports() -> None:
    query = "from logs-* | keep a | lookup join users on a | where z == 1"
    assert reads(query) == [("a", "keep", False), ("z", "where", False)]
    assert analyze(query).final_columns is None


@pytest.mark.parametrize(("query", "offset", "fragment"), [
    ('from logs-* | where a == "x', 25, "unterminated string"),
    ("from logs-* | where (a == 1", 20, "unclosed"),
    ("from logs-* | | limit 1", 14, "empty command"),
    ("from logs-* | wher a == 1", 14, "unknown command"),
    ("where a == 1", 0, "source command"),
    ("from logs-* |", 13, "ends with a pipe"),
    ("from | limit 1", 4, "names no index"),
    ("from logs-* /* open", 12, "unterminated comment"),
])
def test_syntax_errors_carry_their_offset(query: str, offset: int, fragment: str) -> None:
    with pytest.raises(EsqlSyntaxError) as info:
        analyze(query)
    assert info.value.offset == offset
    assert fragment in info.value.message
    assert info.value.hint


def test_unnamed_expressions_are_columns_named_as_written() -> None:
    query = "from logs-* | stats count(*) by host.id | where `count(*)` > 5 | sort `count(*)`"
    assert analyze(query).final_columns == ["count(*)", "host.id"]
    assert all(not out for _, _, out in reads(query))
    assert reads("from logs-* | eval length(user.name) | where `length(user.name)` > 3") == [
        ("user.name", "eval", False)]


def test_a_minus_sign_is_not_part_of_a_field_name() -> None:
    assert reads("from logs-* | eval d = event.end-event.start") == [
        ("event.end", "eval", False), ("event.start", "eval", False)]
    assert analyze("from logs-aws.cloudtrail-*, .ds-logs-okta.system-2024*").sources == [
        "logs-aws.cloudtrail-*", ".ds-logs-okta.system-2024*"]
