"""A query rule's search, built as Kibana's query rule executor builds it.

The executor searches the rule's index patterns (missing ones ignored) for the rule's query
AND a time range computed from ``from``/``to`` at the run's start. The range is on
``timestamp_override`` when the rule sets one, and then - unless the fallback is disabled -
also on ``@timestamp`` for documents that have no override field at all. Hits are sorted
oldest first, on both fields, and at most ``max_signals`` become alerts. kmsdet adds one
filter of its own: the run id, so that runs sharing a data stream never see each other's
documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kmsdet.backends.base import RUN_ID_FIELD
from kmsdet.fields.registry import DEFAULT_SECURITY_INDICES
from kmsdet.fields.schema import FieldSchema
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_MAX_SIGNALS, time_field, window

ALERTS_MAX = 1000  # xpack.alerting.rules.run.alerts.max default: Kibana caps max_signals here
DATE_FORMAT = "strict_date_optional_time"


@dataclass(frozen=True)
class RuleSearch:
    """The ``index`` and request body of one rule run's search."""

    index: list[str]
    body: dict[str, Any]

    def msearch_header(self) -> dict[str, Any]:
        return {"index": self.index, "ignore_unavailable": True, "allow_no_indices": True}


def iso(moment: datetime) -> str:
    """Milliseconds and ``Z``, as Kibana's ``toISOString`` writes the range bounds."""
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def time_filter(rule: Rule, now: datetime) -> dict[str, Any]:
    """The run's window (``from``..``to`` at ``now``, both ends included) as a range clause."""
    start, end = window(rule.rule.from_, rule.rule.to, now)
    return range_filter(rule, start, end)


def range_filter(rule: Rule, start: datetime, end: datetime, *,
                 end_inclusive: bool = True) -> dict[str, Any]:
    """A range on the rule's time: the override field, with the ``@timestamp`` fallback for
    documents without it when allowed (new_terms ranges its history with an open end)."""
    data = rule.rule
    bounds = {"gte": iso(start), "lte" if end_inclusive else "lt": iso(end),
              "format": DATE_FORMAT}
    primary, fallback = time_field(data.timestamp_override,
                                   data.timestamp_override_fallback_disabled)
    primary_range = {"range": {primary: dict(bounds)}}
    if not fallback:
        return primary_range
    return {"bool": {"should": [
        primary_range,
        {"bool": {"filter": [
            {"range": {"@timestamp": dict(bounds)}},
            {"bool": {"must_not": {"exists": {"field": primary}}}},
        ]}},
    ], "minimum_should_match": 1}}


def sort_clause(rule: Rule) -> list[dict[str, Any]]:
    data = rule.rule
    primary, fallback = time_field(data.timestamp_override,
                                   data.timestamp_override_fallback_disabled)
    fields = [primary, "@timestamp"] if fallback else [primary]
    return [{f: {"order": "asc", "unmapped_type": "date"}} for f in fields]


def max_alerts(rule: Rule) -> int:
    return min(rule.rule.max_signals or DEFAULT_MAX_SIGNALS, ALERTS_MAX)


def rule_query(rule: Rule, schema: FieldSchema) -> dict[str, Any]:
    """The rule's KQL (with its exceptions) as Elasticsearch DSL, via kmsdet's translator."""
    from kmsdet.backends.exceptions import with_exceptions
    from kmsdet.kql.dsl import build_es_query
    from kmsdet.kql.parser import parse
    from kmsdet.rules.query_errors import located_in_rule

    with located_in_rule(rule):
        return dict(build_es_query(with_exceptions(parse(rule.rule.query or ""), rule), schema))


def rule_search(rule: Rule, query: Mapping[str, Any], *, now: datetime,
                run_id: str | None = None,
                time_range: Mapping[str, Any] | None = None) -> RuleSearch:
    """The search one run of ``rule`` at ``now`` sends, given its translated ``query``;
    ``time_range`` replaces the run's window (a new_terms rule's history)."""
    filters: list[Any] = [dict(query), dict(time_range or time_filter(rule, now))]
    if run_id is not None:
        filters.append({"term": {RUN_ID_FIELD: run_id}})
    body = {
        "size": max_alerts(rule),
        "query": {"bool": {"filter": filters}},
        "sort": sort_clause(rule),
        "track_total_hits": False,
    }
    return RuleSearch(index=list(rule.rule.index or DEFAULT_SECURITY_INDICES), body=body)
