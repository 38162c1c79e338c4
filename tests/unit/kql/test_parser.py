"""The parser accepts what Kibana's grammar accepts and builds the tree Kibana builds."""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.kql.ast import And, Exists, Is, MatchAll, Nested, Node, Not, Or, Range, Span, walk
from kmsdet.kql.parser import parse


def shape(node: Node) -> Any:
    """``f: a`` -> ``("is", "f", "a")``; extra flags appear only when they are set."""
    if isinstance(node, Is):
        out: tuple[Any, ...] = ("is", node.field, node.value.text)
        if node.value.quoted:
            out += ("quoted",)
        if node.value.wildcard is not None:
            out += (("wild",) + node.value.wildcard,)
        if node.field_wildcard:
            out += ("field*",)
        return out
    if isinstance(node, Exists):
        return ("exists", node.field) + (("field*",) if node.field_wildcard else ())
    if isinstance(node, Range):
        out = ("range", node.field, node.op, node.value.text)
        if node.value.quoted:
            out += ("quoted",)
        return out
    if isinstance(node, Nested):
        return ("nested", node.path, shape(node.query))
    if isinstance(node, And):
        return ("and",) + tuple(shape(i) for i in node.items)
    if isinstance(node, Or):
        return ("or",) + tuple(shape(i) for i in node.items)
    if isinstance(node, Not):
        return ("not", shape(node.item))
    if isinstance(node, MatchAll):
        return ("all",)
    raise TypeError(node)

A = ("is", None, "a")

# query -> span-free tree (see shapes.shape)
CASES: list[tuple[str, object]] = [
    # empty queries
    ("", ("all",)),
    ("  \t\n", ("all",)),
    # field: value, quoting, whitespace inside unquoted values
    ("event.action: ConsoleLogin", ("is", "event.action", "ConsoleLogin")),
    ("event.action:ConsoleLogin", ("is", "event.action", "ConsoleLogin")),
    ("event.action : ConsoleLogin", ("is", "event.action", "ConsoleLogin")),
    ('event.action: "Console Login"', ("is", "event.action", "Console Login", "quoted")),
    ("f: foo bar  ", ("is", "f", "foo bar")),
    ("f: a and", ("is", "f", "a and")),
    ("f: (a or)", ("is", "f", "a or")),
    ("not", ("is", None, "not")),
    ("a oregon", ("is", None, "a oregon")),
    ("brand: new", ("is", "brand", "new")),
    ("f: 400", ("is", "f", "400")),
    ("f: true", ("is", "f", "true")),
    ('f: "true"', ("is", "f", "true", "quoted")),
    ("@timestamp: 2024-01-01T00\\:00\\:00Z", ("is", "@timestamp", "2024-01-01T00:00:00Z")),
    ('"user name": x', ("is", "user name", "x")),
    ("user name: x", ("is", "user name", "x")),
    ("f: a=b&c", ("is", "f", "a=b&c")),
    # escapes outside quotes, in the grammar's order (\n wins over \not)
    (r"f: a\(b\)\:\<\>\"\*\{\}\\", ("is", "f", 'a(b):<>"*{}\\')),
    (r"f: \and \or \NOT", ("is", "f", "and or NOT")),
    (r"f: \not", ("is", "f", "ot")),
    (r"f: a\tb\rc\nd", ("is", "f", "a\tb\rc\nd")),
    (r"f: a\u0041\u00e9", ("is", "f", "aAé")),
    (r"f: x\t", ("is", "f", "x")),
    (r"f: \uD83D\uDE00*", ("is", "f", "\U0001f600*", ("wild", "\U0001f600", ""))),
    (r'f: "\ud83d\ude00"', ("is", "f", "\U0001f600", "quoted")),
    # escapes inside quotes: only \" \\ \t \r \n \uXXXX; any other backslash is literal
    (r'f: "a\"b\\c"', ("is", "f", 'a"b\\c', "quoted")),
    (r'f: "C:\Windows\b"', ("is", "f", "C:\\Windows\\b", "quoted")),
    (r'f: "\u0041\n"', ("is", "f", "A\n", "quoted")),
    ('f: "a or b and not c"', ("is", "f", "a or b and not c", "quoted")),
    ('f: "(x): {y}"', ("is", "f", "(x): {y}", "quoted")),
    # wildcards
    ("user.name: admin*", ("is", "user.name", "admin*", ("wild", "admin", ""))),
    ("f: *a*b", ("is", "f", "*a*b", ("wild", "", "a", "b"))),
    ("f: *S3 Browser*", ("is", "f", "*S3 Browser*", ("wild", "", "S3 Browser", ""))),
    (r"f: a\*b*", ("is", "f", "a*b*", ("wild", "a*b", ""))),
    (r"f: a\*b", ("is", "f", "a*b")),
    ('f: "*"', ("is", "f", "*", "quoted")),
    ("f: **", ("is", "f", "**", ("wild", "", "", ""))),
    (r"file.path: C\:\\Windows\\*",
     ("is", "file.path", "C:\\Windows\\*", ("wild", "C:\\Windows\\", ""))),
    # exists and match-all
    ("source.ip: *", ("exists", "source.ip")),
    ("source.ip:*", ("exists", "source.ip")),
    ("*: *", ("exists", "*", "field*")),
    ("user.*: *", ("exists", "user.*", "field*")),
    ("*", ("is", None, "*", ("wild", "", ""))),
    ("null: *", ("is", None, "*", ("wild", "", ""))),
    # field names
    ("user.*: x", ("is", "user.*", "x", "field*")),
    (r"a\*b: x", ("is", "a*b", "x")),
    ("null: foo", ("is", None, "foo")),
    ('"null": foo', ("is", "null", "foo")),
    ("true: foo", ("is", "true", "foo")),
    # free text
    ("mimikatz", ("is", None, "mimikatz")),
    ('"mimi katz"', ("is", None, "mimi katz", "quoted")),
    ("mimi katz", ("is", None, "mimi katz")),
    # boolean operators, precedence or < and < not < parens, keywords in any case
    ("a or b", ("or", A, ("is", None, "b"))),
    ("a OR b Or c", ("or", A, ("is", None, "b"), ("is", None, "c"))),
    ("a and b", ("and", A, ("is", None, "b"))),
    ("a AND b", ("and", A, ("is", None, "b"))),
    ("not a", ("not", A)),
    ("NOT a", ("not", A)),
    ("not\ta", ("not", A)),
    ("a or b and c", ("or", A, ("and", ("is", None, "b"), ("is", None, "c")))),
    ("a and b or c", ("or", ("and", A, ("is", None, "b")), ("is", None, "c"))),
    ("not a and b", ("and", ("not", A), ("is", None, "b"))),
    ("not (a and b)", ("not", ("and", A, ("is", None, "b")))),
    ("(a or b) and c", ("and", ("or", A, ("is", None, "b")), ("is", None, "c"))),
    ("(a or b) or c", ("or", ("or", A, ("is", None, "b")), ("is", None, "c"))),
    ("( a )", A),
    ("((a))", A),
    ("a\nand\nb", ("and", A, ("is", None, "b"))),
    ("a\xa0or\xa0b", ("or", A, ("is", None, "b"))),
    ("a and or b", ("and", A, ("is", None, "or b"))),
    ("  a  ", A),
    # value lists desugar into Is nodes exactly as Kibana does
    ("f: (a or b)", ("or", ("is", "f", "a"), ("is", "f", "b"))),
    ("f: (a and b)", ("and", ("is", "f", "a"), ("is", "f", "b"))),
    ("f: (not a)", ("not", ("is", "f", "a"))),
    ("f: (a)", ("is", "f", "a")),
    ("f: (a or b and c)", ("or", ("is", "f", "a"), ("and", ("is", "f", "b"), ("is", "f", "c")))),
    ("f: ((a or b) and not c)",
     ("and", ("or", ("is", "f", "a"), ("is", "f", "b")), ("not", ("is", "f", "c")))),
    ('f: ("x y" or z*)',
     ("or", ("is", "f", "x y", "quoted"), ("is", "f", "z*", ("wild", "z", "")))),
    ("f: (a or *)", ("or", ("is", "f", "a"), ("exists", "f"))),
    ("null: (a or b)", ("or", ("is", None, "a"), ("is", None, "b"))),
    ("f.*: (a or b)", ("or", ("is", "f.*", "a", "field*"), ("is", "f.*", "b", "field*"))),
    # ranges
    ("f < 5", ("range", "f", "<", "5")),
    ("f<=5", ("range", "f", "<=", "5")),
    ("f > 5", ("range", "f", ">", "5")),
    ("f >= 5", ("range", "f", ">=", "5")),
    ('@timestamp < "2024-01-01"', ("range", "@timestamp", "<", "2024-01-01", "quoted")),
    ("f >= 1 and f < 9", ("and", ("range", "f", ">=", "1"), ("range", "f", "<", "9"))),
    # nested queries
    ("p: { a: 1 }", ("nested", "p", ("is", "a", "1"))),
    ("p:{a: 1 and b: (x or y)}",
     ("nested", "p", ("and", ("is", "a", "1"), ("or", ("is", "b", "x"), ("is", "b", "y"))))),
    ("p: { q: { a: * } }", ("nested", "p", ("nested", "q", ("exists", "a")))),
    ("not p: { a: 1 } or b: 2",
     ("or", ("not", ("nested", "p", ("is", "a", "1"))), ("is", "b", "2"))),
    # a realistic rule query
    ('data_stream.dataset: "aws.cloudtrail"\n    and event.provider: "kms.amazonaws.com"\n'
     '    and event.action: ("DisableKey" or "ScheduleKeyDeletion")',
     ("and", ("is", "data_stream.dataset", "aws.cloudtrail", "quoted"),
      ("is", "event.provider", "kms.amazonaws.com", "quoted"),
      ("or", ("is", "event.action", "DisableKey", "quoted"),
       ("is", "event.action", "ScheduleKeyDeletion", "quoted")))),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[repr(q) for q, _ in CASES])
def test_parse_shape(query: str, expected: object) -> None:
    assert shape(parse(query)) == expected


SPAN_CASES: list[tuple[str, type, str]] = [
    # query, node type picked (first of that type in walk order), text its span covers
    ("event.action: ConsoleLogin", Is, "event.action: ConsoleLogin"),
    ("f: foo bar  ", Is, "f: foo bar"),
    ("f: (a or b) and g: x", Or, "f: (a or b)"),
    ("f: (a or b) and g: x", And, "f: (a or b) and g: x"),
    ("x or not (a and b)", Not, "not (a and b)"),
    ("f >= 400", Range, "f >= 400"),
    ("p: { a: 1 }", Nested, "p: { a: 1 }"),
]


@pytest.mark.parametrize(("query", "kind", "covered"), SPAN_CASES)
def test_spans_cover_the_source_text(query: str, kind: type, covered: str) -> None:
    node = next(n for n in walk(parse(query)) if isinstance(n, kind))
    assert query[node.span.start:node.span.end] == covered


def test_list_items_and_values_point_at_the_value() -> None:
    query = 'event.action: ("DisableKey" or Other)'
    node = parse(query)
    assert isinstance(node, Or)
    first, second = node.items
    assert isinstance(first, Is) and isinstance(second, Is)
    assert query[first.span.start:first.span.end] == '"DisableKey"'
    assert query[first.value.span.start:first.value.span.end] == '"DisableKey"'
    assert second.value.span == Span(31, 36)


def test_every_span_lies_inside_the_query() -> None:
    query = "a: (x or y) and not b: { c >= 1 or d: * } or e*: \"q\" and f"
    for node in walk(parse(query)):
        assert 0 <= node.span.start <= node.span.end <= len(query)
