"""ES|QL field checks against the schema of the indices the query's FROM names.

Findings carry the KQL codes: KD302 for a field no searched index maps (an error only where
the field list is complete) and for a column that STATS or KEEP has already removed
(Elasticsearch rejects the query: unknown column), KD306 for an investigation field the
alerts will not carry.
"""

from __future__ import annotations

from collections.abc import Iterable

from kmsdet.esql.analysis import EsqlAnalysis, EsqlSyntaxError, analyze
from kmsdet.fields.registry import schema_for_indices
from kmsdet.kql.ast import Span
from kmsdet.kql.schema_check import (
    QueryIssue,
    check_fields,
    outside_schema,
    resolve_type,
    unknown_field,
)


def _analysis(query: str) -> EsqlAnalysis | None:
    try:
        return analyze(query)
    except EsqlSyntaxError:
        return None  # KD301 reports it


def check_esql_fields(query: str) -> list[QueryIssue]:
    analysis = _analysis(query)
    if analysis is None:
        return []
    schema = schema_for_indices(tuple(analysis.sources))
    issues: list[QueryIssue] = []
    seen: set[str] = set()
    for read in analysis.reads:
        if read.name in seen:
            continue
        span = Span(read.start, read.end)
        if read.out_of_scope:
            seen.add(read.name)
            issues.append(QueryIssue(
                "KD302", "error",
                f"`{read.name}` is not a column here: an earlier STATS or KEEP dropped it, so "
                "Elasticsearch rejects the query (unknown column)",
                span, read.name, "keep the field in the earlier command, or group by it"))
            continue
        if analysis.creates(read.name) or "*" in read.name:
            continue
        if resolve_type(read.name, schema) is None and not outside_schema(read.name, schema):
            seen.add(read.name)
            issues.append(unknown_field(read.name, span, schema))
    return issues


def check_esql_investigation_fields(query: str, names: Iterable[str]) -> list[QueryIssue]:
    """Aggregated alerts carry only the result's columns; an alert of a query without STATS
    also carries its row's source document (Kibana fetches it by _id), so a field KEEP left
    out is still there, and is judged against the indices' fields."""
    analysis = _analysis(query)
    if analysis is None:
        return []
    names = list(names)
    if analysis.final_columns is not None and analysis.aggregates:
        columns = set(analysis.final_columns)
        return [QueryIssue("KD306", "warning",
                           f"investigation field `{n}` is not a column of the query's result, "
                           "so the alerts do not carry it", None, n,
                           "list one of: " + ", ".join(sorted(columns)))
                for n in names if n not in columns]
    schema = schema_for_indices(tuple(analysis.sources))
    return check_fields([n for n in names if not analysis.creates(n)], schema)
