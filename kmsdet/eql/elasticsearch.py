"""EQL rules on a real Elasticsearch: the EQL search Kibana's executor sends, where it exists.

Kibana runs an EQL rule with one ``_eql/search`` per run: the query, ``size = max_signals``, a
Query DSL ``filter`` holding the run's window on ``timestamp_override`` (with the ``@timestamp``
fallback) and the exceptions as ``must_not``, and the rule's ``timestamp_field``,
``tiebreaker_field`` and ``event_category_override``. The EQL API is an x-pack module: the
Elasticsearch test distribution kmsdet's CI uses (integ-test-zip) does not carry it, and there
the backend must refuse EQL rules rather than report them as passing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kmsdet.backends.base import RUN_ID_FIELD, Alert
from kmsdet.eql.program import EqlMatch
from kmsdet.eql.rule import to_alerts
from kmsdet.errors import UsageError
from kmsdet.fields.schema import FieldSchema
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_MAX_SIGNALS

EQL_MODULE = "x-pack-eql"


def has_eql(client: Any) -> bool:
    """Whether every node of the cluster carries the EQL module."""
    info = client.nodes.info(metric="plugins")
    nodes = info.get("nodes", {}) if isinstance(info, Mapping) else {}
    if not nodes:
        return False
    return all(any(m.get("name") == EQL_MODULE for m in node.get("modules", []))
               for node in nodes.values())


def no_eql_error(rule: Rule) -> UsageError:
    return UsageError(
        f"'{rule.rule.name}' is an EQL rule and this Elasticsearch has no EQL API (module "
        f"{EQL_MODULE}; the test distribution from Maven Central does not ship it)",
        file=str(rule.source.path), field="rule.type",
        hint="run EQL rules on the embedded backend, or point --es-url at a full Elasticsearch "
             "(the default distribution includes EQL)")


def eql_request(rule: Rule, schema: FieldSchema, *, now: datetime,
                run_id: str | None) -> dict[str, Any]:
    """The body of the ``_eql/search`` one run of ``rule`` at ``now`` sends."""
    from kmsdet.es.search import time_filter

    data = rule.rule
    filters: list[Any] = [time_filter(rule, now)]
    if run_id is not None:
        filters.append({"term": {RUN_ID_FIELD: run_id}})
    body: dict[str, Any] = {
        "query": data.query or "",
        "size": data.max_signals or DEFAULT_MAX_SIGNALS,
        "filter": {"bool": {"filter": filters, "must_not": _exceptions(rule, schema)}},
    }
    if data.timestamp_field:
        body["timestamp_field"] = data.timestamp_field
    if data.tiebreaker_field:
        body["tiebreaker_field"] = data.tiebreaker_field
    if data.event_category_override:
        body["event_category_field"] = data.event_category_override
    return body


def _exceptions(rule: Rule, schema: FieldSchema) -> list[Any]:
    from kmsdet.backends.exceptions import exception_node
    from kmsdet.kql.ast import Or, Span
    from kmsdet.kql.dsl import build_es_query

    items = rule.kmsdet.exceptions if rule.kmsdet else []
    if not items:
        return []
    return [build_es_query(Or(tuple(exception_node(i) for i in items), Span(0, 0)), schema)]


def alerts_from_response(rule: Rule, response: Mapping[str, Any]) -> list[Alert]:
    """Kibana's alerts for an EQL search response: events, or sequences with their events."""
    hits = response.get("hits", {})
    matches: list[EqlMatch] = []
    for event in hits.get("events") or []:
        matches.append(EqlMatch((event.get("_source", {}),), False))
    for sequence in hits.get("sequences") or []:
        events = tuple(e.get("_source", {}) for e in sequence.get("events", [])
                       if not e.get("missing"))
        matches.append(EqlMatch(events, True))
    return to_alerts(rule.rule_id, matches)
