"""How many clauses a rule's search expands to, against the limit Elasticsearch enforces.

Elasticsearch refuses a search whose rewritten query holds more leaf clauses than the node's
limit ("maxClauseCount is set to N"). Since 8.0 the limit is not a setting: each node computes
it from its heap and its search thread pool (about ``heap_GB * 65,536 / search_threads``, where
search_threads = processors * 3 / 2 + 1), with a documented floor of 1,024, which is also what
a node with less than 1 GB of heap gets. The limit counts leaves of the whole query tree, so
nesting does not help. Kibana sends the query as it is, so such a rule passes every local test
and fails at every run in production.

The count is taken on the DSL kmsdet sends, the one Kibana would build (exceptions included):
one per leaf query (term, match, range, exists, wildcard...), and one per analysed token for a
match or match_phrase on a text field, as Lucene counts each term of those queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity
from kmsdet.rules.checks.query import QUERY_PATH, parsed_query
from kmsdet.rules.model import Rule

GUARANTEED_CLAUSES = 1024
"""Elasticsearch's documented floor: every node accepts this many; above it, some refuse."""
SMALL_NODE_CLAUSES = 8192
"""The limit of a node with 1 GB of heap and 8 search threads (5 processors); a query above it
is refused on small production nodes and on the test cluster: an error, not a risk."""

_TEXT_TYPES = frozenset({"text", "match_only_text"})
_COMPOUND = frozenset({"bool", "nested", "constant_score", "dis_max", "boosting"})


def count_clauses(dsl: Any, schema: Any = None) -> int:
    """Leaf clauses of a query DSL, as Lucene counts them against maxClauseCount."""
    if isinstance(dsl, list):
        return sum(count_clauses(item, schema) for item in dsl)
    if not isinstance(dsl, Mapping):
        return 0
    total = 0
    for kind, body in dsl.items():
        if kind == "bool" and isinstance(body, Mapping):
            total += sum(count_clauses(body.get(k), schema)
                         for k in ("must", "filter", "should", "must_not"))
        elif kind in _COMPOUND and isinstance(body, Mapping):
            total += sum(count_clauses(v, schema) for k, v in body.items()
                         if k in ("query", "filter", "queries", "positive", "negative"))
        elif kind in ("match", "match_phrase") and isinstance(body, Mapping):
            total += sum(_terms(name, value, schema) for name, value in body.items())
        else:
            total += 1
    return total


def _terms(field: str, value: Any, schema: Any) -> int:
    info = schema.get(field) if schema is not None else None
    if info is None or info.type not in _TEXT_TYPES:
        return 1
    from kmsdet.kql.analysis import analyze

    text = value.get("query") if isinstance(value, Mapping) else value
    return max(1, len(analyze(str(text))))


def rule_clause_count(rule: Rule) -> int | None:
    """Clauses of the rule's search (query and exceptions), or None for a non-KQL rule."""
    node = parsed_query(rule)
    if node is None:
        return None
    from kmsdet.backends.exceptions import with_exceptions
    from kmsdet.errors import InputError
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.kql.dsl import to_dsl

    schema = schema_for_indices(tuple(rule.rule.index or ()))
    try:
        return count_clauses(to_dsl(with_exceptions(node, rule), schema), schema)
    except InputError:
        return None  # the query checks report why it does not translate


class ClauseCount(Check):
    code = "KD350"
    severity = Severity.WARNING
    summary = "the query stays under the clause limit Elasticsearch enforces (maxClauseCount)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        count = rule_clause_count(rule)
        if count is None or count <= GUARANTEED_CLAUSES:
            return
        hint = ("split the values over several rules; an allow-list belongs in a value-list "
                "exception, which Elasticsearch runs as one terms query, not one clause per "
                "value")
        if count > SMALL_NODE_CLAUSES:
            yield self.finding(
                rule, f"the query expands to {count:,} clauses; Elasticsearch refuses more "
                f"than its node limit (maxClauseCount, {SMALL_NODE_CLAUSES:,} on a node with "
                "1 GB of heap), so the rule fails at every run", QUERY_PATH, hint=hint,
                severity=Severity.ERROR)
            return
        yield self.finding(
            rule, f"the query expands to {count:,} clauses; Elasticsearch only guarantees "
            f"{GUARANTEED_CLAUSES:,} (maxClauseCount depends on each node's heap and search "
            "threads), so smaller nodes refuse it", QUERY_PATH, hint=hint)
