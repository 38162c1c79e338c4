"""A backtest: scan the sources once, then run each rule's schedule over what it matched."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kmsdet.backends.base import Alert
from kmsdet.backends.documents import first_value
from kmsdet.backends.streaming import schedule_alerts
from kmsdet.backtest.report_fields import PRINCIPAL_FIELD, SOURCE_IP_FIELD
from kmsdet.backtest.scan import (
    ScanPlan,
    ScanResult,
    Skipped,
    Source,
    build_plan,
    discover,
    scan,
    scan_documents,
)
from kmsdet.rules.model import Rule


@dataclass(frozen=True)
class ReplayAlert:
    rule_id: str
    rule_name: str
    event_id: str | None
    timestamp: str | None
    principal: str | None = None
    source_ip: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "rule_name": self.rule_name, "event_id": self.event_id,
                "@timestamp": self.timestamp, "principal": self.principal,
                "source_ip": self.source_ip}


@dataclass
class BacktestResult:
    rules: list[Rule]
    alerts: list[ReplayAlert]
    events: int
    mapped: int = 0
    runs: int = 0
    sources: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def backtest(rules: Sequence[Rule], paths: Iterable[Path | str], *,
             since: datetime | None = None, until: datetime | None = None,
             workers: int | None = None, keep_going: bool = False,
             on_progress: Callable[[int, int, int], None] | None = None) -> BacktestResult:
    """The alerts ``rules`` would have raised, live on their schedules, over the events in
    ``paths`` (files, folders in CloudTrail's S3 layout, ``-`` for standard input)."""
    plan = build_plan(rules, since=since, until=until)
    sources: list[Source] = discover(paths)
    scanned = scan(plan, sources, workers=workers, keep_going=keep_going,
                   on_progress=on_progress)
    result = schedule(plan, scanned)
    result.sources = len(sources)
    return result


def backtest_documents(rules: Sequence[Rule],
                       items: Iterable[tuple[str, Mapping[str, Any]]]) -> BacktestResult:
    """The same over records or documents in memory (``("raw"|"ecs", obj)`` pairs)."""
    plan = build_plan(rules)
    return schedule(plan, scan_documents(plan, items))


def schedule(plan: ScanPlan, scanned: ScanResult) -> BacktestResult:
    """Each rule's schedule from its first to its last event (or --since/--until) over the
    documents it matched."""
    alerts: list[ReplayAlert] = []
    runs = 0
    for index, rule in enumerate(plan.rules):
        bounds = scanned.bounds[plan.rule_slot[index]]
        if bounds is None:
            continue
        found, count = rule_alerts(plan, scanned, index, start=plan.since or bounds[0],
                                   end=plan.until or bounds[1])
        runs += count
        alerts.extend(_replay_alert(rule, a) for a in found)
    alerts.sort(key=lambda a: (a.timestamp or "", a.rule_name))
    return BacktestResult(rules=plan.rules, alerts=alerts, events=scanned.events,
                          mapped=scanned.mapped, runs=runs, skipped=scanned.skipped)


def rule_alerts(plan: ScanPlan, scanned: ScanResult, index: int, *, start: datetime,
                end: datetime) -> tuple[list[Alert], int]:
    """The alerts rule ``index`` of the plan raises from ``start`` to ``end``, and its runs."""
    rule, hits = plan.rules[index], scanned.hits[index]
    if not hits:
        return [], 0
    if index in plan.date_rules:
        return _rematched_per_run(rule, [h.doc for h in sorted(hits)], start, end)
    outcome = schedule_alerts(rule, hits, start=start, end=end)
    return outcome.alerts, outcome.runs


def _rematched_per_run(rule: Rule, docs: list[dict[str, Any]], start: datetime,
                       end: datetime) -> tuple[list[Alert], int]:
    """A query with date math matches differently at each run time: run the per-run schedule
    over the documents its time-independent part matched (a superset of every run's hits)."""
    from kmsdet.backends.embedded import EmbeddedBackend
    from kmsdet.backends.schedule import run_on_schedule

    return run_on_schedule(rule, docs, EmbeddedBackend(workers=1), start=start, end=end,
                           prefix=f"kmsdet-replay-{rule.rule_id}")


def _replay_alert(rule: Rule, alert: Alert) -> ReplayAlert:
    source = alert.source or {}
    principal = first_value(source, PRINCIPAL_FIELD) if source else None
    if principal is None and "threshold_result" in source:
        for term in source["threshold_result"].get("terms", []):
            if term.get("field") == PRINCIPAL_FIELD:
                principal = term.get("value")
    source_ip = first_value(source, SOURCE_IP_FIELD) if source else None
    return ReplayAlert(rule.rule_id, rule.name, alert.event_id, alert.timestamp,
                       str(principal) if principal is not None else None,
                       str(source_ip) if source_ip is not None else None)
