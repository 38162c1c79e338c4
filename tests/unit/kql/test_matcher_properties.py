"""Property tests: the compiled matcher agrees with a small, obviously-correct reference.

The reference below reads the *logical* document the strategy generated (field -> values), not
the JSON rendering, and implements Kibana+Elasticsearch semantics only for the narrow value
vocabulary of ``strategies.py``. It shares no code with ``kmsdet.kql.matcher``.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsdet.fields.schema import FieldInfo, FieldSchema
from kmsdet.kql.analysis import analyze
from kmsdet.kql.ast import And, Exists, Is, Nested, Node, Not, Or, Range, Value
from kmsdet.kql.matcher import compile_many, compile_query
from tests.unit.kql import strategies as gen

SCHEMA = FieldSchema({
    name: FieldInfo(name, type_, value=gen.CONSTANT if type_ == "constant_keyword" else None)
    for name, type_ in gen.field_types().items()
})
TYPES = gen.field_types()
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ reference semantics


def _kw(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in re.findall(r"\w+(?:\.\w+)*", text)]


def _pattern(pieces: tuple[str, ...], lower: bool = False) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p.lower() if lower else p) for p in pieces), re.S)


def _ip_key(text: str) -> int:
    addr = ipaddress.ip_address(text)
    return (0xFFFF << 32 | int(addr)) if addr.version == 4 else int(addr)


def _ip_bounds(text: str) -> tuple[int, int]:
    if "/" not in text:
        return _ip_key(text), _ip_key(text)
    net = ipaddress.ip_network(text)
    return _ip_key(str(net.network_address)), _ip_key(str(net.broadcast_address))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _doc_date(value: Any) -> int:
    if isinstance(value, int):
        return value
    return _ms(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _date_bounds(text: str) -> tuple[int, int]:
    """(rounded-down, rounded-up) instants: missing time parts fill with 0 or the maximum."""
    if "T" not in text:
        start = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        return _ms(start), _ms(start + timedelta(days=1)) - 1
    moment = _ms(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return moment, moment + (0 if "." in text else 999)


def _doc_bool(value: Any) -> bool:
    return value in (True, "true")


def _convert(type_: str, values: list[Any]) -> list[Any]:
    if type_ == "constant_keyword":
        return [gen.CONSTANT]
    if type_ == "keyword":
        return [_kw(v) for v in values]
    if type_ == "text":
        return [_tokens(v) for v in values]
    if type_ == "long":
        return [int(v) for v in values]
    if type_ == "double":
        return [float(v) for v in values]
    if type_ == "ip":
        return [_ip_key(v) for v in values]
    if type_ == "date":
        return [_doc_date(v) for v in values]
    if type_ == "boolean":
        return [_doc_bool(v) for v in values]
    raise ValueError(type_)


def _query_scalar(type_: str, text: str) -> Any:
    if type_ in ("keyword", "constant_keyword"):
        return text
    if type_ == "long":
        return float(text)
    if type_ == "double":
        return float(text)
    if type_ == "ip":
        return _ip_key(text)
    if type_ == "boolean":
        return text == "true"
    raise ValueError(type_)


def _is(type_: str, value: Value, docs: list[Any]) -> bool:
    if type_ == "text":
        if value.wildcard is not None:
            pattern = _pattern(value.wildcard, lower=True)
            return any(pattern.fullmatch(t) for tokens in docs for t in tokens)
        wanted = _tokens(value.text)
        if not value.quoted:
            return any(set(wanted) & set(tokens) for tokens in docs)
        size = len(wanted)
        return any(tokens[i:i + size] == wanted
                   for tokens in docs for i in range(len(tokens) - size + 1))
    if value.wildcard is not None:
        pattern = _pattern(value.wildcard)
        return any(pattern.fullmatch(v) for v in docs)
    if type_ == "date":
        low, high = _date_bounds(value.text)
        return any(low <= v <= high for v in docs)
    if type_ == "ip":
        low, high = _ip_bounds(value.text)
        return any(low <= v <= high for v in docs)
    wanted = _query_scalar(type_, value.text)
    return any(v == wanted for v in docs)


def _range(type_: str, op: str, text: str, docs: list[Any]) -> bool:
    if type_ == "date":
        low, high = _date_bounds(text)
        tests = {">=": lambda v: v >= low, ">": lambda v: v > high,
                 "<": lambda v: v < low, "<=": lambda v: v <= high}
        return any(tests[op](v) for v in docs)
    bound = _query_scalar(type_, text)
    tests = {">=": lambda v: v >= bound, ">": lambda v: v > bound,
             "<": lambda v: v < bound, "<=": lambda v: v <= bound}
    return any(tests[op](v) for v in docs)


def reference(node: Node, logical: dict[str, list[Any]], elements: list[dict[str, list[Any]]],
              prefix: str = "") -> bool:
    if isinstance(node, And):
        return all(reference(i, logical, elements, prefix) for i in node.items)
    if isinstance(node, Or):
        return any(reference(i, logical, elements, prefix) for i in node.items)
    if isinstance(node, Not):
        return not reference(node.item, logical, elements, prefix)
    if isinstance(node, Nested):
        return any(reference(node.query, e, [], prefix + node.path + ".") for e in elements)
    assert isinstance(node, (Is, Exists, Range)) and node.field is not None
    type_ = TYPES[prefix + node.field]
    docs = _convert(type_, logical.get(node.field, []))
    if isinstance(node, Exists):
        return bool(docs)
    if isinstance(node, Range):
        return _range(type_, node.op, node.value.text, docs)
    return _is(type_, node.value, docs)


# ------------------------------------------------------------------ properties


def _agrees(case: tuple[gen.GeneratedQuery, gen.GeneratedDoc]) -> None:
    query, doc = case
    expected = reference(query.node, doc.logical, doc.elements)
    assert compile_query(query.node, SCHEMA)(doc.source) is expected, (query.text, doc.source)


@SETTINGS
@given(gen.cases())
def test_matcher_agrees_with_reference(case: tuple[gen.GeneratedQuery, gen.GeneratedDoc]) -> None:
    _agrees(case)


@pytest.mark.parametrize("field", gen.TOP_FIELDS)
def test_matcher_agrees_with_reference_per_field(field: str) -> None:
    """Each field type gets its own run, so rarely drawn types are exercised as much."""
    @settings(SETTINGS, max_examples=50)
    @given(gen.cases(4, [field]))
    def run(case: tuple[gen.GeneratedQuery, gen.GeneratedDoc]) -> None:
        _agrees(case)

    run()


@settings(max_examples=100, deadline=None)
@given(gen.queries())
def test_generated_text_parses_to_the_generated_tree(query: gen.GeneratedQuery) -> None:
    from kmsdet.kql.parser import parse

    assert _normal(gen.strip_spans(parse(query.text))) == _normal(query.node), query.text


def _normal(node: Node) -> Node:
    """Flatten nested and/or of the same kind: the parser may or may not keep that nesting."""
    if isinstance(node, (And, Or)):
        items: list[Node] = []
        for item in node.items:
            item = _normal(item)
            if type(item) is type(node):
                items.extend(item.items)  # type: ignore[union-attr]
            else:
                items.append(item)
        return type(node)(tuple(items), gen.NOWHERE)
    if isinstance(node, Not):
        return Not(_normal(node.item), gen.NOWHERE)
    if isinstance(node, Nested):
        return Nested(node.path, _normal(node.query), gen.NOWHERE)
    return node


@settings(max_examples=60, deadline=None)
@given(st.lists(gen.query_nodes(4), min_size=1, max_size=8), st.lists(gen.documents(),
                                                                       max_size=6))
def test_matcher_set_equals_each_query_alone(nodes: list[Node],
                                             docs: list[gen.GeneratedDoc]) -> None:
    matcher_set = compile_many(nodes, SCHEMA)
    singles = [compile_query(n, SCHEMA) for n in nodes]
    for doc in docs:
        assert matcher_set.matches(doc.source) == [
            i for i, m in enumerate(singles) if m(doc.source)]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_analyzer_tokens_are_lowercase_pieces_of_the_text(text: str) -> None:
    lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    for token in analyze(text):
        assert token and token in lowered
