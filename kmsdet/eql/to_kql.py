"""An EQL event query as a KQL tree, for the event generator's solver only.

The solver (kmsdet.generate) searches documents for KQL trees. Most conditions of Elastic's EQL
rules have a KQL counterpart whose solutions also satisfy the EQL: exact values for ``==``,
``in``, ``:`` and ``like`` (a value equal to a pattern's literal pieces matches both
case-sensitively and not), ranges, ``null`` tests, and/or/not. The translation is not used to
decide matches: every generated event is checked again with the EQL engine itself, so an
approximate translation (``?`` read as ``*``, a case-insensitive clause negated) can only cost
an event, never pass a wrong one.
"""

from __future__ import annotations

from kmsdet.eql import ast
from kmsdet.errors import UsageError
from kmsdet.kql import ast as kql

_SPAN = kql.Span(0, 0)


class NotTranslatable(UsageError):
    """The condition uses something with no KQL counterpart (functions, regex, math)."""


def event_query_node(query: ast.EventQuery, category_field: str = "event.category") -> kql.Node:
    condition = to_kql(query.condition)
    if query.category is None:
        return condition
    category = kql.Is(category_field, _value(query.category), _SPAN)
    return kql.And((category, condition), _SPAN)


def _value(value: object) -> kql.Value:
    if isinstance(value, bool):
        return kql.Value("true" if value else "false", False, None, _SPAN)
    if isinstance(value, str):
        return kql.Value(value, True, None, _SPAN)
    return kql.Value(str(value), False, None, _SPAN)


def _pattern(pattern: str) -> kql.Value:
    text = pattern.replace("?", "*")
    return kql.Value(text, False, tuple(text.split("*")) if "*" in text else None, _SPAN)


def to_kql(expr: ast.Expr) -> kql.Node:  # noqa: C901 - one branch per node type
    if isinstance(expr, ast.Literal) and isinstance(expr.value, bool):
        everything = kql.MatchAll(_SPAN)
        return everything if expr.value else kql.Not(everything, _SPAN)
    if isinstance(expr, ast.And):
        return kql.And(tuple(to_kql(i) for i in expr.items), _SPAN)
    if isinstance(expr, ast.Or):
        return kql.Or(tuple(to_kql(i) for i in expr.items), _SPAN)
    if isinstance(expr, ast.Not):
        return kql.Not(to_kql(expr.expr), _SPAN)
    if isinstance(expr, ast.Compare):
        left, right, op = expr.left, expr.right, expr.op
        if isinstance(left, ast.Literal) and isinstance(right, ast.Field):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        if isinstance(left, ast.Field) and isinstance(right, ast.Literal):
            field, value = left.path, right.value
            if value is None:
                exists = kql.Exists(field, _SPAN)
                return exists if op == "!=" else kql.Not(exists, _SPAN)
            if op in ("==", "!="):
                node: kql.Node = kql.Is(field, _value(value), _SPAN)
                return node if op == "==" else kql.Not(node, _SPAN)
            return kql.Range(field, op, _value(value), _SPAN)  # type: ignore[arg-type]
    if isinstance(expr, ast.InSet) and isinstance(expr.expr, ast.Field):
        field = expr.expr.path
        either = kql.Or(tuple(kql.Is(field, _value(v.value), _SPAN) for v in expr.values
                              if v.value is not None), _SPAN)
        return kql.Not(either, _SPAN) if expr.negated else either
    if isinstance(expr, ast.Pattern) and expr.kind == "like" and isinstance(expr.expr, ast.Field):
        field = expr.expr.path
        return kql.Or(tuple(kql.Is(field, _pattern(p), _SPAN) for p in expr.patterns), _SPAN)
    if isinstance(expr, ast.Field):
        return kql.Is(expr.path, _value(True), _SPAN)
    raise NotTranslatable(f"cannot generate events for the EQL condition {_describe(expr)}",
                          hint="kmsdet generate solves comparisons, lists, wildcards and null "
                               "tests; write cases for functions and regexes by hand")


def _describe(expr: ast.Expr) -> str:
    if isinstance(expr, ast.Compare):
        return f"{_describe(expr.left)} {expr.op} {_describe(expr.right)}"
    if isinstance(expr, ast.Field):
        return expr.path
    if isinstance(expr, ast.Literal):
        return repr(expr.value)
    if isinstance(expr, ast.Call):
        return f"{expr.name}(...)"
    if isinstance(expr, ast.Pattern):
        return f"{expr.kind} {expr.patterns!r}"
    return type(expr).__name__
