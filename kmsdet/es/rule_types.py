"""Threshold and new_terms rules on Elasticsearch: aggregations over the run's search.

Both start from the same filtered search as a query rule (kmsdet.es.search) and let the
cluster do the grouping, as Kibana's executors do:

* threshold: a composite aggregation over ``threshold.field`` (documents missing a field fall
  out, as in Kibana), each bucket with its document count, the distinct count of the
  cardinality field and its earliest document; buckets reaching the threshold are alerts.
  With no fields the whole window is one group.
* new_terms: the terms already seen in the history window (``history_window_start`` up to the
  run's ``from``) come from a composite aggregation; the run's hits, oldest first, each raise
  an alert when they carry a term combination not seen before.

Term values are read from doc values in both places, so both sides compare like with like.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from kmsdet.backends.base import Alert
from kmsdet.backends.documents import first_value
from kmsdet.es.client import complete_search
from kmsdet.es.search import max_alerts, range_filter, rule_search, sort_clause
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import resolve, window

PAGE = 1000
WINDOW_HITS_MAX = 10_000  # index.max_result_window: the most one search returns
DEFAULT_HISTORY = "now-7d"


def threshold_alerts(client: Elasticsearch, rule: Rule, query: Mapping[str, Any], *,
                     now: datetime, run_id: str | None) -> list[Alert]:
    spec = rule.rule.threshold
    if spec is None:
        return []
    fields = [f for f in spec.fields if f]
    card = spec.cardinality[0] if spec.cardinality else None
    sub: dict[str, Any] = {"first": {"top_hits": {"size": 1, "sort": sort_clause(rule)}}}
    if card is not None:
        sub["distinct"] = {"cardinality": {"field": card.field}}
    base = rule_search(rule, query, now=now, run_id=run_id)
    buckets: Iterator[Mapping[str, Any]]
    if fields:
        sources = [{f"f{i}": {"terms": {"field": f}}} for i, f in enumerate(fields)]
        buckets = _composite(client, base.index, base.body["query"], sources, sub)
    else:
        body = {"size": 0, "query": base.body["query"], "track_total_hits": True, "aggs": sub}
        response = complete_search(client, index=base.index, ignore_unavailable=True,
                                  allow_no_indices=True, **body)
        total = response["hits"]["total"]["value"]
        buckets = iter([{"key": {}, "doc_count": total, **response.get("aggregations", {})}]
                       if total else [])
    alerts = []
    for bucket in buckets:
        count = int(bucket["doc_count"])
        if count < spec.value:
            continue
        if card is not None and int(bucket["distinct"]["value"]) < card.value:
            continue
        key = bucket["key"]
        first_hits = bucket["first"]["hits"]["hits"]
        first = first_hits[0].get("_source", {}) if first_hits else {}
        stamp = first_value(first, "@timestamp")
        source = {"threshold_result": {
            "terms": [{"field": f, "value": _text(key[f"f{i}"])} for i, f in enumerate(fields)],
            "count": count}}
        alerts.append(Alert(rule_id=rule.rule_id, event_id=None,
                            timestamp=str(stamp) if stamp is not None else None,
                            source=source))
    return alerts[:max_alerts(rule)]


def new_terms_alerts(client: Elasticsearch, rule: Rule, query: Mapping[str, Any], *,
                     now: datetime, run_id: str | None) -> list[Alert]:
    spec = rule.rule.new_terms
    if spec is None:
        return []
    fields = list(spec.value)
    start, _ = window(rule.rule.from_, rule.rule.to, now)
    history_start = resolve(spec.history_window or DEFAULT_HISTORY, now)
    history = rule_search(rule, query, now=now, run_id=run_id,
                          time_range=range_filter(rule, history_start, start,
                                                  end_inclusive=False))
    sources = [{f"f{i}": {"terms": {"field": f}}} for i, f in enumerate(fields)]
    known = {tuple(_text(b["key"][f"f{i}"]) for i in range(len(fields)))
             for b in _composite(client, history.index, history.body["query"], sources, {})}
    current = rule_search(rule, query, now=now, run_id=run_id)
    body = {**current.body, "size": WINDOW_HITS_MAX,
            "docvalue_fields": [{"field": f} for f in fields]}
    response = complete_search(client, index=current.index, ignore_unavailable=True,
                             allow_no_indices=True, **body)
    alerts = []
    for hit in response["hits"]["hits"]:
        fresh = [t for t in _combinations(hit.get("fields", {}), fields) if t not in known]
        if not fresh:
            continue
        known.update(fresh)
        source = hit.get("_source", {})
        event_id, stamp = first_value(source, "event.id"), first_value(source, "@timestamp")
        alerts.append(Alert(rule_id=rule.rule_id,
                            event_id=str(event_id) if event_id is not None else None,
                            timestamp=str(stamp) if stamp is not None else None,
                            source=source))
        if len(alerts) >= max_alerts(rule):
            break
    return alerts


def _composite(client: Elasticsearch, index: Sequence[str], query: Mapping[str, Any],
               sources: list[dict[str, Any]],
               sub: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every bucket of a composite aggregation, page by page."""
    after: Mapping[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": PAGE, "sources": sources}
        if after is not None:
            composite["after"] = after
        aggs: dict[str, Any] = {"groups": {"composite": composite}}
        if sub:
            aggs["groups"]["aggs"] = dict(sub)
        response = complete_search(client, index=list(index), ignore_unavailable=True,
                                 allow_no_indices=True, size=0, query=query, aggs=aggs)
        groups = response.get("aggregations", {}).get("groups", {})
        yield from groups.get("buckets", [])
        after = groups.get("after_key")
        if not after or len(groups.get("buckets", [])) < PAGE:
            return


def _combinations(values: Mapping[str, list[Any]], fields: Sequence[str]) -> list[tuple[str, ...]]:
    """Each combination of the fields' values in one hit; none when a field is missing."""
    combos: list[tuple[str, ...]] = [()]
    for name in fields:
        texts = list(dict.fromkeys(_text(v) for v in values.get(name, [])))
        if not texts:
            return []
        combos = [c + (t,) for c in combos for t in texts]
    return combos


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
