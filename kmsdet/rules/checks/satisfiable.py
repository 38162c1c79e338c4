"""KD308: a query no document can satisfy.

Such a rule deploys, runs and never alerts, and nothing in Kibana says so. The proof lives in
:mod:`kmsdet.generate.proof`; it only reports what holds for every possible document (a clause
and its negation, a term that a negated clause excludes, a value a constant_keyword never
holds), so a query the prover cannot decide is never reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from kmsdet.rules.checks.base import Check, Finding, LintContext
from kmsdet.rules.checks.query import QUERY_PATH, parsed_query, query_file_position
from kmsdet.rules.model import Rule


class QuerySatisfiable(Check):
    code = "KD308"
    summary = "some document can satisfy the query (no clause contradicts the others)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        node = parsed_query(rule)
        if node is None or rule.metadata.query_schema_validation is False:
            return
        from kmsdet.fields.registry import schema_for_indices
        from kmsdet.generate.proof import refute
        from kmsdet.generate.solve import Oracle
        from kmsdet.kql.matcher import KqlTypeError

        oracle = Oracle(schema_for_indices(tuple(rule.rule.index or ())),
                        datetime.now(timezone.utc))
        try:
            oracle.compiled((), node)
            refutation = refute(node, oracle)
        except KqlTypeError:
            return  # Elasticsearch rejects the query; KD303/KD304 report why
        if refutation is None:
            return
        line, column = query_file_position(rule, refutation.span.start)
        yield self.finding(rule, f"no document can match this query: {refutation.message}",
                           QUERY_PATH, line=line, column=column,
                           hint="the rule would run and never alert; remove the contradiction")
