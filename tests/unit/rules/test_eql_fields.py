"""EQL field and type checks: every event query of a sequence, positions in the file."""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.query import QueryFields
from tests.unit.rules.rule_text import line_of, load, rule_text

QUERY = 'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"\n'
CT_INDEX = 'index = ["logs-aws.cloudtrail-*"]'


def eql_rule(query: str, index: str = '["logs-endpoint.events.*"]') -> str:
    return rule_text({'language = "kuery"': 'language = "eql"', 'type = "query"': 'type = "eql"',
                      QUERY: query, CT_INDEX: f"index = {index}"})


def findings(text: str) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity.value, f.message)
            for f in QueryFields().check(load(text).rule, LintContext())]


def test_unknown_field_in_the_second_step_of_a_sequence_is_located() -> None:
    query = ('sequence by host.id with maxspan=1m\n'
             '  [process where process.name == "cmd.exe"]\n'
             '  [network where destination.prot == 4444]\n')
    text = eql_rule(query)
    [finding] = QueryFields().check(load(text).rule, LintContext())
    assert (finding.code, finding.severity.value) == ("KD302", "warning")
    assert finding.line == line_of(text, "destination.prot")
    row = text.splitlines()[finding.line - 1]
    assert row[finding.column - 1:].startswith("destination.prot")
    assert "destination.port" in (finding.hint or "")


@pytest.mark.parametrize(("query", "expected"), [
    # Comparisons with a mismatched literal pass Elasticsearch's verifier: at most a warning
    ('process where process.pid == "abc"\n', [("KD304", "warning")]),
    ('process where process.pid > "4"\n', []),
    ('process where event.code == 4624\n', []),
    ('network where destination.ip == "not-an-ip"\n', [("KD304", "warning")]),
    # `:` and `in~` need strings; an `in` list must hold the field's own type
    ('network where destination.port : "44*"\n', [("KD303", "error")]),
    ('network where destination.ip in~ ("10.0.0.1")\n', [("KD303", "error")]),
    ('process where process.pid in (1, "two")\n', [("KD304", "error")]),
    ('process where process.name in ("a", 2)\n', [("KD304", "error")]),
    ('process where process.name : "cmd*" and process.pid > 4\n', []),
    ('network where destination.ip == "10.0.0.1" and source.port in (1, 2)\n', []),
    # optional fields (`?field`) may be missing; names inside strings are not fields
    ('process where ?process.nosuch == "x" and process.name == "process.nmae"\n', []),
    # Defend's own fields and caseless multi-fields
    ('process where process.Ext.api.name == "x" and process.name.caseless == "a"\n', []),
    # raw strings are not read as literals
    ('process where process.pid == 4 and process.name : """C:\\x"""\n', []),
    ('process where process.name in ("a", """b""") and process.pid in (1, 2)\n', []),
    # exact comparisons need a keyword: text without one is refused, a text multi-field's
    # parent or keyword sibling is fine
    ('any where message == "x"\n', [("KD303", "error")]),
    ('any where message != null and process.command_line == "x"\n', []),
    ('any where process.command_line.text == "x"\n', [("KD303", "error")]),
], ids=["num-str", "num-numeric-str", "kw-num", "bad-ip", "ci-on-long", "ci-in-on-ip",
        "in-mixed-numeric", "in-mixed-keyword", "ok", "ok-ip", "optional", "defend",
        "raw-string", "raw-in-list", "text", "text-null", "text-multi-field"])
def test_type_and_operator_checks(query: str, expected: list[tuple[str, str]]) -> None:
    assert [(code, severity) for code, severity, _ in findings(eql_rule(query))] == expected


def test_on_a_complete_schema_an_unknown_eql_field_is_an_error() -> None:
    text = eql_rule('any where aws.cloudtrail.user_identiy.arn == "x"\n',
                    '["logs-aws.cloudtrail-*"]')
    assert [(c, s) for c, s, _ in findings(text)] == [("KD302", "error")]


def test_comments_do_not_hide_or_invent_fields() -> None:
    query = '/* process.nmae */ process where // user.nmae\n  process.name == "x"\n'
    assert findings(eql_rule(query)) == []


def test_each_step_of_a_sequence_reports_its_own_mistake() -> None:
    query = ('sequence by host.id with maxspan=1m\n'
             '  [process where process.pid > 4]\n'
             '  [process where process.pid in (4, "four")]\n')
    text = eql_rule(query)
    [finding] = QueryFields().check(load(text).rule, LintContext())
    assert finding.code == "KD304"
    assert finding.line == line_of(text, '"four"')
