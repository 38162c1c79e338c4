"""Hypothesis strategies for KQL cases: a typed mapping, queries (AST and text) and documents.

These are deliberately independent of the matcher: a differential test can index the generated
documents into a real Elasticsearch with ``es_mapping()``, run the query text through Kibana's
translation, and compare with ``kmsdet.kql.matcher``. Every generated document is valid for the
mapping (Elasticsearch would accept it) and every generated query is valid for the field types
(Elasticsearch would run it), so the only source of disagreement is semantics.

Documents are generated in two layers: a *logical* document (field -> list of values, plus the
elements of the nested field) that a reference interpretation can read directly, and a random
*physical* JSON rendering of it (nested objects, dotted keys, arrays, object arrays) that is
what gets matched or indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from kmsdet.kql.ast import And, Exists, Is, Nested, Node, Not, Or, Range, Span, Value

NOWHERE = Span(0, 0)
CONSTANT = "aws.cloudtrail"

# The typed fields queries and documents use; "res" is a nested field with two sub-fields.
FIELD_TYPES: dict[str, str] = {
    "kw": "keyword",
    "txt": "text",
    "num": "long",
    "dbl": "double",
    "addr": "ip",
    "ts": "date",
    "flag": "boolean",
    "ck": "constant_keyword",
    "obj.kw": "keyword",
    "obj.num": "long",
    "res.kw": "keyword",
    "res.num": "long",
}
NESTED_PATH = "res"
TOP_FIELDS = [f for f in FIELD_TYPES if not f.startswith(NESTED_PATH + ".")]
NESTED_FIELDS = [f.split(".", 1)[1] for f in FIELD_TYPES if f.startswith(NESTED_PATH + ".")]

KEYWORDS = ["a", "b", "ab", "Ab", "a b", "DisableKey", "disablekey", "kms.amazonaws.com", "true",
            "1"]
WORDS = ["alpha", "Beta", "gamma", "aws-cli/2.1", "kms.amazonaws.com", "x86_64", "Alpha"]
IPS = ["10.0.0.1", "10.0.0.2", "10.1.0.1", "192.168.1.1", "::1", "2001:db8::1", "2001:db8::2"]
CIDRS = ["10.0.0.0/8", "10.0.0.0/24", "192.168.0.0/16", "2001:db8::/32", "::1/128"]
# Hypothesis draws early entries more often: the most telling values come first.
DATES = [
    "2024-01-01T10:00:00.500Z", "2024-01-01T00:00:00Z", "2024-01-01T23:59:59.999Z",
    "2024-01-02T00:00:00Z", "2023-12-31T23:00:00Z", "2024-01-01T10:00:00Z",
    "2023-12-31T23:00:00.999Z", "2024-01-01T09:59:59.999Z",
]
DATE_QUERIES = ["2024-01-01", "2024-01-01T10:00:00Z", "2024-01-02", "2023-12-31T23:00:00Z"]


def es_mapping() -> dict[str, Any]:
    """The Elasticsearch ``mappings`` body for ``FIELD_TYPES``."""
    properties: dict[str, Any] = {}
    for name, type_ in FIELD_TYPES.items():
        target = properties
        parts = name.split(".")
        for part in parts[:-1]:
            node = target.setdefault(part, {"properties": {}})
            if part == NESTED_PATH:
                node["type"] = "nested"
            target = node["properties"]
        leaf: dict[str, Any] = {"type": type_}
        if type_ == "constant_keyword":
            leaf["value"] = CONSTANT
        target[parts[-1]] = leaf
    return {"dynamic": "strict", "properties": properties}


def field_types() -> dict[str, str]:
    """``FIELD_TYPES`` plus the nested path itself, as ``FieldSchema.from_types`` wants it."""
    return {**FIELD_TYPES, NESTED_PATH: "nested"}


# ------------------------------------------------------------------ queries


@dataclass(frozen=True)
class GeneratedQuery:
    node: Node
    text: str


_SPECIAL = set('\\():<>"*{}')


def _escape_unquoted(text: str) -> str:
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plain(text: str, quoted: bool) -> Value:
    return Value(text, quoted, None, NOWHERE)


def _wild(pieces: tuple[str, ...]) -> Value:
    return Value("*".join(pieces), False, pieces, NOWHERE)


def render_value(value: Value) -> str:
    if value.wildcard is not None:
        return "*".join(_escape_unquoted(p) for p in value.wildcard)
    return _quote(value.text) if value.quoted else _escape_unquoted(value.text)


def render(node: Node) -> str:
    """KQL text for a generated AST (fully parenthesised, so precedence never matters)."""
    if isinstance(node, Is):
        return f"{node.field}: {render_value(node.value)}"
    if isinstance(node, Exists):
        return f"{node.field}: *"
    if isinstance(node, Range):
        return f"{node.field} {node.op} {render_value(node.value)}"
    if isinstance(node, Not):
        return f"not ({render(node.item)})"
    if isinstance(node, (And, Or)):
        joiner = " and " if isinstance(node, And) else " or "
        return joiner.join(f"({render(item)})" for item in node.items)
    if isinstance(node, Nested):
        return f"{node.path}: {{ {render(node.query)} }}"
    raise TypeError(node)


def strip_spans(node: Node) -> Node:
    """The same tree with every span zeroed, for comparing a parsed tree with a generated one."""
    if isinstance(node, (Is, Range)):
        value = replace(node.value, span=NOWHERE)
        return replace(node, value=value, span=NOWHERE)
    if isinstance(node, Exists):
        return replace(node, span=NOWHERE)
    if isinstance(node, Not):
        return Not(strip_spans(node.item), NOWHERE)
    if isinstance(node, (And, Or)):
        return type(node)(tuple(strip_spans(i) for i in node.items), NOWHERE)
    if isinstance(node, Nested):
        return Nested(node.path, strip_spans(node.query), NOWHERE)
    return node


_PIECE = st.text(alphabet="abAB-.", min_size=0, max_size=3)


@st.composite
def _is_value(draw: st.DrawFn, type_: str) -> Value:
    if type_ in ("keyword", "constant_keyword"):
        if draw(st.booleans()):
            pieces = draw(st.lists(_PIECE, min_size=2, max_size=3))
            if tuple(pieces) != ("", ""):
                return _wild(tuple(pieces))
        pool = KEYWORDS + [CONSTANT, "aws.*"] if type_ == "constant_keyword" else KEYWORDS
        text = draw(st.sampled_from(pool))
        if text.endswith("*"):
            return _wild((text[:-1], ""))
        return _plain(text, draw(st.booleans()) or " " in text)
    if type_ == "text":
        if draw(st.integers(0, 4)) == 0:
            stem = draw(st.sampled_from(["alph", "Gam", "x86", "kms"]))
            return _wild((stem, ""))
        words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2))
        return _plain(" ".join(words), draw(st.booleans()))
    if type_ in ("long", "double"):
        numbers = ["-1", "0", "1", "2", "3", "2.5"] if type_ == "double" else ["-1", "0", "1", "2"]
        return _plain(draw(st.sampled_from(numbers)), False)
    if type_ == "ip":
        pool = [x for pair in zip(CIDRS, IPS, strict=False) for x in pair] + IPS[len(CIDRS):]
        return _plain(draw(st.sampled_from(pool)), True)
    if type_ == "date":
        return _plain(draw(st.sampled_from(DATE_QUERIES)), True)
    if type_ == "boolean":
        return _plain(draw(st.sampled_from(["true", "false"])), False)
    raise ValueError(type_)


_RANGE_VALUES = {
    "keyword": lambda: st.sampled_from(KEYWORDS).map(lambda t: _plain(t, True)),
    "long": lambda: st.sampled_from(["-1", "0", "1", "2"]).map(lambda t: _plain(t, False)),
    "double": lambda: st.sampled_from(["0", "1.5", "2"]).map(lambda t: _plain(t, False)),
    "ip": lambda: st.sampled_from(IPS).map(lambda t: _plain(t, True)),
    "date": lambda: st.sampled_from(DATE_QUERIES).map(lambda t: _plain(t, True)),
}


@st.composite
def _leaf(draw: st.DrawFn, fields: list[str], types: dict[str, str]) -> Node:
    name = draw(st.sampled_from(fields))
    type_ = types[name]
    kinds = ["is", "is", "exists"] + (["range", "range"] if type_ in _RANGE_VALUES else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "exists":
        return Exists(name, NOWHERE)
    if kind == "range" and type_ in _RANGE_VALUES:
        op = draw(st.sampled_from(["<", "<=", ">", ">="]))
        return Range(name, op, draw(_RANGE_VALUES[type_]()), NOWHERE)
    return Is(name, draw(_is_value(type_)), NOWHERE)


def _tree(leaves: st.SearchStrategy[Node], max_leaves: int) -> st.SearchStrategy[Node]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs), NOWHERE)),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs), NOWHERE)),
            children.map(lambda x: Not(x, NOWHERE)),
        ),
        max_leaves=max_leaves,
    )


def query_nodes(max_leaves: int = 6, fields: Sequence[str] | None = None
                ) -> st.SearchStrategy[Node]:
    """Query ASTs over ``FIELD_TYPES``, including ``res: { ... }`` nested groups.

    ``fields`` restricts the top-level fields (Hypothesis favours the first entries of a
    list, so a test that wants every type exercised evenly should run once per field).
    """
    top = _leaf(list(fields) if fields else TOP_FIELDS, FIELD_TYPES)
    nested_types = {f: FIELD_TYPES[f"{NESTED_PATH}.{f}"] for f in NESTED_FIELDS}
    inner = _tree(_leaf(NESTED_FIELDS, nested_types), 3)
    nested = inner.map(lambda q: Nested(NESTED_PATH, q, NOWHERE))
    return _tree(st.one_of(top, top, top, nested), max_leaves)


def queries(max_leaves: int = 6, fields: Sequence[str] | None = None
            ) -> st.SearchStrategy[GeneratedQuery]:
    return query_nodes(max_leaves, fields).map(lambda n: GeneratedQuery(n, render(n)))


# ------------------------------------------------------------------ documents


@dataclass
class GeneratedDoc:
    """``logical``: field -> values (nested sub-fields live in ``elements``); ``source``: JSON."""

    logical: dict[str, list[Any]]
    elements: list[dict[str, list[Any]]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)


def _doc_value(type_: str) -> st.SearchStrategy[Any]:
    if type_ == "keyword":
        return st.one_of(st.sampled_from(KEYWORDS), st.sampled_from([1, True]))
    if type_ == "constant_keyword":
        return st.just(CONSTANT)
    if type_ == "text":
        return st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
    if type_ == "long":
        return st.one_of(st.integers(-2, 3), st.integers(-2, 3).map(str))
    if type_ == "double":
        return st.sampled_from([0.0, 1.0, 1.5, 2.5, -1.0, "2.5"])
    if type_ == "ip":
        return st.sampled_from(IPS)
    if type_ == "date":
        return st.sampled_from([*DATES, 1704067200000])
    if type_ == "boolean":
        return st.sampled_from([True, False, "true", "false"])
    raise ValueError(type_)


def _values(type_: str) -> st.SearchStrategy[list[Any]]:
    return st.lists(_doc_value(type_), min_size=1, max_size=2)


@st.composite
def _logical(draw: st.DrawFn, fields: list[str], types: dict[str, str],
             focus: frozenset[str] = frozenset()) -> dict[str, list[Any]]:
    """Values for a random subset of ``fields``; ``focus`` fields are present more often."""
    chosen = [f for f in fields if draw(st.integers(0, 9)) < (8 if f in focus else 3)]
    return {name: draw(_values(types[name])) for name in chosen}


@st.composite
def _place(draw: st.DrawFn, target: dict[str, Any], name: str, values: list[Any]) -> None:
    """Write ``values`` under ``name``: as a dotted key or nested objects, scalar or array."""
    if not values:
        payload: Any = draw(st.sampled_from([None, []]))
    elif len(values) == 1 and draw(st.booleans()):
        payload = values[0]
    else:
        payload = list(values)
    parts = name.split(".")
    if len(parts) > 1 and draw(st.booleans()):
        target.setdefault(parts[0], {})
        holder = target[parts[0]]
        if isinstance(holder, dict):
            holder[".".join(parts[1:])] = payload
            return
    target[name] = payload


@st.composite
def documents(draw: st.DrawFn, focus: frozenset[str] = frozenset()) -> GeneratedDoc:
    """A document; fields named in ``focus`` (absolute names) are usually present."""
    top_types = {f: FIELD_TYPES[f] for f in TOP_FIELDS}
    logical = draw(_logical(TOP_FIELDS, top_types, focus))
    nested_types = {f: FIELD_TYPES[f"{NESTED_PATH}.{f}"] for f in NESTED_FIELDS}
    inner_focus = frozenset(f.split(".", 1)[1] for f in focus if f.startswith(NESTED_PATH + "."))
    elements = draw(st.lists(_logical(NESTED_FIELDS, nested_types, inner_focus), max_size=3))
    source: dict[str, Any] = {}
    obj_fields = [f for f in logical if f.startswith("obj.")]
    if obj_fields and draw(st.booleans()):
        # An object array: spread the obj.* values over separate elements.
        items: list[dict[str, Any]] = []
        for name in obj_fields:
            for value in logical[name]:
                items.append({name.split(".", 1)[1]: value})
        source["obj"] = items
        rest = [f for f in logical if f not in obj_fields]
    else:
        rest = list(logical)
    for name in rest:
        draw(_place(source, name, logical[name]))
    for name in TOP_FIELDS:
        if name not in logical and draw(st.integers(0, 3)) == 0:
            draw(_place(source, name, []))  # present but null or []: still missing
    if elements or draw(st.booleans()):
        rendered = []
        for element in elements:
            item: dict[str, Any] = {}
            for name, values in element.items():
                draw(_place(item, name, values))
            rendered.append(item)
        source[NESTED_PATH] = rendered[0] if len(rendered) == 1 and draw(st.booleans()) \
            else rendered
    return GeneratedDoc(logical, elements, source)


def query_fields(node: Node, prefix: str = "") -> frozenset[str]:
    """Absolute field names a generated query reads."""
    if isinstance(node, (Is, Exists, Range)):
        return frozenset({prefix + str(node.field)})
    if isinstance(node, Not):
        return query_fields(node.item, prefix)
    if isinstance(node, (And, Or)):
        return frozenset().union(*(query_fields(i, prefix) for i in node.items))
    if isinstance(node, Nested):
        return query_fields(node.query, prefix + node.path + ".")
    return frozenset()


@st.composite
def cases(draw: st.DrawFn, max_leaves: int = 6, fields: Sequence[str] | None = None
          ) -> tuple[GeneratedQuery, GeneratedDoc]:
    """(query, document) pairs whose document mostly carries the fields the query reads.

    ``es_mapping()`` gives the mapping they assume.
    """
    query = draw(queries(max_leaves, fields))
    return query, draw(documents(query_fields(query.node)))
