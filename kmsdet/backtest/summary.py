"""What a detection engineer asks of a backtest, per rule: how many alerts, on which days, for
whom and from where, and when the first and last came."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from kmsdet.backtest.engine import BacktestResult, ReplayAlert

TOP = 5


@dataclass
class RuleSummary:
    rule_id: str
    rule_name: str
    alerts: int
    per_day: dict[str, int] = field(default_factory=dict)  # ISO day -> alerts, days with any
    principals: list[tuple[str, int]] = field(default_factory=list)
    source_ips: list[tuple[str, int]] = field(default_factory=list)
    first: str | None = None
    last: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "rule_name": self.rule_name, "alerts": self.alerts,
                "alerts_per_day": self.per_day,
                "top_principals": [{"arn": a, "alerts": n} for a, n in self.principals],
                "top_source_ips": [{"ip": ip, "alerts": n} for ip, n in self.source_ips],
                "first_alert": self.first, "last_alert": self.last}


@dataclass
class Summary:
    rules: list[RuleSummary]
    days: list[str]  # every day from the first to the last alert, for aligned charts

    def as_dict(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.rules]


def summarize(result: BacktestResult) -> Summary:
    """One entry per rule, in the order the rules were given, quiet rules included (a rule
    that stayed silent over a month of logs is an answer too)."""
    by_rule: dict[str, list[ReplayAlert]] = {r.rule_id: [] for r in result.rules}
    for alert in result.alerts:
        by_rule.setdefault(alert.rule_id, []).append(alert)
    rules = [_rule_summary(r.rule_id, r.name, by_rule[r.rule_id]) for r in result.rules]
    days = sorted({day for r in rules for day in r.per_day})
    return Summary(rules=rules, days=_every_day(days))


def _rule_summary(rule_id: str, name: str, alerts: Sequence[ReplayAlert]) -> RuleSummary:
    stamps = sorted(a.timestamp for a in alerts if a.timestamp)
    per_day = Counter(s[:10] for s in stamps)
    principals = Counter(a.principal for a in alerts if a.principal)
    ips = Counter(a.source_ip for a in alerts if a.source_ip)
    return RuleSummary(rule_id=rule_id, rule_name=name, alerts=len(alerts),
                       per_day=dict(sorted(per_day.items())),
                       principals=_top(principals), source_ips=_top(ips),
                       first=stamps[0] if stamps else None,
                       last=stamps[-1] if stamps else None)


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def _every_day(days: Sequence[str]) -> list[str]:
    if not days:
        return []
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


SPARKS = " ▁▂▃▄▅▆▇█"


def sparkline(per_day: dict[str, int], days: Sequence[str]) -> str:
    """One character per day of the whole backtest, height by that day's alerts."""
    values = [per_day.get(d, 0) for d in days]
    peak = max(values, default=0)
    if peak == 0:
        return ""
    return "".join(SPARKS[0] if v == 0 else SPARKS[max(1, round(v / peak * 8))] for v in values)
