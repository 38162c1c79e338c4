"""Backtesting over data already in the user's Elasticsearch: the cluster does the scan.

Each rule's query (the DSL Kibana would send, exceptions included, plus the time range) is
searched once over the whole span with a point in time and ``search_after``, so only the
documents the rule matches ever leave the cluster, page by page, and the streaming schedule
runs on them here exactly as on files. Where the schedule starts and ends (the first and last
event a rule could range on) comes from min/max aggregations, not from reading documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from elasticsearch import Elasticsearch

from kmsdet.backends.elasticsearch import rejected_search
from kmsdet.backends.embedded import _sort_time
from kmsdet.backends.schedule import doc_time
from kmsdet.backends.streaming import Hit
from kmsdet.backtest.engine import BacktestResult, schedule
from kmsdet.backtest.prefilter import necessary_clause
from kmsdet.backtest.scan import ScanPlan, ScanResult, build_plan, project, widen
from kmsdet.eql.rule import program_for
from kmsdet.errors import UsageError
from kmsdet.es.client import SearchRefused, complete_search
from kmsdet.es.search import range_filter, rule_query, sort_clause
from kmsdet.fields.registry import DEFAULT_SECURITY_INDICES, schema_for_indices
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import time_field

PAGE = 1000
KEEP_ALIVE = "2m"


def backtest_elasticsearch(rules: Sequence[Rule], client: Elasticsearch,
                           target: Any = None, *, since: datetime | None = None,
                           until: datetime | None = None, index: str | None = None,
                           page: int = PAGE) -> BacktestResult:
    """The alerts ``rules`` would have raised over the documents in ``index`` (default: each
    rule's own index patterns) between ``since`` and ``until`` (default: all of them)."""
    from kmsdet.es.client import translate_errors

    plan = build_plan(rules, since=since, until=until)
    scanned = ScanResult(hits=[[] for _ in plan.rules], bounds=[None] * len(plan.slots))
    with translate_errors(target, "search"):
        for number, rule in enumerate(plan.rules):
            try:
                _rule_hits(client, plan, scanned, number, index, page)
            except SearchRefused as exc:
                raise rejected_search(rule, exc.error) from None
    result = schedule(plan, scanned)
    result.events = _count(client, plan, index)
    return result


def _rule_hits(client: Elasticsearch, plan: ScanPlan, scanned: ScanResult, number: int,
               index: str | None, page: int) -> None:
    """Rule ``number``'s schedule bounds and matching documents, into ``scanned``."""
    rule = plan.rules[number]
    indices = [index] if index else list(rule.rule.index or DEFAULT_SECURITY_INDICES)
    slot = plan.rule_slot[number]
    bounds = _bounds(client, indices, plan, rule)
    scanned.bounds[slot] = widen(scanned.bounds[slot], bounds)
    if bounds is None:
        return
    query = _search_query(plan, number, rule)
    exact = program_for(rule).prefilter if rule.rule.type == "eql" else None
    fields = plan.fields_kept(number)
    for position, source in enumerate(_matching(client, indices, query, rule, page)):
        moment = doc_time(rule, source)
        if moment is not None and (exact is None or exact(source)):
            kept = source if fields is None else project(source, fields)
            scanned.hits[number].append(Hit(moment, _sort_time(source), (position,), kept))


def _search_query(plan: ScanPlan, number: int, rule: Rule) -> dict[str, Any]:
    """The rule's query and the backtest's time range. A query with date math is searched by
    its time-independent part, and each run re-matches what comes back."""
    schema = schema_for_indices(tuple(rule.rule.index or ()))
    if rule.rule.type == "eql":
        query = _eql_superset(rule)
    elif number in plan.date_rules:
        from kmsdet.backends.embedded import EmbeddedBackend
        from kmsdet.kql.dsl import build_es_query

        clause = necessary_clause(EmbeddedBackend().query_node(rule))
        if clause is None:
            raise UsageError(f"'{rule.name}' uses date math and has no clause on "
                             "event.provider/event.action to search by",
                             file=str(rule.source.path), field="rule.query",
                             hint="backtest it over files, or add such a clause")
        query = dict(build_es_query(clause, schema))
    else:
        query = rule_query(rule, schema)
    limits = _time_limits(plan, rule)
    return {"bool": {"filter": [query] if limits is None else [query, limits]}}


def _time_limits(plan: ScanPlan, rule: Rule) -> dict[str, Any] | None:
    """--since/--until as a range on the rule's time field (None when neither is given)."""
    if plan.since is None and plan.until is None:
        return None
    return range_filter(rule, plan.since or datetime(1970, 1, 1, tzinfo=timezone.utc),
                        plan.until or datetime(9999, 1, 1, tzinfo=timezone.utc))


def _eql_superset(rule: Rule) -> dict[str, Any]:
    """A search returning every document any event query of the EQL rule may match: its
    clauses on event.provider/event.action, case-insensitive (so a superset whatever the
    operator's case rules); the EQL engine then keeps exactly its own matches."""
    from kmsdet.backtest.prefilter import eql_probe_clauses

    steps = eql_probe_clauses(rule)
    dsl = [_eql_dsl(clauses) for clauses in steps] if steps is not None else None
    if dsl is None or any(d is None for d in dsl):
        raise UsageError(f"'{rule.name}' cannot be backtested on Elasticsearch: an event query "
                         "has no plain clause on event.provider or event.action to search by",
                         file=str(rule.source.path), field="rule.query",
                         hint="backtest it over files, or add such a clause to each event query")
    return {"bool": {"should": dsl, "minimum_should_match": 1}}


def _eql_dsl(clauses: Any) -> dict[str, Any] | None:
    from kmsdet.eql import ast as eql

    if isinstance(clauses, list):
        parts = [_eql_dsl(c) for c in clauses]
        return None if any(p is None for p in parts) else {"bool": {"filter": parts}}
    if isinstance(clauses, (eql.And, eql.Or)):
        parts = [_eql_dsl(c) for c in clauses.items]
        if any(p is None for p in parts):
            return None
        return {"bool": {"filter": parts}} if isinstance(clauses, eql.And) else \
            {"bool": {"should": parts, "minimum_should_match": 1}}
    if isinstance(clauses, eql.Compare):
        return _term(clauses.left.path, clauses.right.value)
    if isinstance(clauses, eql.InSet):
        return {"bool": {"should": [_term(clauses.expr.path, v.value) for v in clauses.values],
                         "minimum_should_match": 1}}
    if isinstance(clauses, eql.Pattern) and not any("\\" in p for p in clauses.patterns):
        return {"bool": {"should": [{"wildcard": {clauses.expr.path: {
            "value": p, "case_insensitive": True}}} for p in clauses.patterns],
            "minimum_should_match": 1}}
    return None


def _term(field: str, value: Any) -> dict[str, Any]:
    return {"term": {field: {"value": value, "case_insensitive": True}}}


def _matching(client: Elasticsearch, indices: list[str], query: Mapping[str, Any], rule: Rule,
              page: int):  # noqa: ANN202 - iterator of _source documents
    pit = client.open_point_in_time(index=",".join(indices), keep_alive=KEEP_ALIVE,
                                    ignore_unavailable=True)
    pit_id = pit["id"]
    try:
        after = None
        while True:
            body: dict[str, Any] = {
                "size": page, "query": query, "track_total_hits": False,
                "pit": {"id": pit_id, "keep_alive": KEEP_ALIVE},
                "sort": [*sort_clause(rule), {"_shard_doc": "asc"}],
            }
            if after is not None:
                body["search_after"] = after
            response = complete_search(client, body=body)
            pit_id = response.get("pit_id", pit_id)
            hits = response["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < page:
                return
            after = hits[-1]["sort"]
    finally:
        client.close_point_in_time(id=pit_id)


def _bounds(client: Elasticsearch, indices: list[str], plan: ScanPlan,
            rule: Rule) -> tuple[datetime, datetime] | None:
    """The earliest and latest time the rule ranges on, over every document (matched or not),
    within --since/--until: the reference schedule starts at the first event read."""
    primary, fallback = time_field(rule.rule.timestamp_override,
                                   rule.rule.timestamp_override_fallback_disabled)
    aggs: dict[str, Any] = {"lo": {"min": {"field": primary}},
                            "hi": {"max": {"field": primary}}}
    if fallback:
        aggs["fallback"] = {"filter": {"bool": {"must_not": {"exists": {"field": primary}}}},
                            "aggs": {"lo": {"min": {"field": "@timestamp"}},
                                     "hi": {"max": {"field": "@timestamp"}}}}
    query = _time_limits(plan, rule) or {"match_all": {}}
    response = complete_search(client, index=",".join(indices), size=0, query=query, aggs=aggs,
                             ignore_unavailable=True, allow_no_indices=True)
    found = response.get("aggregations", {})
    values = [found.get("lo", {}).get("value"), found.get("hi", {}).get("value")]
    more = found.get("fallback", {})
    candidates = [(values[0], values[1]), (more.get("lo", {}).get("value"),
                                           more.get("hi", {}).get("value"))]
    bounds = None
    for low, high in candidates:
        if low is None or high is None:
            continue
        bounds = widen(bounds, (_millis(low), _millis(high)))
    return bounds


def _count(client: Elasticsearch, plan: ScanPlan, index: str | None) -> int:
    indices = sorted({i for r in plan.rules for i in (r.rule.index or DEFAULT_SECURITY_INDICES)})
    response = client.count(index=index or ",".join(indices), ignore_unavailable=True,
                            allow_no_indices=True)
    return int(response.get("count", 0))


def _millis(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)

