"""What an EQL query requires of a document, read from its tree without running it.

Coverage reports (which KMS APIs a rule watches) and the prefilter index (which documents can
possibly match) both need the ``field == value`` clauses that must hold in each alternative of
each event query.
"""

from __future__ import annotations

from kmsdet.eql import ast

Term = tuple[str, str]  # (field, value or wildcard pattern with *)
MAX_BRANCHES = 4096


def branches(query: ast.Query) -> list[list[Term]]:
    """Alternatives over all event queries (steps, until), each the clauses that must hold.

    Patterns from ``:``/``like`` keep ``*`` (``?`` becomes ``*``, an over-approximation).
    Negated clauses and anything over computed values never add a term.
    """
    out: list[list[Term]] = []
    for event in ast.event_queries(query):
        out.extend(_branches(event.condition))
    return out


def _branches(expr: ast.Expr) -> list[list[Term]]:
    if isinstance(expr, ast.Compare) and expr.op == "==":
        field, literal = _field_literal(expr.left, expr.right)
        if field is not None and isinstance(literal, str):
            return [[(field, literal)]]
    if isinstance(expr, ast.InSet) and not expr.negated and isinstance(expr.expr, ast.Field):
        values = [v.value for v in expr.values]
        if all(isinstance(v, str) for v in values):
            return [[(expr.expr.path, str(v))] for v in values]
    if isinstance(expr, ast.Pattern) and expr.kind == "like" and \
            isinstance(expr.expr, ast.Field):
        return [[(expr.expr.path, p.replace("?", "*"))] for p in expr.patterns]
    if isinstance(expr, ast.Or):
        return [b for item in expr.items for b in _branches(item)]
    if isinstance(expr, ast.And):
        combined: list[list[Term]] = [[]]
        for item in expr.items:
            part = _branches(item)
            if len(combined) * len(part) > MAX_BRANCHES:
                return [[]]
            combined = [a + b for a in combined for b in part]
        return combined
    return [[]]


def _field_literal(left: ast.Expr, right: ast.Expr) -> tuple[str | None, object]:
    if isinstance(left, ast.Field) and isinstance(right, ast.Literal):
        return left.path, right.value
    if isinstance(right, ast.Field) and isinstance(left, ast.Literal):
        return right.path, left.value
    return None, None


def is_case_insensitive(query: ast.Query, field: str) -> bool:
    """Whether some clause compares ``field`` case-insensitively (``:``, ``in~``, ``like~``)."""
    for event in ast.event_queries(query):
        for node in ast.walk(event.condition):
            if isinstance(node, (ast.InSet, ast.Pattern)) and node.insensitive and \
                    isinstance(node.expr, ast.Field) and node.expr.path == field:
                return True
    return False


def required_values(expr: ast.Expr) -> dict[str, frozenset[str]]:
    """Exact, case-sensitive string values some fields must hold for ``expr`` to be true.

    Conservative: a field is listed only when every way of satisfying ``expr`` needs one of its
    values (``==`` and ``in`` on a string; ``and`` keeps every field, ``or`` the fields all of
    its branches require, with their values merged).
    """
    if isinstance(expr, ast.Compare) and expr.op == "==":
        field, literal = _field_literal(expr.left, expr.right)
        if field is not None and isinstance(literal, str):
            return {field: frozenset((literal,))}
    if isinstance(expr, ast.InSet) and isinstance(expr.expr, ast.Field) and \
            not expr.negated and not expr.insensitive:
        values = [v.value for v in expr.values]
        if values and all(isinstance(v, str) for v in values):
            return {expr.expr.path: frozenset(str(v) for v in values)}
    if isinstance(expr, ast.And):
        merged: dict[str, frozenset[str]] = {}
        for item in expr.items:
            for field, values in required_values(item).items():
                merged[field] = merged[field] & values if field in merged else values
        return merged
    if isinstance(expr, ast.Or):
        parts = [required_values(item) for item in expr.items]
        common = set(parts[0]) if parts else set()
        for part in parts[1:]:
            common &= set(part)
        return {f: frozenset().union(*(p[f] for p in parts)) for f in common}
    return {}


def query_required_values(query: ast.Query, category_field: str = "event.category"
                          ) -> dict[str, frozenset[str]]:
    """What every event query of ``query`` requires (so what any document it uses must hold)."""
    per_query = []
    for event in ast.event_queries(query):
        needed = dict(required_values(event.condition))
        if event.category is not None:
            values = frozenset((event.category,))
            needed[category_field] = needed.get(category_field, values) & values
        per_query.append(needed)
    common = set(per_query[0]) if per_query else set()
    for needed in per_query[1:]:
        common &= set(needed)
    return {f: frozenset().union(*(n[f] for n in per_query)) for f in common}
