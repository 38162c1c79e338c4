"""Queries Kibana refuses raise KqlSyntaxError at the position Kibana's parser stops, except a
'(' that nothing closes: that error points at the parenthesis itself."""

from __future__ import annotations

import pytest

from kmsdet.errors import InputError
from kmsdet.kql.errors import KqlSyntaxError, query_position
from kmsdet.kql.parser import MAX_DEPTH, parse

# query, offset of the error, what was expected there
CASES: list[tuple[str, int, list[str]]] = [
    ("f: ", 3, ["a value", "'('", "'{'"]),
    ("f:", 2, ["a value", "'('", "'{'"]),
    ("f: (a or b", 3, ["')'"]),
    ("(a or b", 0, ["')'"]),
    ("x and (f: (a or b) or c: d", 6, ["')'"]),
    ("p: { a: 1", 9, ["'}'", "'and'", "'or'"]),
    ("a and (b or )", 12, ["a field name", "a value", "'('", "'not'"]),
    ("a or (", 6, ["a field name", "a value", "'('", "'not'"]),
    ("()", 1, ["a field name", "a value", "'('", "'not'"]),
    ("f: ()", 4, ["a value", "'('", "'not'"]),
    ("p: {}", 4, ["a field name", "a value", "'('", "'not'"]),
    (")", 0, ["a field name", "a value", "'('", "'not'"]),
    ("a)", 1, ["'and'", "'or'", "end of query"]),
    ("a: b c: d", 6, ["'and'", "'or'", "end of query"]),
    ("f: cannot login", 6, ["'and'", "'or'", "end of query"]),
    ("not not a", 4, ["a field name", "a value", "'('"]),
    ("f: (not not a)", 8, ["a value", "'('"]),
    ("not(a)", 3, ["'and'", "'or'", "end of query"]),
    ("a and(b)", 5, ["'and'", "'or'", "end of query"]),
    ("f: not a", 3, ["a value", "'('", "'{'"]),
    (r"f: a\b", 4, ["'and'", "'or'", "end of query"]),
    (r"f: \u12", 3, ["a value", "'('", "'{'"]),
    ("f < ", 4, ["a value"]),
    ("f >= (1)", 5, ["a value"]),
    ("f: a:b", 4, ["'and'", "'or'", "end of query"]),
    ('f: ab"c"', 5, ["'and'", "'or'", "end of query"]),
    ("f: a }", 5, ["'and'", "'or'", "end of query"]),
    ("f: (a b) c)", 9, ["'and'", "'or'", "end of query"]),
    ('f: "abc', 7, ["'\"'"]),
    ('f: "abc\\"', 9, ["'\"'"]),
    ('"', 1, ["'\"'"]),
]


@pytest.mark.parametrize(("query", "offset", "expected"), CASES,
                         ids=[repr(q) for q, _, _ in CASES])
def test_syntax_error_position_and_expectations(query: str, offset: int,
                                                expected: list[str]) -> None:
    with pytest.raises(KqlSyntaxError) as info:
        parse(query)
    err = info.value
    assert (err.offset, err.expected) == (offset, expected)
    assert (err.query_line, err.query_column) == query_position(offset, query)


def test_message_names_expected_and_found() -> None:
    with pytest.raises(KqlSyntaxError) as info:
        parse("event.action: (a or b) and (c")
    assert info.value.message == "this '(' is never closed: expected ')' before the end of " \
        "the query"
    with pytest.raises(KqlSyntaxError) as info:
        parse("event.action: (a or b:c)")
    assert info.value.message == "expected ')', 'and' or 'or' but found ':'"


def test_unclosed_parenthesis_points_at_it_not_at_the_next_clause() -> None:
    query = 'event.provider: kms\nand event.outcome: (success\nand user.name: alice\n'
    with pytest.raises(KqlSyntaxError) as info:
        parse(query)
    err = info.value
    assert (err.query_line, err.query_column) == (2, 20)
    assert "never closed" in err.message
    assert err.hint is not None and "escape" not in err.hint and "line 2, column 20" in err.hint


def test_a_colon_inside_a_closed_group_still_gets_the_escape_hint() -> None:
    with pytest.raises(KqlSyntaxError) as info:
        parse("f: (a:b)")
    assert info.value.hint is not None and "escape" in info.value.hint
    with pytest.raises(KqlSyntaxError) as info:
        parse("a: b c: d")
    assert info.value.message == "expected 'and', 'or' or end of query but found ':'"
    assert info.value.found == "':'"


def test_is_an_input_error_with_query_field() -> None:
    with pytest.raises(InputError) as info:
        parse("f:")
    assert info.value.field == "query"
    assert info.value.exit_code == 2


HINTS: list[tuple[str, str]] = [
    (r"f: a\b", "backslash"),
    ("not(a)", "whitespace around them"),
    ("a: b c: d", "escape it as \\:"),
    ("f: cannot login", "double quotes"),
    ('f: "abc', "line 1, column 4"),
    ("f: not a", "(not value)"),
]


@pytest.mark.parametrize(("query", "fragment"), HINTS)
def test_hints_name_the_likely_cause(query: str, fragment: str) -> None:
    with pytest.raises(KqlSyntaxError) as info:
        parse(query)
    assert fragment in (info.value.hint or "")


@pytest.mark.parametrize(("offset", "query", "expected"), [
    (0, "abc", (1, 1)),
    (2, "abc", (1, 3)),
    (3, "abc", (1, 4)),
    (4, "ab\ncd", (2, 2)),
    (3, "ab\ncd", (2, 1)),
    (2, "ab\ncd", (1, 3)),
    (99, "ab\ncd", (2, 3)),
])
def test_query_position(offset: int, query: str, expected: tuple[int, int]) -> None:
    assert query_position(offset, query) == expected


def test_caret_points_at_the_offending_character_on_its_line() -> None:
    query = 'a: "x"\n\tand b: (c or d:e)'
    with pytest.raises(KqlSyntaxError) as info:
        parse(query)
    err = info.value
    assert (err.query_line, err.query_column) == (2, 16)
    assert err.render_caret() == "    \tand b: (c or d:e)\n    \t" + " " * 14 + "^"
    rendered = err.render()
    assert rendered.startswith("2:16 [query]: expected ')'")
    assert err.render_caret() in rendered


def test_caret_excerpt_of_a_long_line_is_cut_around_the_error() -> None:
    query = "a: " + "x" * 300 + ")"
    with pytest.raises(KqlSyntaxError) as info:
        parse(query)
    line, caret = info.value.render_caret().splitlines()
    assert line.strip().startswith("...") and line.endswith(")")
    assert len(line) < 120
    assert line[caret.index("^")] == ")"


def test_in_file_translates_to_file_coordinates() -> None:
    query = "a: x\nand b: (c:)"
    with pytest.raises(KqlSyntaxError) as info:
        parse(query)
    located = info.value.in_file("rules/r.toml", first_line=12, first_column=10)
    assert (located.file, located.line, located.column) == ("rules/r.toml", 13, 10)
    assert located.offset == info.value.offset
    with pytest.raises(KqlSyntaxError) as info:
        parse("a: (b:)")
    located = info.value.in_file("rules/r.toml", first_line=12, first_column=10)
    assert (located.line, located.column) == (12, 15)
    assert located.render().startswith("rules/r.toml:12:15 [query]: expected")


def test_depth_limit_is_a_syntax_error_not_a_recursion_error() -> None:
    deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(KqlSyntaxError) as info:
        parse(deep)
    assert "deeper" in info.value.message
    ok = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(ok) is not None
    with pytest.raises(KqlSyntaxError):
        parse("f: " + "(" * 5000 + "a")
