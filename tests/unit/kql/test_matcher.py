"""The in-memory matcher answers as Elasticsearch would for the DSL Kibana builds.

Most behaviour is one table: (query, document, expected). Each row names the Elasticsearch
behaviour it pins, so a failure reads as "this semantic drifted".
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from kmsdet.fields.schema import FieldInfo, FieldSchema
from kmsdet.kql.analysis import analyze
from kmsdet.kql.ast import And, Exists, Is, Nested, Not, Or, Range, Span, Value
from kmsdet.kql.errors import KqlTranslationError
from kmsdet.kql.matcher import (
    FieldPath,
    KqlTypeError,
    compile_many,
    compile_query,
    explain,
)
from kmsdet.kql.parser import parse

NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


def _info(name: str, type_: str, **kw: Any) -> tuple[str, FieldInfo]:
    return name, FieldInfo(name, type_, **kw)


SCHEMA = FieldSchema(dict([
    _info("kw", "keyword"),
    _info("short_kw", "keyword", ignore_above=5),
    _info("ck", "constant_keyword", value="aws.cloudtrail"),
    _info("ck_free", "constant_keyword"),
    _info("wc", "wildcard"),
    _info("txt", "text"),
    _info("mot", "match_only_text"),
    _info("user.name", "keyword", ignore_above=1024),
    _info("user.name.text", "match_only_text", parent="user.name"),
    _info("user", "object"),
    _info("a.b.c", "keyword"),
    _info("ip", "ip"),
    _info("n", "long"),
    _info("i", "integer"),
    _info("f", "float"),
    _info("hf", "half_float"),
    _info("d", "double"),
    _info("ul", "unsigned_long"),
    _info("ts", "date"),
    _info("tsn", "date_nanos"),
    _info("flag", "boolean"),
    _info("flat", "flattened"),
    _info("geo", "geo_point"),
    _info("orig", "keyword", index=False, doc_values=False),
    _info("res", "nested"),
    _info("res.arn", "keyword"),
    _info("res.type", "keyword"),
    _info("objs.arn", "keyword"),
    _info("objs.type", "keyword"),
]))

ERROR = KqlTypeError
T, F = True, False

# (query, document, expected)
ROWS: list[tuple[str, dict[str, Any], bool | type[Exception]]] = [
    # keyword: term is exact and case-sensitive
    ("kw: DisableKey", {"kw": "DisableKey"}, T),
    ("kw: disablekey", {"kw": "DisableKey"}, F),
    ('kw: "DisableKey"', {"kw": "DisableKey"}, T),
    ("kw: Disable", {"kw": "DisableKey"}, F),
    ("kw: two words", {"kw": "two words"}, T),
    ('kw: "two words"', {"kw": "two words"}, T),
    # keyword: wildcard query covers the whole value; only * is a wildcard
    ("kw: Disable*", {"kw": "DisableKey"}, T),
    ("kw: *Key", {"kw": "DisableKey"}, T),
    ("kw: *key", {"kw": "DisableKey"}, F),
    ("kw: D*K*y", {"kw": "DisableKey"}, T),
    ("kw: Disable?ey", {"kw": "DisableKey"}, F),
    ("kw: Disable?ey", {"kw": "Disable?ey"}, T),
    ('kw: "Disable*"', {"kw": "DisableKey"}, F),
    ('kw: "Disable*"', {"kw": "Disable*"}, T),
    # keyword: JSON scalars are indexed as their text
    ("kw: true", {"kw": True}, T),
    ("kw: 7", {"kw": 7}, T),
    ("kw: 7", {"kw": "7"}, T),
    ("kw: 7.0", {"kw": 7}, F),
    # arrays and missing values
    ("kw: a", {"kw": ["b", "a"]}, T),
    ("kw: a", {"kw": [[["a"]]]}, T),
    ("kw: a", {"kw": None}, F),
    ("not kw: a", {}, T),
    ("not kw: a", {"kw": []}, T),
    ("kw: *", {"kw": ""}, T),
    ("kw: *", {"kw": None}, F),
    ("kw: *", {"kw": [None]}, F),
    ("kw: *", {"kw": [None, "a"]}, T),
    # ignore_above: too-long values are in _source but not indexed
    ("short_kw: abcdef", {"short_kw": "abcdef"}, F),
    ("short_kw: abcde", {"short_kw": "abcde"}, T),
    ("short_kw: *", {"short_kw": "abcdef"}, F),
    ("short_kw: abc*", {"short_kw": ["abcdef", "abcd"]}, T),
    ("not short_kw: abcdef", {"short_kw": "abcdef"}, T),
    # keyword ranges compare strings
    ("kw > b", {"kw": "c"}, T),
    ("kw < b", {"kw": "ab"}, T),
    ("kw >= B", {"kw": "a"}, T),
    ("kw <= B", {"kw": "a"}, F),
    # document shapes: nested objects, dotted keys, mixes, object arrays
    ("user.name: alice", {"user": {"name": "alice"}}, T),
    ("user.name: alice", {"user.name": "alice"}, T),
    ("a.b.c: x", {"a": {"b.c": "x"}}, T),
    ("a.b.c: x", {"a.b": {"c": "x"}}, T),
    ("a.b.c: x", {"a": [{"b": {"c": "y"}}, {"b": {"c": "x"}}]}, T),
    ("a.b.c: x", {"a": {"b": "x"}}, F),
    # object arrays are flattened: conditions may hold on different elements
    ("objs.arn: x and objs.type: K", {"objs": [{"arn": "x", "type": "A"},
                                               {"arn": "y", "type": "K"}]}, T),
    # nested: one element must satisfy the whole group
    ("res: { arn: x and type: K }", {"res": [{"arn": "x", "type": "A"},
                                            {"arn": "y", "type": "K"}]}, F),
    ("res: { arn: x and type: K }", {"res": [{"arn": "y"}, {"arn": "x", "type": "K"}]}, T),
    ("res: { arn: x }", {"res": {"arn": "x"}}, T),
    ("not res: { arn: x }", {}, T),
    ("res: { not arn: x }", {"res": [{"arn": "x"}, {"arn": "y"}]}, T),
    ("res: { not arn: x }", {"res": [{"arn": "x"}]}, F),
    ("objs: { arn: x }", {"objs": [{"arn": "x"}]}, ERROR),
    # constant_keyword: the mapped value answers for every document
    ("ck: aws.cloudtrail", {}, T),
    ('ck: "aws.cloudtrail"', {"ck": "aws.cloudtrail"}, T),
    ("ck: AWS.cloudtrail", {}, F),
    ("ck: aws.cloud*", {}, T),
    ("ck: *", {}, T),
    ("ck_free: x", {"ck_free": "x"}, T),
    ("ck_free: x", {}, F),
    ("ck_free: *", {}, F),
    # wildcard type: exact and case-sensitive; of the keyword family in the engine's data
    # view, so a pattern with a space is one wildcard query, not a splitting query_string
    ("wc: Abc", {"wc": "Abc"}, T),
    ("wc: abc", {"wc": "Abc"}, F),
    ("wc: A*c", {"wc": "Abc"}, T),
    ("wc: *S3 Browser*", {"wc": "S3 Client"}, F),
    ("wc: *S3 Browser*", {"wc": "x S3"}, F),
    ("wc: *S3 Browser*", {"wc": "x S3 Browser y"}, T),
    ("ck_free: *a b*", {"ck_free": "xa"}, F),
    ("ck_free: *a b*", {"ck_free": "xa by"}, T),
    # inside a nested group sub-fields are untyped: query_string, which splits on spaces
    ("res: { arn: *a b* }", {"res": [{"arn": "xa"}]}, T),
    ("res: { arn: *a b* }", {"res": [{"arn": "y"}]}, F),
    # text: match is an OR of analysed tokens, match_phrase needs adjacent tokens
    ("txt: ERROR", {"txt": "an error occurred"}, T),
    ("txt: error nothing", {"txt": "an error occurred"}, T),
    ('txt: "error occurred"', {"txt": "an error occurred"}, T),
    ('txt: "occurred error"', {"txt": "an error occurred"}, F),
    ('txt: "an occurred"', {"txt": "an error occurred"}, F),
    ("txt: kms.amazonaws.com", {"txt": "call to kms.amazonaws.com"}, T),
    ("txt: kms", {"txt": "call to kms.amazonaws.com"}, F),
    ("txt: cli", {"txt": "aws-cli/2.14.5"}, T),
    ("txt: 2.14.5", {"txt": "aws-cli/2.14.5"}, T),
    ('txt: "aws cli"', {"txt": "aws-cli/2.14.5"}, T),
    ("txt: aws-cli*", {"txt": "aws-cli/2.14.5"}, F),
    ("txt: AWS*", {"txt": "aws-cli/2.14.5"}, T),
    ("txt: *", {"txt": ""}, T),
    ('txt: "a b"', {"txt": ["x a", "b y"]}, F),
    ('txt: "a b"', {"txt": ["x a b"]}, T),
    ('txt: "-"', {"txt": "-"}, F),
    ("txt > m", {"txt": "Zebra apple"}, T),
    ("mot: Hello", {"mot": "hello world"}, T),
    ("user.name.text: ALICE", {"user": {"name": "alice smith"}}, T),
    ("user.name: ALICE", {"user": {"name": "alice"}}, F),
    # ip: parsed addresses, CIDR blocks, IPv4-mapped IPv6
    ("ip: 10.1.2.3", {"ip": "10.1.2.3"}, T),
    ("ip: 10.0.0.0/8", {"ip": "10.1.2.3"}, T),
    ("ip: 192.168.0.0/16", {"ip": "10.1.2.3"}, F),
    ('ip: "::ffff:10.1.2.3"', {"ip": "10.1.2.3"}, T),
    ('ip: "2001:db8::1"', {"ip": "2001:0db8:0:0::1"}, T),
    ('ip: "2001:db8::/32"', {"ip": "2001:db8::5"}, T),
    ("ip >= 10.0.0.5", {"ip": "10.0.0.10"}, T),
    ("ip < 10.0.0.5", {"ip": "10.0.0.10"}, F),
    ("ip: 10.1.2.3", {"ip": "AWS Internal"}, F),
    ("ip: *", {"ip": "AWS Internal"}, F),
    ("ip: foo", {}, ERROR),
    ("ip: 10.*", {}, ERROR),
    ("ip > 10.0.0.0/8", {}, ERROR),
    # numbers: coercion, truncation, precision
    ("n: 5", {"n": 5}, T),
    ("n: 5", {"n": "5"}, T),
    ("n: 5", {"n": 5.7}, T),
    ("n: 5.0", {"n": 5}, T),
    ("n: 5.5", {"n": 5}, F),
    ("n >= 400", {"n": 404}, T),
    ("n >= 400", {"n": 399}, F),
    ("n > 5.5", {"n": 6}, T),
    ("n > 5.5", {"n": 5}, F),
    ("n < 10", {"n": [20, 5]}, T),
    ("n: abc", {}, ERROR),
    ("n: 4*", {}, ERROR),
    ("i: 3000000000", {"i": 5}, F),
    ("ul: 18446744073709551615", {"ul": 18446744073709551615}, T),
    ("f: 0.1", {"f": 0.1}, T),
    ("f: 0.1000000001", {"f": 0.1}, T),
    ("d: 0.1000000001", {"d": 0.1}, F),
    ("hf: 0.1", {"hf": 0.09997}, T),
    # dates: is = range gte/lte with rounding of missing components
    ("ts: 2024-01-01", {"ts": "2024-01-01T15:30:00Z"}, T),
    ("ts: 2024-01-01", {"ts": "2024-01-02T00:00:00Z"}, F),
    ("ts < 2024-01-01", {"ts": "2023-12-31T23:59:59.999Z"}, T),
    ("ts < 2024-01-01", {"ts": "2024-01-01T00:00:00Z"}, F),
    ("ts > 2024-01-01", {"ts": "2024-01-01T12:00:00Z"}, F),
    ("ts > 2024-01-01", {"ts": "2024-01-02T00:00:00Z"}, T),
    ("ts <= 2024-01-01", {"ts": "2024-01-01T23:59:59.999Z"}, T),
    ("ts >= now-5m", {"ts": "2024-05-15T11:56:00Z"}, T),
    ("ts >= now-5m", {"ts": "2024-05-15T11:54:59Z"}, F),
    ("ts >= now/d", {"ts": "2024-05-15T00:00:00Z"}, T),
    ("ts > now/d", {"ts": "2024-05-15T23:00:00Z"}, F),
    ("ts: now/d", {"ts": "2024-05-15T18:00Z"}, T),
    ("ts: 1704067200000", {"ts": "2024-01-01T00:00:00Z"}, T),
    ("ts: 1704067200000", {"ts": 1704067200000}, T),
    ('ts >= "2024-01-01T10:00:00+02:00"', {"ts": "2024-01-01T08:00:00Z"}, T),
    ('ts >= "2024-01-01T10:00:00+02:00"', {"ts": "2024-01-01T07:59:59Z"}, F),
    ('ts: "2024-01-01||+1M/M"', {"ts": "2024-02-29T10:00:00Z"}, T),
    ('ts: "2024-01-01||+1M/M"', {"ts": "2024-03-01T00:00:00Z"}, F),
    ("ts: 2024", {"ts": "2024-01-01T12:00:00Z"}, T),
    ("ts: 2024", {"ts": "2024-06-01T00:00:00Z"}, F),
    ('tsn >= "2024-01-01T00:00:00.000000001Z"', {"tsn": "2024-01-01T00:00:00.000000001Z"}, T),
    ('tsn >= "2024-01-01T00:00:00.000000001Z"', {"tsn": "2024-01-01T00:00:00Z"}, F),
    ('ts >= "2024-01-01T00:00:00.000000001Z"', {"ts": "2024-01-01T00:00:00Z"}, T),
    ("ts: foo", {}, ERROR),
    ("ts: 2024*", {}, ERROR),
    ("ts: *", {"ts": "not a date"}, F),
    # booleans
    ("flag: true", {"flag": True}, T),
    ("flag: true", {"flag": "true"}, T),
    ("flag: true", {"flag": False}, F),
    ("flag: false", {"flag": ""}, T),
    ("not flag: true", {"flag": "yes"}, T),
    ("flag: yes", {}, ERROR),
    # flattened: leaves are exact keywords
    ("flat.pendingWindowInDays: 7", {"flat": {"pendingWindowInDays": 7}}, T),
    ("flat.keyId: arn*", {"flat": {"keyId": "arn:aws:kms:k"}}, T),
    ("flat.keyId: ARN*", {"flat": {"keyId": "arn:aws:kms:k"}}, F),
    ("flat.enabled: true", {"flat": {"enabled": True}}, T),
    ("flat: 7", {"flat": {"a": {"b": 7}}}, T),
    ("flat.a: *", {"flat": {"a": {"b": 7}}}, F),
    ("flat.a.b: *", {"flat": {"a": {"b": 7}}}, T),
    ("flat.a.b: 7", {"flat.a.b": 7}, T),
    ("flat.a.b < 8", {"flat": {"a": {"b": 10}}}, T),  # strings: "10" < "8"
    # keyed flattened wildcards as Elasticsearch 8.19 runs them (query_string on `_keyed`):
    # a trailing * is a prefix within the key; any other pattern is matched against
    # "key\0value" terms of every key, so a leading * reaches other keys' values and a
    # pattern starting with a literal never matches.
    ("flat.keyId: *kms*", {"flat": {"keyId": "arn:aws:kms:k"}}, T),
    ("flat.keyId: *EXTERNAL*", {"flat": {"keyId": "k", "origin": "EXTERNAL"}}, T),
    ("flat.keyId: arn*k", {"flat": {"keyId": "arn:aws:kms:k"}}, F),
    ("flat.keyId: arn*", {"flat": {"origin": "arn:aws:kms:k"}}, F),
    # geo_point: exists only
    ("geo: *", {"geo": {"lat": 1.0, "lon": 2.0}}, T),
    ("geo: *", {}, F),
    ("geo: 1", {}, ERROR),
    # exists on objects, match-all, unsearchable fields
    ("*: *", {}, T),
    ("user: *", {"user": {"name": "x"}}, T),
    ("user: *", {"user": {"name": None}}, F),
    ("orig: *", {"orig": "x"}, F),
    ("orig: x", {"orig": "x"}, ERROR),
    # free text: multi_match over every field, lenient
    ("DisableKey", {"kw": "DisableKey"}, T),
    ("disablekey", {"kw": "DisableKey"}, F),
    ("occurred", {"txt": "error occurred"}, T),
    ("ALICE", {"user": {"name": "alice"}}, T),
    ("10.1.2.3", {"ip": "10.1.2.3"}, T),
    ("404", {"n": 404}, T),
    ('"error occurred"', {"txt": "an error occurred"}, T),
    ("Disable*", {"kw": "DisableKey"}, T),
    ("*", {}, T),
    ("nothing", {"kw": "x", "n": 3, "ip": "10.0.0.1"}, F),
    ("aws.cloudtrail", {}, T),  # the constant_keyword ck holds it in every document
    ("aws.cloud*", {}, T),
    # dynamically mapped fields (not in the schema): text + .keyword, numbers, dates
    ("unk: Hello", {"unk": "hello world"}, T),
    ('unk.keyword: "hello world"', {"unk": "hello world"}, T),
    ("unk.keyword: hello", {"unk": "hello world"}, F),
    ("unk.keyword: 5", {"unk": 5}, F),  # a long field has no .keyword
    ("unk.keyword: *", {"unk": "x" * 257}, F),  # ignore_above 256
    ("unk: 5", {"unk": 5}, T),
    ("unk: abc", {"unk": 5}, F),
    ("unk: 2024-01-01", {"unk": "2024-01-01T10:00:00Z"}, T),
    ("hello", {"unk": "Hello world"}, T),
    # field-name wildcards expand over the schema
    ("user.*: alice", {"user": {"name": "alice"}}, T),
    ("user.*: ALICE", {"user": {"name": "alice"}}, T),
    ("user.*: bob", {"user": {"name": "alice"}}, F),
    ("unk*: *", {"unkx": {"y": 1}}, T),  # no mapped field matches: exists takes the pattern
    ("unk*: *", {"kw": "a"}, F),
    # boolean structure
    ("kw: a and (n: 1 or n: 2)", {"kw": "a", "n": 2}, T),
    ("not (kw: a or kw: b)", {"kw": "c"}, T),
    ("kw: (a or b) and not kw: b", {"kw": ["a", "b"]}, F),
    ("kw: (a and b)", {"kw": ["a", "b"]}, T),
    ("", {}, T),
    # null: Kibana sends JSON null, which Elasticsearch rejects
    ("kw: null", {}, ERROR),
    ('kw: "null"', {"kw": "null"}, T),
]


@pytest.mark.parametrize(("query", "doc", "expected"), ROWS,
                         ids=[f"{i}:{q}" for i, (q, _, _) in enumerate(ROWS)])
def test_matcher_table(query: str, doc: dict[str, Any], expected: bool | type[Exception]) -> None:
    node = parse(query)
    if expected is ERROR:
        with pytest.raises((KqlTypeError, KqlTranslationError)) as info:
            compile_query(node, SCHEMA, now=NOW)
        assert info.value.hint
        return
    matcher = compile_query(node, SCHEMA, now=NOW)
    assert matcher(doc) is expected


def test_table_is_large_enough() -> None:
    assert len(ROWS) >= 80


@pytest.mark.parametrize(("query", "doc", "expected"), [
    ("event.action: disablekey", {"event": {"action": "DisableKey"}}, True),
    ('event.action: "disable key"', {"event": {"action": "Disable Key"}}, True),
    ("event.action: Disable*", {"event": {"action": "DisableKey"}}, True),
    ("event.action: *Key", {"event": {"action": "Disable Key"}}, True),
    ("count >= 3", {"count": 4}, True),
    ("count: x", {"count": 4}, False),
])
def test_without_schema_fields_are_dynamically_mapped(query: str, doc: dict[str, Any],
                                                      expected: bool) -> None:
    assert compile_query(parse(query), None, now=NOW)(doc) is expected


@pytest.mark.parametrize(("query", "doc", "expected"), [
    ("unk: Hello", {"unk": "hello world"}, False),
    ('unk: "hello world"', {"unk": "hello world"}, True),
    ("unk: hello*", {"unk": "hello world"}, True),
    ("unk: hello*", {"unk": "x" * 1025}, False),
])
def test_keyword_dynamic_policy(query: str, doc: dict[str, Any], expected: bool) -> None:
    assert compile_query(parse(query), SCHEMA, dynamic="keyword")(doc) is expected


def _v(text: str, quoted: bool = False, wildcard: tuple[str, ...] | None = None) -> Value:
    return Value(text, quoted, wildcard, Span(0, len(text)))


S = Span(0, 1)


@pytest.mark.parametrize(("node", "doc", "expected"), [
    (Is("kw", _v("a"), S), {"kw": "a"}, True),
    (Is("kw", _v("a*b", wildcard=("a", "b")), S), {"kw": "a-b"}, True),
    (Is("kw", _v("*", wildcard=("", "")), S), {"kw": "x"}, True),
    (Is("kw", _v("**", wildcard=("", "", "")), S), {"kw": "x"}, True),
    (Exists("kw", S), {}, False),
    (Range("n", ">", _v("3"), S), {"n": 4}, True),
    (Not(Or((Is("kw", _v("a"), S), Is("kw", _v("b"), S)), S), S), {"kw": "b"}, False),
    (And((Is("kw", _v("a"), S), Range("n", "<=", _v("4"), S)), S), {"kw": "a", "n": 4}, True),
    (Nested("res", And((Is("arn", _v("x"), S), Is("type", _v("K"), S)), S), S),
     {"res": [{"arn": "x", "type": "K"}]}, True),
    (Range("kw", "<", _v("null"), S), {"kw": "zzz"}, True),
])
def test_ast_nodes_directly(node: Any, doc: dict[str, Any], expected: bool) -> None:
    assert compile_query(node, SCHEMA, now=NOW)(doc) is expected


def test_type_error_carries_field_span_and_hint() -> None:
    node = parse("kw: a and ip: not-an-ip")
    with pytest.raises(KqlTypeError) as info:
        compile_query(node, SCHEMA)
    error = info.value
    assert error.field == "ip"
    assert error.span is not None and error.span.start == 10
    assert "IP" in error.message and error.hint


@pytest.mark.parametrize("query", ["res.arn: x", "kw: a and not res.type: K"])
def test_queries_kibana_refuses_to_translate_raise(query: str) -> None:
    with pytest.raises(KqlTranslationError):
        compile_query(parse(query), SCHEMA)


def test_wildcard_field_name_skips_fields_that_reject_the_value() -> None:
    schema = FieldSchema.from_types({"x.ip": "ip", "x.kw": "keyword"})
    matcher = compile_query(parse("x.*: abc"), schema)
    assert matcher({"x": {"kw": "abc", "ip": "10.0.0.1"}})
    assert not matcher({"x": {"ip": "10.0.0.1"}})


def test_now_defaults_to_the_current_time() -> None:
    schema = FieldSchema.from_types({"ts": "date"})
    matcher = compile_query(parse("ts >= now-1h"), schema)
    assert matcher({"ts": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")})
    assert not matcher({"ts": "2000-01-01T00:00:00Z"})


# ------------------------------------------------------------------ FieldPath


@pytest.mark.parametrize(("doc", "expected"), [
    ({"a": {"b": {"c": 1}}}, [1]),
    ({"a.b.c": 1}, [1]),
    ({"a": {"b.c": 1}, "a.b": {"c": 2}}, [1, 2]),
    ({"a": [{"b": {"c": [1, None, [2]]}}, {"b": None}]}, [1, 2]),
    ({"a": {"b": {"c": {"d": 1}}}}, [{"d": 1}]),
    ({"a": {"b": "x"}}, []),
])
def test_field_path_reads_every_spelling(doc: dict[str, Any], expected: list[Any]) -> None:
    assert FieldPath("a.b.c").values(doc) == expected


def test_field_path_leaves_include_dotted_keys_below() -> None:
    doc = {"a": {"b.c": 1, "b": {"d": [2, None]}}, "a.b.e": 3, "ab": 4}
    assert sorted(FieldPath("a.b").leaves(doc)) == [1, 2, 3]


# ------------------------------------------------------------------ analysis


@pytest.mark.parametrize(("text", "tokens"), [
    ("aws-cli/2.14.5 Python/3.11.6", ("aws", "cli", "2.14.5", "python", "3.11.6")),
    ("kms.amazonaws.com", ("kms.amazonaws.com",)),
    ("arn:aws:iam::123456789012:user/Alice", ("arn:aws:iam", "123456789012", "user", "alice")),
    ("Don't stop", ("don't", "stop")),
    ("1,000.5 and 1.2.3", ("1,000.5", "and", "1.2.3")),
    ("a.1 e.g., x86_64", ("a", "1", "e.g", "x86_64")),
    ("AWS Internal", ("aws", "internal")),
    ("中文 カタカナ", ("中", "文", "カタカナ")),
    ("--- ___ ...", ()),
    ("café NAÏVE", ("café", "naïve")),
])
def test_standard_analyzer(text: str, tokens: tuple[str, ...]) -> None:
    assert analyze(text) == tokens


def test_long_tokens_are_split_at_255_characters() -> None:
    assert [len(t) for t in analyze("a" * 600)] == [255, 255, 90]


# ------------------------------------------------------------------ many rules, explain


def test_matcher_set_agrees_with_single_queries() -> None:
    queries = [
        "kw: a and n: 1",
        "kw: (a or b)",
        "kw: b or n: 2",
        "not kw: a",
        "res: { arn: x }",
        "kw: c* and ck: aws.cloudtrail",
        "kw: a and kw: b",
        "txt: hello",
    ]
    nodes = [parse(q) for q in queries]
    matcher_set = compile_many(nodes, SCHEMA)
    singles = [compile_query(n, SCHEMA) for n in nodes]
    docs = [{}, {"kw": "a", "n": 1}, {"kw": ["a", "b"]}, {"kw": "b", "n": 2},
            {"kw": "cat", "res": [{"arn": "x"}]}, {"txt": "Hello"}, {"kw": 5, "n": "2"}]
    for doc in docs:
        expected = [i for i, m in enumerate(singles) if m(doc)]
        assert matcher_set.matches(doc) == expected, doc
    assert len(matcher_set) == len(queries)


def test_explain_marks_each_leaf_clause() -> None:
    node = parse("kw: a and not n: 1 and (ip: 10.0.0.0/8 or txt: hello)")
    result = explain(node, SCHEMA, {"kw": "a", "n": 1, "txt": "Hello there"})
    assert not result.matched
    leaves = [(str(leaf.node.field), leaf.matched) for leaf in result.leaves()]
    assert leaves == [("kw", True), ("n", True), ("ip", False), ("txt", True)]
    lines = list(result)
    assert lines[0] == "[ ] and"
    assert '  [x] kw: a    (document: "a")' in lines
    assert "  [ ] not" in lines
    assert "    [ ] ip: 10.0.0.0/8    (document: missing)" in lines


def test_explain_inside_nested_shows_the_closest_element() -> None:
    node = parse("res: { arn: x and type: K }")
    result = explain(node, SCHEMA, {"res": [{"arn": "y"}, {"arn": "x", "type": "A"}]})
    assert not result.matched
    assert [leaf.matched for leaf in result.leaves()] == [True, False]
