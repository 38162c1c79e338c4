"""KD308: a query no document can satisfy.

Such a rule deploys, runs and never alerts, and nothing in Kibana says so. The proof lives in
:mod:`kmsdet.generate.proof`; it only reports what holds for every possible document (a clause
and its negation, a term that a negated clause excludes, a value a constant_keyword never
holds), so a query the prover cannot decide is never reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.ast import And, Nested, Node, Not, Or
from kmsdet.rules.checks.base import Check, Finding, LintContext
from kmsdet.rules.checks.query import QUERY_PATH, parsed_query, query_file_position
from kmsdet.rules.model import Rule

if TYPE_CHECKING:
    from kmsdet.generate.solve import Oracle


def _expands_to_nothing(node: Node, schema: FieldSchema, prefix: str = "") -> bool:
    """True when a field pattern in ``node`` matches no field ``schema`` lists.

    Such a pattern is "never true" only if the schema lists every field of the searched
    indices; on a partial schema (an integration kmsdet has no table for) it proves nothing.
    """
    if isinstance(node, (And, Or)):
        return any(_expands_to_nothing(item, schema, prefix) for item in node.items)
    if isinstance(node, Not):
        return _expands_to_nothing(node.item, schema, prefix)
    if isinstance(node, Nested):
        return _expands_to_nothing(node.query, schema, f"{prefix}{node.path}.")
    field = getattr(node, "field", None)
    if field is None or field == "*" or not getattr(node, "field_wildcard", False):
        return False
    return not schema.expand(prefix + field)


class QuerySatisfiable(Check):
    code = "KD308"
    checks_deprecated = False
    #: One oracle per searched schema for the whole run, and a query checked from its clauses'
    #: compilations: rules repeat clauses, and compiling each once is most of this check's
    #: cost. False: an oracle per rule and the whole query compiled (the parity reference).
    reuse_compilations = True

    def __init__(self) -> None:
        self._oracles: dict[tuple[str, ...], Oracle] = {}

    def warm(self) -> None:
        import kmsdet.generate.proof  # noqa: F401
        import kmsdet.generate.solve  # noqa: F401
    summary = "some document can satisfy the query (no clause contradicts the others)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        node = parsed_query(rule)
        if node is None or rule.metadata.query_schema_validation is False:
            return
        from kmsdet.fields.registry import schema_for_indices
        from kmsdet.generate.proof import refute
        from kmsdet.kql.errors import KqlTranslationError
        from kmsdet.kql.matcher import KqlTypeError

        schema = schema_for_indices(tuple(rule.rule.index or ()))
        if not schema.complete and _expands_to_nothing(node, schema):
            return  # the field list is partial: the pattern may match an unlisted field
        oracle = self._oracle(tuple(rule.rule.index or ()), schema)
        try:
            if self.reuse_compilations:
                oracle.validate(node)
            else:
                oracle.compiled((), node)
            refutation = refute(node, oracle)
        except KqlTypeError:
            return  # Elasticsearch rejects the query; KD303/KD304 report why
        except KqlTranslationError as exc:
            # Kibana's translation throws, so the rule fails at every run: an error, reported
            # here because this check is the one that translates the whole query.
            line, column = query_file_position(rule, 0)
            yield self.finding(rule, f"Kibana cannot run this query: {exc.message}", QUERY_PATH,
                               line=line, column=column, hint=exc.hint)
            return
        if refutation is None:
            return
        line, column = query_file_position(rule, refutation.span.start)
        yield self.finding(rule, f"no document can match this query: {refutation.message}",
                           QUERY_PATH, line=line, column=column,
                           hint="the rule would run and never alert; remove the contradiction")

    def _oracle(self, indices: tuple[str, ...], schema: FieldSchema) -> Oracle:
        from kmsdet.generate.solve import Oracle

        if not self.reuse_compilations:
            return Oracle(schema, datetime.now(timezone.utc))
        found = self._oracles.get(indices)
        if found is None:
            found = self._oracles[indices] = Oracle(schema, datetime.now(timezone.utc))
        return found
