"""The replay that kmsdet shipped before the streaming engine, kept as the test reference.

Every rule runs every scheduled window through the embedded backend, re-reading each window's
documents (and a new_terms rule its whole history) from a list of every document held in
memory. Slow, but plainly Kibana's per-run behaviour: the streaming engine must agree with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.backends.schedule import doc_time, run_on_schedule
from kmsdet.backtest.engine import ReplayAlert, _replay_alert
from kmsdet.rules.model import Rule


def replay_per_run(rules: Sequence[Rule],
                   documents: Sequence[Mapping[str, Any]]) -> list[ReplayAlert]:
    backend = EmbeddedBackend(workers=1)
    alerts: list[ReplayAlert] = []
    for rule in rules:
        times = [t for d in documents if (t := doc_time(rule, d)) is not None]
        if not times:
            continue
        found, _ = run_on_schedule(rule, documents, backend, start=min(times), end=max(times),
                                   prefix=f"kmsdet-replay-{rule.rule_id}")
        alerts.extend(_replay_alert(rule, a) for a in found)
    alerts.sort(key=lambda a: (a.timestamp or "", a.rule_name))
    return alerts
