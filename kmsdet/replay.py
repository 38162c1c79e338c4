"""Replaying real logs through the rules as if each rule had run on its schedule.

Kibana runs a rule every ``interval`` over ``from``..``to``; look-backs overlap, and an event
seen by two runs yields one alert because the alert id is derived from the source document.
Replay walks the events' whole time span with that schedule, so its answer is the set of
alerts the detection engine would have raised had the rules been live when the events arrived.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kmsdet.backends.documents import first_value
from kmsdet.backends.embedded import EmbeddedBackend, rule_time
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_INTERVAL, duration_seconds, lookback_seconds


@dataclass(frozen=True)
class ReplayAlert:
    rule_id: str
    rule_name: str
    event_id: str | None
    timestamp: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "rule_name": self.rule_name, "event_id": self.event_id,
                "@timestamp": self.timestamp}


def replay(rules: Sequence[Rule], documents: Sequence[Mapping[str, Any]]) -> list[ReplayAlert]:
    backend = EmbeddedBackend()
    alerts: list[ReplayAlert] = []
    for rule in rules:
        alerts.extend(_replay_rule(backend, rule, documents))
    alerts.sort(key=lambda a: (a.timestamp or "", a.rule_name))
    return alerts


def _replay_rule(backend: EmbeddedBackend, rule: Rule,
                 documents: Sequence[Mapping[str, Any]]) -> list[ReplayAlert]:
    data = rule.rule
    primary = data.timestamp_override or "@timestamp"
    fallback = primary != "@timestamp" and not data.timestamp_override_fallback_disabled
    timed = sorted(((t, d) for d in documents
                    if (t := rule_time(d, primary, fallback)) is not None), key=lambda x: x[0])
    if not timed:
        return []
    times = [t for t, _ in timed]
    interval = timedelta(seconds=duration_seconds(data.interval or DEFAULT_INTERVAL) or 300)
    lookback = timedelta(seconds=max(lookback_seconds(data.from_) or 0, 0))
    seen: set[int] = set()
    out: list[ReplayAlert] = []
    run_at: datetime = times[0]
    while True:
        lo = bisect.bisect_left(times, run_at - lookback)
        hi = bisect.bisect_right(times, run_at)
        window_docs = [d for _, d in timed[lo:hi]]
        for alert in backend.run(rule, window_docs, run_at):
            key = id(alert.source)
            if key in seen:
                continue  # Kibana's alert id is derived from the event: one alert per event
            seen.add(key)
            event_id = first_value(alert.source, "event.id")
            out.append(ReplayAlert(data.rule_id, data.name,
                                   str(event_id) if event_id is not None else None,
                                   alert.timestamp))
        if run_at >= times[-1]:
            break
        run_at = _next_run(run_at, interval, lookback, times)
    return out


def _next_run(run_at: datetime, interval: timedelta, lookback: timedelta,
              times: Sequence[datetime]) -> datetime:
    """The next scheduled run whose window holds an event; empty runs are skipped exactly."""
    nxt = run_at + interval
    lo = bisect.bisect_left(times, nxt - lookback)
    hi = bisect.bisect_right(times, nxt)
    if lo < hi or hi >= len(times):
        return nxt
    steps = math.ceil((times[hi] - run_at) / interval)
    return run_at + steps * interval
