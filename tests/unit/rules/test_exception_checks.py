"""KD309: exception entries Kibana accepts and Elasticsearch can run."""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.exceptions import ExceptionEntries
from tests.unit.rules.rule_text import line_of, load, rule_text


def findings(entry: str):
    text = rule_text(append="\n[[kmsdet.exceptions]]\n" + entry)
    rule = load(text).rule
    assert rule is not None
    return text, list(ExceptionEntries().check(rule, LintContext()))


@pytest.mark.parametrize(("entry", "message", "at"), [
    ('field = "user.name"\ntype = "macth"\nvalue = "a"\n', "exception type 'macth'", "type ="),
    ('field = "user.name"\noperator = "include"\nvalue = "a"\n', "exception operator 'include'",
     "operator ="),
    ('field = "user.name"\ntype = "wildcard"\nvalue = ["a*", "b*"]\n', "takes one value",
     "value ="),
    ('field = "user.nmae"\nvalue = "a"\n', "exception field 'user.nmae' is not in the schema",
     "field ="),
    ('field = "aws.cloudtrail.flattened.request_parameters.granteePrincipal"\n'
     'type = "wildcard"\nvalue = "arn:*"\n', "refuses wildcard queries on keyed flattened",
     "field ="),
])
def test_bad_entries_are_reported_at_their_key(entry: str, message: str, at: str) -> None:
    text, found = findings(entry)
    assert len(found) == 1, found
    assert message in found[0].message
    assert found[0].code == "KD309"
    table = line_of(text, "[[kmsdet.exceptions]]")
    lines = text.splitlines()
    assert found[0].line is not None and found[0].line > table
    assert lines[found[0].line - 1].startswith(at)


def test_good_entries_pass() -> None:
    _, found = findings('field = "aws.cloudtrail.request_parameters"\ntype = "wildcard"\n'
                        'value = "*granteePrincipal=arn:aws:iam::111122223333:*"\n'
                        '\n[[kmsdet.exceptions]]\nfield = "user.name"\ntype = "match_any"\n'
                        'value = ["a", "b"]\n')
    assert found == []
