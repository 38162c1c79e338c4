"""Kibana's rule schedule computed from matched documents alone: the streaming engine's core.

:func:`kmsdet.backends.schedule.run_on_schedule` runs a rule the way Kibana does, one run at a
time, each run re-reading its window (and a new_terms rule its whole history window) through a
backend. That is the reference, and what service backends still do. Here the same alerts come
from only the documents the rule's query matched, each read once:

* a run's window is a slice of the rule's time-sorted hits (found by bisection), so a run costs
  what its window holds, never what the whole log holds;
* one alert per event across overlapping look-backs, ``max_signals`` per run and the threshold
  history are applied exactly as the reference applies them, run by run;
* a new_terms rule never re-reads history: for each hit and each of its term tuples the time
  the tuple was last seen before it is computed in one pass, and a term is new in a run exactly
  when that time falls before the run's history start (or there is none).

Hits carry a sequence number (their place in the input) so that ties in time sort as the
reference sorts them: by the range field, then ``@timestamp``, then input order.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmsdet.backends.base import Alert
from kmsdet.backends.embedded import (
    ALERTS_MAX,
    _event_alert,
    _sort_time,
    _terms,
    threshold_alerts,
)
from kmsdet.backends.schedule import _remember_threshold, _runs, _without_covered, doc_time
from kmsdet.eql.rule import eql_alerts
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_MAX_SIGNALS, resolve, window


@dataclass(order=True, slots=True)
class Hit:
    """A document the rule's query matched, with the keys Kibana sorts a run's results on."""

    time: datetime
    sort_time: datetime
    seq: tuple[int, ...]
    doc: dict[str, Any] = field(compare=False)


@dataclass
class ScheduleResult:
    alerts: list[Alert]
    runs: int


def schedule_alerts(rule: Rule, hits: list[Hit], *, start: datetime,
                    end: datetime) -> ScheduleResult:
    """Every alert ``rule`` raises on its schedule from ``start`` to ``end`` over ``hits`` (the
    documents its query matched), in the order the reference raises them."""
    data = rule.rule
    hits.sort()
    times = [h.time for h in hits]
    cap = min(data.max_signals or DEFAULT_MAX_SIGNALS, ALERTS_MAX)
    previous = _previous_sightings(rule, hits) if data.type == "new_terms" else []
    history_window = (data.new_terms.history_window or "now-7d") if data.new_terms else None
    alerts: list[Alert] = []
    seen_events: set[str] = set()
    threshold_history: dict[tuple[str, ...], datetime] = {}
    runs = 0
    for at in _runs(rule, times, start, end):
        runs += 1
        lo, hi = window(data.from_, data.to, at)
        first, last = bisect.bisect_left(times, lo), bisect.bisect_right(times, hi)
        if data.type == "threshold":
            docs = _without_covered(rule, [h.doc for h in hits[first:last]], threshold_history)
            timed = [(t, d) for d in docs if (t := doc_time(rule, d)) is not None]
            timed.sort(key=lambda pair: (pair[0], _sort_time(pair[1])))
            for alert in threshold_alerts(rule, timed)[:cap]:
                _remember_threshold(rule, alert, docs, at, threshold_history)
                alerts.append(alert)
            continue
        if data.type == "eql":
            # Kibana's EQL search orders by its own timestamp and tiebreaker fields; what is
            # left tied keeps the order the per-run search read the window in.
            read = sorted(hits[first:last], key=lambda h: (h.time, h.seq))
            raised = eql_alerts(rule, [h.doc for h in read])
        elif data.type == "new_terms":
            assert history_window is not None
            since = min(lo, resolve(history_window, at))
            raised = [_event_alert(rule.rule_id, h.doc)
                      for i, h in enumerate(hits[first:last], start=first)
                      if any(p is None or p < since for p in previous[i])][:cap]
        else:
            raised = [_event_alert(rule.rule_id, h.doc) for h in hits[first:last][:cap]]
        for alert in raised:
            if alert.event_id is not None:
                if alert.event_id in seen_events:
                    continue
                seen_events.add(alert.event_id)
            alerts.append(alert)
    return ScheduleResult(alerts=alerts, runs=runs)


def _previous_sightings(rule: Rule, hits: Sequence[Hit]) -> list[list[datetime | None]]:
    """For each hit (sorted), the time each of its new_terms tuples was last seen before it."""
    spec = rule.rule.new_terms
    assert spec is not None
    last_seen: dict[tuple[str, ...], datetime] = {}
    out: list[list[datetime | None]] = []
    for hit in hits:
        terms = _terms(hit.doc, spec.value)
        out.append([last_seen.get(t) for t in terms])
        for term in terms:
            last_seen[term] = hit.time
    return out


def make_hit(rule: Rule, doc: dict[str, Any], seq: tuple[int, ...]) -> Hit | None:
    """A hit for ``doc``, or None when the document has no time the rule can range on."""
    when = doc_time(rule, doc)
    if when is None:
        return None
    return Hit(when, _sort_time(doc), seq, doc)


__all__ = ["Hit", "ScheduleResult", "make_hit", "schedule_alerts"]
