"""The EQL query as kmsdet evaluates it, keeping what Elasticsearch's semantics depend on.

The ``eql`` package's own AST folds ``:`` into ``==`` and drops ``~`` and ``?`` (its engine is
case-insensitive everywhere), so kmsdet keeps its own small tree: case sensitivity, optional
fields and missing-event steps are explicit here.
"""

from __future__ import annotations

from dataclasses import dataclass

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Field:
    path: str
    optional: bool = False


@dataclass(frozen=True)
class Literal:
    value: Scalar


@dataclass(frozen=True)
class Compare:
    """``left op right`` with op one of == != < <= > >= (``==``/``!=`` case-sensitive)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class InSet:
    expr: Expr
    values: tuple[Literal, ...]
    insensitive: bool = False
    negated: bool = False


@dataclass(frozen=True)
class Pattern:
    """``expr like/regex pattern(s)``; ``:`` is ``like~`` (Elasticsearch documents them equal)."""

    expr: Expr
    kind: str  # "like" or "regex"
    patterns: tuple[str, ...]
    insensitive: bool


@dataclass(frozen=True)
class Call:
    name: str  # lower-cased function name
    args: tuple[Expr, ...]
    insensitive: bool = False


@dataclass(frozen=True)
class Math:
    op: str  # + - * / %
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Negate:
    expr: Expr


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Field | Literal | Compare | InSet | Pattern | Call | Math | Negate | Not | And | Or


@dataclass(frozen=True)
class EventQuery:
    """``category where condition``; ``category`` None is ``any``."""

    category: str | None
    condition: Expr


@dataclass(frozen=True)
class Step:
    """One bracketed query of a sequence or sample with its full join key (shared + own)."""

    query: EventQuery
    keys: tuple[Field, ...] = ()
    missing: bool = False


@dataclass(frozen=True)
class Sequence:
    steps: tuple[Step, ...]
    maxspan_nanos: int | None = None
    until: Step | None = None


@dataclass(frozen=True)
class Sample:
    steps: tuple[Step, ...]


Query = EventQuery | Sequence | Sample


def event_queries(query: Query) -> list[EventQuery]:
    """Every event query a document may need to match for the query to use it."""
    if isinstance(query, EventQuery):
        return [query]
    steps = list(query.steps)
    if isinstance(query, Sequence) and query.until is not None:
        steps.append(query.until)
    return [s.query for s in steps]


def walk(expr: Expr):  # noqa: ANN201 - Iterator[Expr]
    yield expr
    if isinstance(expr, (Compare, Math)):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, (InSet, Pattern, Negate, Not)):
        yield from walk(expr.expr)
    elif isinstance(expr, (And, Or)):
        for item in expr.items:
            yield from walk(item)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from walk(arg)
