"""The backtest as a terminal table: one row a rule, a sparkline of alerts per day."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kmsdet.backtest.engine import BacktestResult
from kmsdet.backtest.summary import Summary, sparkline


def render_backtest(console: Console, result: BacktestResult, summary: Summary) -> None:
    table = Table(title="Backtest", title_justify="left", show_lines=False)
    table.add_column("rule", min_width=30)
    table.add_column("alerts", justify="right")
    first, last = (summary.days[0], summary.days[-1]) if summary.days else ("", "")
    table.add_column(f"per day {first}..{last}" if first else "per day", no_wrap=True)
    table.add_column("top principal", max_width=48, overflow="fold")
    table.add_column("top source IP", no_wrap=True)
    table.add_column("first alert", no_wrap=True)
    table.add_column("last alert", no_wrap=True)
    for rule in sorted(summary.rules, key=lambda r: (-r.alerts, r.rule_name)):
        principal = f"{rule.principals[0][0]} ({rule.principals[0][1]})" if rule.principals \
            else ""
        source_ip = f"{rule.source_ips[0][0]} ({rule.source_ips[0][1]})" if rule.source_ips \
            else ""
        table.add_row(escape(rule.rule_name), str(rule.alerts),
                      sparkline(rule.per_day, summary.days), escape(principal),
                      escape(source_ip), rule.first or "", rule.last or "")
    # Off a terminal (CI logs, files) nothing limits the width: do not fold rule names.
    narrow = console.width
    if not console.is_terminal:
        console.width = max(narrow, 200)
    try:
        console.print(table)
    finally:
        console.width = narrow
    alerting = sum(1 for r in summary.rules if r.alerts)
    console.print(f"{len(result.alerts)} alerts from {alerting} of {len(result.rules)} rules on "
                  f"{result.events} events ({_plural(result.sources, 'file')}, "
                  f"{result.mapped} mapped to ECS, {result.runs} rule runs)")
    for skipped in result.skipped:
        what = "skipped the file" if skipped.whole_file else \
            f"skipped {_plural(skipped.records, 'record')}"
        console.print(f"[yellow]warning:[/] {escape(skipped.label)}: {what}: "
                      f"{escape(skipped.reason)}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
