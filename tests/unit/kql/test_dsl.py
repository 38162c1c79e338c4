"""KQL + field types in, exactly the DSL Kibana's detection engine sends out.

Rows marked A.4 are the worked examples of reference/kql.md (section A.4).
"""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.dsl import build_es_query, query_string_escape, to_dsl
from kmsdet.kql.errors import KqlTranslationError
from kmsdet.kql.parser import parse

SCHEMA = FieldSchema.from_types({
    "@timestamp": "date",
    "event.ingested": "date_nanos",
    "event.action": "keyword",
    "event.outcome": "keyword",
    "event.provider": "keyword",
    "user": "object",
    "user.name": "keyword",
    "user.name.text": "match_only_text",
    "file.path": "keyword",
    "process.args": "keyword",
    "message": "text",
    "source.ip": "ip",
    "http.response.status_code": "long",
    "data_stream.dataset": "constant_keyword",
    "url.original": "wildcard",
    "cloud.flag": "boolean",
    "aws.cloudtrail.flattened.request_parameters": "flattened",
    "threat.enrichments": "nested",
    "threat.enrichments.indicator.ip": "ip",
    "threat.enrichments.matched.field": "keyword",
})


def should(*clauses: Any) -> dict[str, Any]:
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def term(field: str, value: Any) -> dict[str, Any]:
    return {"term": {field: {"value": value}}}


def match(field: str, value: Any, phrase: bool = False) -> dict[str, Any]:
    return {"match_phrase" if phrase else "match": {field: value}}


def qs(field: str, query: str) -> dict[str, Any]:
    return {"query_string": {"fields": [field], "query": query}}


def wildcard(field: str, value: str) -> dict[str, Any]:
    return {"wildcard": {field: {"value": value}}}


def rng(field: str, **params: Any) -> dict[str, Any]:
    return {"range": {field: params}}


def nested(path: str, query: Any) -> dict[str, Any]:
    return {"nested": {"path": path, "query": query, "score_mode": "none"}}


Z = "Zulu"

# (query, use the schema?, expected clause)
CASES: list[tuple[str, bool, Any]] = [
    # A.4 rows, keyword and unknown field types
    ("event.action: ConsoleLogin", True, should(term("event.action", "ConsoleLogin"))),
    ("event.action: ConsoleLogin", False, should(match("event.action", "ConsoleLogin"))),
    ('event.action: "Console Login"', True, should(term("event.action", "Console Login"))),
    ('message: "Console Login"', True, should(match("message", "Console Login", phrase=True))),
    ('event.action: "Console Login"', False,
     should(match("event.action", "Console Login", phrase=True))),
    ("user.name: admin*", True, should(wildcard("user.name", "admin*"))),
    ("user.name: admin*", False, should(qs("user.name", "admin*"))),
    (r"file.path: C\:\\Windows\\*", True, should(wildcard("file.path", r"C\:\\Windows\\*"))),
    ("source.ip: *", True, should({"exists": {"field": "source.ip"}})),
    ("source.ip: *", False, should({"exists": {"field": "source.ip"}})),
    ("event.outcome: (failure or unknown)", True,
     should(should(term("event.outcome", "failure")), should(term("event.outcome", "unknown")))),
    ("not user.name: root", True, {"bool": {"must_not": should(term("user.name", "root"))}}),
    ("event.action: x and user.name: y", True,
     {"bool": {"filter": [should(term("event.action", "x")), should(term("user.name", "y"))]}}),
    ("http.response.status_code >= 400", True,
     should(rng("http.response.status_code", gte="400"))),
    ('@timestamp < "2024-01-01"', True, should(rng("@timestamp", lt="2024-01-01", time_zone=Z))),
    ("mimikatz", True, {"multi_match": {"type": "best_fields", "query": "mimikatz",
                                        "lenient": True}}),
    ("*", True, {"query_string": {"query": "*"}}),
    ("", True, {"match_all": {}}),
    # field_caps reports constant_keyword and wildcard as the keyword family, so the data
    # view the detection engine builds types them keyword: term and wildcard queries
    ('data_stream.dataset: "aws.cloudtrail"', True,
     should(term("data_stream.dataset", "aws.cloudtrail"))),
    ("data_stream.dataset: aws.cloudtrail", True,
     should(term("data_stream.dataset", "aws.cloudtrail"))),
    ("data_stream.dataset: aws.*", True, should(wildcard("data_stream.dataset", "aws.*"))),
    # wildcard-typed, text, ip, boolean fields
    ("url.original: *evil*", True, should(wildcard("url.original", "*evil*"))),
    ("url.original: evil", True, should(term("url.original", "evil"))),
    # one wildcard pattern with a space, not a query_string that splits it into two terms
    ("url.original: *net user*", True, should(wildcard("url.original", "*net user*"))),
    ("message: error", True, should(match("message", "error"))),
    ("source.ip: 10.0.0.0/8", True, should(match("source.ip", "10.0.0.0/8"))),
    ("cloud.flag: false", True, should(match("cloud.flag", False))),
    ('cloud.flag: "false"', True, should(match("cloud.flag", "false", phrase=True))),
    # unquoted true/false/null are JSON literals, numbers stay strings
    ("message: true", True, should(match("message", True))),
    ("user.name: null", True, should(term("user.name", None))),
    ("user.name: 0042", True, should(term("user.name", "0042"))),
    # dates: an exact value is a one-instant range; epoch digits get no time zone
    ("@timestamp: 2024-01-01", True,
     should(rng("@timestamp", gte="2024-01-01", lte="2024-01-01", time_zone=Z))),
    ("@timestamp: 1700000000000", True,
     should(rng("@timestamp", gte="1700000000000", lte="1700000000000"))),
    ("event.ingested >= now-1d", True, should(rng("event.ingested", gte="now-1d", time_zone=Z))),
    ("@timestamp > 1700000000000", True, should(rng("@timestamp", gt="1700000000000"))),
    ("@timestamp: 2024-01-01", False, should(match("@timestamp", "2024-01-01"))),
    # ranges on other types
    ("user.name > m", True, should(rng("user.name", gt="m"))),
    ('http.response.status_code <= "499"', True,
     should(rng("http.response.status_code", lte="499"))),
    # free text
    ('"access denied"', True, {"multi_match": {"type": "phrase", "query": "access denied",
                                               "lenient": True}}),
    ("true", True, {"multi_match": {"type": "best_fields", "query": True, "lenient": True}}),
    (r"*a+b\:c/d?*", True, {"query_string": {"query": r"*a\+b\:c\/d\?*"}}),
    # query_string escaping of wildcard pieces; ? is never a KQL wildcard
    ("user.name: a?b*", True, should(wildcard("user.name", r"a\?b*"))),
    ("process.args: /tmp/*", True, should(wildcard("process.args", r"\/tmp\/*"))),
    (r"user.name: a\*b", True, should(term("user.name", "a*b"))),
    (r"user.name: a\*b*", True, should(wildcard("user.name", r"a\*b*"))),
    ('user.name: "a*"', True, should(term("user.name", "a*"))),
    # wildcard field names expand over the data view (object/nested entries are not fields)
    ("user.*: x", True, should(term("user.name", "x"), match("user.name.text", "x"))),
    ("user.*: *", True, should({"exists": {"field": "user.name"}},
                               {"exists": {"field": "user.name.text"}})),
    ("user.*: x", False, should(match("user.*", "x"))),
    ("nosuch.*: x", True, should(match("nosuch.*", "x"))),
    ("*: *", True, {"match_all": {}}),
    ("http.* >= 400", True, should(rng("http.response.status_code", gte="400"))),
    # fields the data view does not list keep their name, unknown type
    ("user: x", True, should(match("user", "x"))),
    ("aws.cloudtrail.flattened.request_parameters.keyId: abc", True,
     should(match("aws.cloudtrail.flattened.request_parameters.keyId", "abc"))),
    ("null: x", True, {"multi_match": {"type": "best_fields", "query": "x", "lenient": True}}),
    # boolean structure
    ("a or b and c", False,
     {"bool": {"should": [
         {"multi_match": {"type": "best_fields", "query": "a", "lenient": True}},
         {"bool": {"filter": [
             {"multi_match": {"type": "best_fields", "query": "b", "lenient": True}},
             {"multi_match": {"type": "best_fields", "query": "c", "lenient": True}}]}}],
         "minimum_should_match": 1}}),
    ("user.name: (a and not b)", True,
     {"bool": {"filter": [should(term("user.name", "a")),
                          {"bool": {"must_not": should(term("user.name", "b"))}}]}}),
    ("not (event.action: x or user.name: y)", True,
     {"bool": {"must_not": should(should(term("event.action", "x")),
                                  should(term("user.name", "y")))}}),
    # nested queries: the engine types the group's path only, its sub-fields stay untyped
    ("threat.enrichments: { indicator.ip: 1.2.3.4 }", True,
     nested("threat.enrichments", should(match("threat.enrichments.indicator.ip", "1.2.3.4")))),
    ("threat.enrichments: { matched.field: x and indicator.ip: * }", True,
     nested("threat.enrichments", {"bool": {"filter": [
         should(match("threat.enrichments.matched.field", "x")),
         should({"exists": {"field": "threat.enrichments.indicator.ip"}})]}})),
    ("threat.enrichments: { matched.field: a* }", True,
     nested("threat.enrichments", should(qs("threat.enrichments.matched.field", "a*")))),
    ("threat.enrichments: { oops }", True,
     nested("threat.enrichments", should(match("threat.enrichments.null", "oops")))),
    ("threat.enrichments.m*: x", True,
     should(nested("threat.enrichments", term("threat.enrichments.matched.field", "x")))),
    ("threat.enrichments.m* < 5", True,
     should(nested("threat.enrichments", rng("threat.enrichments.matched.field", lt="5")))),
    ("p: { q: { a: 1 } }", False, nested("p", nested("p.q", should(match("p.q.a", "1"))))),
]


@pytest.mark.parametrize(("query", "with_schema", "expected"), CASES,
                         ids=[f"{q!r}-{'typed' if s else 'untyped'}" for q, s, _ in CASES])
def test_to_dsl(query: str, with_schema: bool, expected: Any) -> None:
    assert to_dsl(parse(query), SCHEMA if with_schema else None) == expected


def test_build_es_query_wraps_the_clause_in_filter() -> None:
    clause = should(term("event.action", "x"))
    assert build_es_query(parse("event.action: x"), SCHEMA) == {
        "bool": {"must": [], "filter": [clause], "should": [], "must_not": []}}


@pytest.mark.parametrize("query", ["", "   ", "*: *"])
def test_build_es_query_drops_match_all(query: str) -> None:
    assert build_es_query(parse(query), SCHEMA) == {
        "bool": {"must": [], "filter": [], "should": [], "must_not": []}}


def test_build_es_query_keeps_the_star_query() -> None:
    # The common rule query "*" is a query_string, not match_all, so it stays.
    assert build_es_query(parse("*"))["bool"]["filter"] == [{"query_string": {"query": "*"}}]


def test_time_zone_is_configurable() -> None:
    node = parse("@timestamp >= 2024-01-01")
    assert to_dsl(node, SCHEMA, date_format_tz=None) == should(rng("@timestamp", gte="2024-01-01"))
    assert to_dsl(node, SCHEMA, date_format_tz="Europe/Paris") == should(
        rng("@timestamp", gte="2024-01-01", time_zone="Europe/Paris"))


@pytest.mark.parametrize(("query", "fragment"), [
    ("threat.enrichments.matched.field: x", "is a nested field, but is not in a nested group"),
])
def test_kibana_refuses_nested_fields_outside_their_group(query: str, fragment: str) -> None:
    with pytest.raises(KqlTranslationError) as info:
        to_dsl(parse(query), SCHEMA)
    assert fragment in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(("piece", "escaped"), [
    ("plain", "plain"),
    ("a.b-c", r"a.b\-c"),
    ('+-=&|><!(){}[]^"~*?:\\/', r'\+\-\=\&\|\>\<\!\(\)\{\}\[\]\^\"\~\*\?\:\\\/'),
    ("1,2;3", "1,2;3"),
])
def test_query_string_escape(piece: str, escaped: str) -> None:
    assert query_string_escape(piece) == escaped
