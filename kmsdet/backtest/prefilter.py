"""Rejecting raw CloudTrail records that no rule can match, before mapping them to ECS.

Mapping a record to ECS costs several times what reading it does, and a pack of KMS rules
matches a sliver of a trail. Most rules require ``event.provider`` and ``event.action`` values
at their top level, and the pipeline copies those from ``eventSource`` and ``eventName``
unchanged. So each rule is weakened to its top-level clauses on those two fields alone, and a
record whose two values satisfy none of the weakened rules is dropped unmapped.

Exactness: a weakened rule is implied by the rule (dropping conjuncts only widens it), and only
positive clauses are kept (no ``not``), so a document missing the field, as one the pipeline
failed on may be, never satisfies a kept clause. The verdict depends on two strings, so it is
cached per pair. A rule without such a clause disables rejection altogether.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kmsdet.kql.ast import And, Exists, Is, Node, Or, Range, Span
from kmsdet.rules.model import Rule

# ECS field -> the raw CloudTrail key the integration's pipeline copies it from, unchanged.
PROBE_FIELDS = {"event.provider": "eventSource", "event.action": "eventName"}
_NOWHERE = Span(0, 0)


def necessary_clause(node: Node) -> Node | None:
    """The part of ``node`` every matching document satisfies that reads only PROBE_FIELDS,
    or None when there is none."""
    kept = [item for item in _conjuncts(node) if _positive_on_probe_fields(item)]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(tuple(kept), _NOWHERE)


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, And):
        return [c for item in node.items for c in _conjuncts(item)]
    return [node]


def _positive_on_probe_fields(node: Node) -> bool:
    if isinstance(node, (And, Or)):
        return all(_positive_on_probe_fields(item) for item in node.items)
    if isinstance(node, (Is, Range, Exists)):
        return (node.field is not None and not node.field_wildcard
                and node.field in PROBE_FIELDS)
    return False


class RawPrefilter:
    """``keep(record)``: whether any rule could match the record once mapped."""

    def __init__(self, matchers: Sequence[Callable[[Mapping[str, Any]], bool]]) -> None:
        self._matchers = list(matchers)
        self._verdicts: dict[tuple[Any, Any], bool] = {}

    def keep(self, record: Mapping[str, Any]) -> bool:
        source, name = record.get("eventSource"), record.get("eventName")
        if not isinstance(source, str) or not isinstance(name, str):
            return True  # the pipeline renders other types; map and let the rules decide
        key = (source, name)
        verdict = self._verdicts.get(key)
        if verdict is None:
            probe = {"event": {"provider": source, "action": name}}
            verdict = any(m(probe) for m in self._matchers)
            if len(self._verdicts) < 100_000:
                self._verdicts[key] = verdict
        return verdict


def build_prefilter(rules: Sequence[Rule],
                    nodes: Sequence[Node | None]) -> RawPrefilter | None:
    """A prefilter for ``rules`` (with their parsed KQL queries, exceptions included; None for
    an EQL rule), or None when one of them has no necessary clause on the probed fields."""
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.kql.matcher import compile_query

    matchers: list[Callable[[Mapping[str, Any]], bool]] = []
    for rule, node in zip(rules, nodes, strict=True):
        if node is None:
            test = _eql_probe(rule)
            if test is None:
                return None
            matchers.append(test)
            continue
        clause = necessary_clause(node)
        if clause is None:
            return None
        matchers.append(compile_query(clause, schema_for_indices(tuple(rule.rule.index or ()))))
    return RawPrefilter(matchers)


def _eql_probe(rule: Rule) -> Callable[[Mapping[str, Any]], bool] | None:
    """An EQL rule keeps a document matching any of its event queries (sequence steps and
    ``until`` included), so the probe passes when any query's necessary clauses on the probed
    fields do; None when one query has none."""
    from kmsdet.eql import ast as eql
    from kmsdet.eql.rule import program_for
    from kmsdet.kql.matcher import _Doc

    program = program_for(rule)
    steps = eql_probe_clauses(rule)
    if steps is None:
        return None
    tests = [program.compiler.condition(kept[0] if len(kept) == 1 else eql.And(tuple(kept)))
             for kept in steps]
    return lambda probe: any(test(_Doc(probe)) is True for test in tests)


def eql_probe_clauses(rule: Rule) -> list[list[Any]] | None:
    """Per event query of the EQL rule (sequence steps and ``until`` included), its necessary
    clauses on the probed fields; None when one query has none."""
    from kmsdet.eql import ast as eql
    from kmsdet.eql.rule import program_for

    query = program_for(rule).query
    steps = [query] if isinstance(query, eql.EventQuery) else \
        [s.query for s in query.steps] + (
            [query.until.query] if isinstance(query, eql.Sequence) and query.until else [])
    out = []
    for step in steps:
        kept = [c for c in _eql_conjuncts(step.condition) if _eql_positive_on_probe(c)]
        if not kept:
            return None
        out.append(kept)
    return out


def _eql_conjuncts(expr: Any) -> list[Any]:
    from kmsdet.eql import ast as eql

    if isinstance(expr, eql.And):
        return [c for item in expr.items for c in _eql_conjuncts(item)]
    return [expr]


def _eql_positive_on_probe(expr: Any) -> bool:
    """Equality, membership and like-patterns of a probed field against literals, and and/or of
    them: conditions a document missing the field never satisfies."""
    from kmsdet.eql import ast as eql

    if isinstance(expr, (eql.And, eql.Or)):
        return all(_eql_positive_on_probe(item) for item in expr.items)
    if isinstance(expr, eql.Compare):
        return expr.op in ("==", ":") and _probe_field(expr.left) and isinstance(
            expr.right, eql.Literal) and isinstance(expr.right.value, str)
    if isinstance(expr, eql.InSet):
        return not expr.negated and _probe_field(expr.expr)
    if isinstance(expr, eql.Pattern):
        return expr.kind == "like" and _probe_field(expr.expr)
    return False


def _probe_field(expr: Any) -> bool:
    from kmsdet.eql import ast as eql

    return isinstance(expr, eql.Field) and expr.path in PROBE_FIELDS
