"""Rule exceptions as Kibana applies them: a negated filter of one clause per exception item.

Kibana turns ``match`` items into match_phrase, ``match_any`` into a should of match_phrase,
``exists`` into exists and ``wildcard`` into a wildcard query, then negates the whole filter.
Expressing the same thing as a KQL AST lets every backend reuse its query path unchanged.
"""

from __future__ import annotations

from kmsdet.kql.ast import And, Exists, Is, Node, Not, Or, Span, Value
from kmsdet.rules.model import ExceptionItem, Rule

_NOWHERE = Span(0, 0)


def exception_node(item: ExceptionItem) -> Node:
    values = [item.value] if isinstance(item.value, str) else list(item.value)
    if item.type == "exists":
        clause: Node = Exists(item.field, _NOWHERE)
    elif item.type == "wildcard":
        clause = Or(tuple(Is(item.field, Value(v, False, tuple(v.split("*")) if "*" in v else
                                                None, _NOWHERE), _NOWHERE) for v in values),
                    _NOWHERE)
    else:  # match, match_any
        clause = Or(tuple(Is(item.field, Value(v, True, None, _NOWHERE), _NOWHERE)
                          for v in values), _NOWHERE)
    return Not(clause, _NOWHERE) if item.operator == "excluded" else clause


def with_exceptions(query: Node, rule: Rule) -> Node:
    """``query and not (item1 or item2 ...)`` for the rule's exception items."""
    items = rule.kmsdet.exceptions if rule.kmsdet else []
    if not items:
        return query
    excluded = Or(tuple(exception_node(i) for i in items), _NOWHERE)
    return And((query, Not(excluded, _NOWHERE)), _NOWHERE)
