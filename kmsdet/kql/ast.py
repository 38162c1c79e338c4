"""The KQL abstract syntax tree.

The tree mirrors the function nodes Kibana's own parser (@kbn/es-query) produces, so that the
DSL generator and the in-memory matcher can follow Kibana's translation one node at a time:
value lists such as ``f: (a or b)`` are desugared by the parser into ``Or(Is(f, a), Is(f, b))``
exactly as Kibana does, and ``f: *`` becomes ``Exists``.

Every node is immutable and carries a ``Span`` (character offsets into the query text), so
lint findings and syntax errors can point at the exact place in the query and, through the
rule loader, in the TOML file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range ``[start, end)`` in the query text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Value:
    """One value on the right of ``field:`` (or a free-text term).

    ``text`` is the value with escapes resolved (``a\\*b`` -> ``a*b``, ``"x\\"y"`` -> ``x"y``).
    ``wildcard`` holds the literal pieces between unescaped ``*`` of an unquoted value
    (``ad*min*`` -> ``("ad", "min", "")``) and is ``None`` when the value has no wildcard;
    a quoted ``"*"`` is a literal star, never a wildcard.
    Unquoted ``true``/``false``/``null`` keep their text here; Kibana turns them into JSON
    literals when building DSL, which is the DSL generator's job.
    """

    text: str
    quoted: bool
    wildcard: tuple[str, ...] | None
    span: Span

    @property
    def is_wildcard(self) -> bool:
        return self.wildcard is not None


@dataclass(frozen=True, slots=True)
class Is:
    """``field: value``; ``field`` is ``None`` for free text (a bare term, no field).

    ``field`` may itself contain unescaped ``*`` (``field_wildcard`` is then True), which
    Kibana expands over the index pattern's fields.
    """

    field: str | None
    value: Value
    span: Span
    field_wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Exists:
    """``field: *`` (Kibana's ``is(field, *)``): the field has at least one value.

    ``field`` of ``"*"`` (from ``*: *``) means match-all.
    """

    field: str
    span: Span
    field_wildcard: bool = False


RangeOp = Literal["<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Range:
    """``field < value`` and friends."""

    field: str
    op: RangeOp
    value: Value
    span: Span
    field_wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Nested:
    """``path: { query }``; field names inside ``query`` are relative to ``path``."""

    path: str
    query: Node
    span: Span


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    item: Node
    span: Span


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty query: Kibana drops it (match_all) from the final search."""

    span: Span


Node = Is | Exists | Range | Nested | And | Or | Not | MatchAll


def shape(node: Node) -> tuple[object, ...]:
    """``node`` without its spans: equal for the same clause written anywhere, in any rule.

    Matching and translation never read a span (only error messages do), so caches of compiled
    clauses key on this and serve every rule that repeats a clause.
    """
    if isinstance(node, Is):
        value = node.value
        return ("is", node.field, value.text, value.quoted, value.wildcard, node.field_wildcard)
    if isinstance(node, Exists):
        return ("exists", node.field, node.field_wildcard)
    if isinstance(node, Range):
        value = node.value
        return ("range", node.field, node.op, value.text, value.quoted, value.wildcard,
                node.field_wildcard)
    if isinstance(node, (And, Or)):
        return (type(node).__name__, tuple(shape(item) for item in node.items))
    if isinstance(node, Not):
        return ("not", shape(node.item))
    if isinstance(node, Nested):
        return ("nested", node.path, shape(node.query))
    return ("all",)


def walk(node: Node):
    """Yield every node of the tree, parents before children (depth first)."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (And, Or)):
            stack.extend(reversed(current.items))
        elif isinstance(current, Not):
            stack.append(current.item)
        elif isinstance(current, Nested):
            stack.append(current.query)


def field_refs(node: Node, prefix: str = "") -> list[tuple[str, Node]]:
    """Every (absolute field name, node) pair the query references, nested paths resolved."""
    out: list[tuple[str, Node]] = []
    if isinstance(node, (Is, Exists, Range)):
        if node.field is not None:
            out.append((prefix + node.field, node))
    elif isinstance(node, Nested):
        out.append((prefix + node.path, node))
        out.extend(field_refs(node.query, prefix + node.path + "."))
    elif isinstance(node, (And, Or)):
        for item in node.items:
            out.extend(field_refs(item, prefix))
    elif isinstance(node, Not):
        out.extend(field_refs(node.item, prefix))
    return out
