"""Property tests: any text parses or raises KqlSyntaxError, and generated queries round-trip."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsdet.kql.ast import walk
from kmsdet.kql.dsl import to_dsl
from kmsdet.kql.errors import KqlSyntaxError, KqlTranslationError
from kmsdet.kql.parser import parse
from tests.unit.kql.test_dsl import SCHEMA
from tests.unit.kql.test_parser import CASES, shape

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEEDS = [query for query, _ in CASES] + [
    'a: (x or "y z") and not b: { c >= 1 or d: * } or e*: "q\\"" and \\not',
    r"file.path: C\:\\Windows\\* and process.args: (\-enc or -e\*)",
]
# Characters that matter to the grammar, plus ordinary and awkward ones.
ALPHABET = st.sampled_from(list(' \t\n\xa0():<>"*{}\\=.-_/?') + list("aAnNdDoOrRtTuU0f9")
                           + ["\u2003", "\ufeff", "é", "\U0001f600", "\x00"])
KQLISH = st.lists(ALPHABET, max_size=40).map("".join)


def check_outcome(query: str) -> None:
    """parse either succeeds with in-bounds spans and translatable DSL, or raises the error."""
    try:
        node = parse(query)
    except KqlSyntaxError as exc:
        assert 0 <= exc.offset <= len(query)
        assert exc.message and exc.render()
        return
    for child in walk(node):
        assert 0 <= child.span.start <= child.span.end <= len(query)
    for schema in (None, SCHEMA):
        try:
            json.dumps(to_dsl(node, schema))
        except KqlTranslationError:
            assert schema is SCHEMA


@FUZZ
@given(KQLISH)
def test_random_text_parses_or_raises_syntax_error(query: str) -> None:
    check_outcome(query)


@FUZZ
@given(st.text(max_size=60))
def test_arbitrary_unicode_parses_or_raises_syntax_error(query: str) -> None:
    check_outcome(query)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert" or not text:
            text.insert(pos, draw(ALPHABET))
        elif op == "delete":
            del text[min(pos, len(text) - 1)]
        else:
            text[min(pos, len(text) - 1)] = draw(ALPHABET)
    return "".join(text)


@FUZZ
@given(mutated())
def test_mutated_queries_parse_or_raise_syntax_error(query: str) -> None:
    check_outcome(query)


# -- generated queries with a known tree --------------------------------------------------

KEYWORDS = {"or", "and", "not", "null", "true", "false"}
WORD = st.from_regex(r"[a-zA-Z0-9_.@-]{1,8}", fullmatch=True).filter(
    lambda w: w.lower() not in KEYWORDS)
FIELD = st.lists(WORD, min_size=1, max_size=3).map(".".join)
QUOTED_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def value(draw: st.DrawFn) -> tuple[str, str, bool]:
    """(KQL text, resolved text, quoted)."""
    if draw(st.booleans()):
        text = draw(QUOTED_TEXT)
        return quote(text), text, True
    words = draw(st.lists(WORD, min_size=1, max_size=3))
    return " ".join(words), " ".join(words), False


@st.composite
def leaf(draw: st.DrawFn) -> tuple[str, Any]:
    field = draw(FIELD)
    kind = draw(st.sampled_from(["is", "list", "range", "exists", "free"]))
    if kind == "list":
        items = draw(st.lists(value(), min_size=2, max_size=3))
        joiner = draw(st.sampled_from(["or", "and"]))
        text = f"{field}: (" + f" {joiner} ".join(v[0] for v in items) + ")"
        return text, (joiner,) + tuple(
            ("is", field, v[1]) + (("quoted",) if v[2] else ()) for v in items)
    if kind == "range":
        op = draw(st.sampled_from(["<", "<=", ">", ">="]))
        raw, text, quoted = draw(value())
        return f"{field} {op} {raw}", ("range", field, op, text) + (("quoted",) if quoted else ())
    if kind == "exists":
        return f"{field}: *", ("exists", field)
    raw, text, quoted = draw(value())
    if kind == "free":
        return raw, ("is", None, text) + (("quoted",) if quoted else ())
    return f"{field}: {raw}", ("is", field, text) + (("quoted",) if quoted else ())


def combine(children: st.SearchStrategy[tuple[str, Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    def build(draw: st.DrawFn) -> tuple[str, Any]:
        kind = draw(st.sampled_from(["and", "or", "not"]))
        if kind == "not":
            text, tree = draw(children)
            return f"not ({text})", ("not", tree)
        parts = draw(st.lists(children, min_size=2, max_size=3))
        keyword = draw(st.sampled_from([kind, kind.upper()]))
        return f" {keyword} ".join(f"({t})" for t, _ in parts), (kind,) + tuple(
            tree for _, tree in parts)

    return st.composite(build)()


QUERIES = st.recursive(leaf(), combine, max_leaves=8)


@FUZZ
@given(QUERIES)
def test_generated_queries_round_trip(case: tuple[str, Any]) -> None:
    text, tree = case
    assert shape(parse(text)) == tree
