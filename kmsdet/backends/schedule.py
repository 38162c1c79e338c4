"""Running a rule on its schedule over a span of events, as Kibana would have.

Kibana runs a rule every ``interval`` over ``from``..``to``. Look-backs overlap, so an event seen
by two runs must yield one alert (the alert id derives from the event), and a threshold group
that alerted is not counted again for the events it already covered (the rule's threshold
history). Storylines and ``kmsdet replay`` both need exactly this, on any backend.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from kmsdet.backends.base import RUN_ID_FIELD, Alert, Backend, Execution
from kmsdet.backends.documents import parse_time, values_at
from kmsdet.backends.embedded import rule_time
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_INTERVAL, duration_seconds, resolve, time_field, window

Doc = Mapping[str, Any]


def doc_time(rule: Rule, doc: Doc) -> datetime | None:
    """The time the rule's executor ranges on for ``doc`` (override, else @timestamp)."""
    data = rule.rule
    return rule_time(doc, *time_field(data.timestamp_override,
                                      data.timestamp_override_fallback_disabled))


def run_times(rule: Rule, documents: Sequence[Doc], *, start: datetime,
              end: datetime) -> list[datetime]:
    """The scheduled runs from ``start`` up to the first at or after ``end``, keeping only the
    runs whose window holds a document (an empty window cannot raise an alert). Empty
    stretches are skipped arithmetically, so a year of logs costs no more than its events."""
    times = sorted(t for d in documents if (t := doc_time(rule, d)) is not None)
    return list(_runs(rule, times, start, end))


def _runs(rule: Rule, times: Sequence[datetime], start: datetime,
          end: datetime) -> Iterator[datetime]:
    data = rule.rule
    step = timedelta(seconds=duration_seconds(data.interval or DEFAULT_INTERVAL) or 300)
    at = start
    while True:
        lo, hi = window(data.from_, data.to, at)
        first = bisect.bisect_left(times, lo)
        if first >= len(times):
            return  # windows only move forward: no later run can hold an event
        if times[first] <= hi:
            yield at
        if at >= end:
            return
        at += step
        lo, hi = window(data.from_, data.to, at)
        following = bisect.bisect_left(times, lo)
        if following < len(times) and times[following] > hi:
            # No event in that window: jump to the first run whose window reaches the next
            # event; the runs in between would search nothing.
            at += step * math.ceil((times[following] - hi) / step)


def run_on_schedule(rule: Rule, documents: Sequence[Doc], backend: Backend, *,
                    start: datetime, end: datetime, prefix: str) -> tuple[list[Alert], int]:
    """Every alert the rule raises from ``start`` to ``end``, one run at a time (a threshold
    rule's history must be known before its next run), and how many runs that took."""
    data = rule.rule
    timed = sorted(((t, d) for d in documents if (t := doc_time(rule, d)) is not None),
                   key=lambda pair: pair[0])
    times = [t for t, _ in timed]
    alerts: list[Alert] = []
    seen_events: set[str] = set()
    threshold_history: dict[tuple[str, ...], datetime] = {}
    runs = 0
    for at in _runs(rule, times, start, end):
        runs += 1
        lo, hi = window(data.from_, data.to, at)
        if data.type == "new_terms" and data.new_terms is not None:
            lo = min(lo, resolve(data.new_terms.history_window or "now-7d", at))
        docs = [d for _, d in timed[bisect.bisect_left(times, lo):bisect.bisect_right(times, hi)]]
        docs = _without_covered(rule, docs, threshold_history)
        run_id = f"{prefix}-{runs}"
        execution = Execution(rule=rule, documents=[_with_run_id(d, run_id) for d in docs],
                              now=at, run_id=run_id)
        for alert in backend.execute([execution])[0]:
            if data.type == "threshold":
                _remember_threshold(rule, alert, docs, at, threshold_history)
                alerts.append(alert)
            elif alert.event_id is None or alert.event_id not in seen_events:
                if alert.event_id is not None:
                    seen_events.add(alert.event_id)
                alerts.append(alert)
    return alerts, runs


def _with_run_id(doc: Doc, run_id: str) -> dict[str, Any]:
    """A copy of ``doc`` tagged for one execution (service backends seed each run apart)."""
    head, leaf = RUN_ID_FIELD.split(".", 1)
    copy = dict(doc)
    inner = doc.get(head)
    copy[head] = {**(inner if isinstance(inner, Mapping) else {}), leaf: run_id}
    return copy


def _group_terms(rule: Rule, doc: Doc) -> list[tuple[str, ...]]:
    spec = rule.rule.threshold
    fields = spec.fields if spec else []
    values = [[str(v) for v in dict.fromkeys(values_at(doc, f))] for f in fields]
    return [tuple(combo) for combo in itertools.product(*values)]


def _without_covered(rule: Rule, documents: Sequence[Doc],
                     history: Mapping[tuple[str, ...], datetime]) -> list[Doc]:
    """Threshold rules skip events an earlier alert of their group already counted."""
    if rule.rule.type != "threshold" or not history:
        return list(documents)
    kept = []
    for doc in documents:
        when = doc_time(rule, doc)
        covered = [history[t] for t in _group_terms(rule, doc) if t in history]
        if when is not None and covered and all(when <= last for last in covered):
            continue
        kept.append(doc)
    return kept


def _remember_threshold(rule: Rule, alert: Alert, docs: Sequence[Doc], at: datetime,
                        history: dict[tuple[str, ...], datetime]) -> None:
    """Record the newest event of the alerting group, as Kibana's threshold history does."""
    result = alert.source.get("threshold_result", {}) if alert.source else {}
    terms = tuple(str(t.get("value")) for t in result.get("terms", []))
    lo, hi = window(rule.rule.from_, rule.rule.to, at)
    times = [t for d in docs if terms in _group_terms(rule, d)
             and (t := doc_time(rule, d)) is not None and lo <= t <= hi]
    if times:
        history[terms] = max(times)
    elif alert.timestamp:
        stamp = parse_time(alert.timestamp)
        if stamp is not None:
            history[terms] = stamp
