"""The backtest report: the terminal table, the JSON summary and the offline HTML chart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from kmsdet.backtest.engine import BacktestResult, ReplayAlert
from kmsdet.backtest.summary import sparkline, summarize
from kmsdet.reports.backtest_html import backtest_page
from kmsdet.reports.backtest_text import render_backtest
from kmsdet.rules.loader import load_rules

PACK = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    rules = load_rules([PACK])
    a, b = rules[0], rules[1]

    def alert(rule, day: int, principal: str, ip: str, n: int) -> ReplayAlert:
        return ReplayAlert(rule.rule_id, rule.name, f"{rule.rule_id}-{day}-{n}",
                           f"2026-10-{day:02d}T10:00:0{n}.000Z", principal, ip)

    alerts = [alert(a, 1, "arn:x", "1.1.1.1", 1), alert(a, 1, "arn:x", "2.2.2.2", 2),
              alert(a, 3, "arn:y", "1.1.1.1", 1), alert(b, 2, "arn:z", "3.3.3.3", 1)]
    return BacktestResult(rules=rules, alerts=alerts, events=1000, mapped=10, runs=4, sources=2)


def test_summary_per_rule(result: BacktestResult) -> None:
    summary = summarize(result)
    assert summary.days == ["2026-10-01", "2026-10-02", "2026-10-03"]
    first = summary.rules[0]
    assert first.alerts == 3
    assert first.per_day == {"2026-10-01": 2, "2026-10-03": 1}
    assert first.principals == [("arn:x", 2), ("arn:y", 1)]
    assert first.source_ips[0] == ("1.1.1.1", 2)
    assert (first.first, first.last) == ("2026-10-01T10:00:01.000Z", "2026-10-03T10:00:01.000Z")
    assert [r.alerts for r in summary.rules[2:]] == [0] * (len(result.rules) - 2)


def test_sparkline_scales_to_the_busiest_day() -> None:
    assert sparkline({"d1": 4, "d3": 1}, ["d1", "d2", "d3"]) == "█ ▂"
    assert sparkline({}, ["d1"]) == ""


def test_text_table_names_rules_counts_and_principals(result: BacktestResult) -> None:
    console = Console(width=240, record=True)
    render_backtest(console, result, summarize(result))
    text = console.export_text()
    assert result.rules[0].name in text and "arn:x (2)" in text and "█ ▄" in text
    assert f"4 alerts from 2 of {len(result.rules)} rules on 1000 events (2 files" in text


def test_html_page_is_offline_and_has_one_series_per_alerting_rule(
        result: BacktestResult) -> None:
    page = backtest_page(result, summarize(result))
    assert "<script src=" not in page.replace('<script src="data:', "")  # no network fetches
    assert "Plotly.newPlot" in page
    figure = re.search(r'Plotly\.newPlot\(\s*"alerts-per-day",\s*(\[.*?\]),\s*\{', page, re.S)
    assert figure is not None
    series = json.loads(figure.group(1))
    assert sorted(s["name"] for s in series) == sorted([result.rules[0].name,
                                                        result.rules[1].name])
    assert series[0]["x"] == ["2026-10-01", "2026-10-02", "2026-10-03"]


def test_html_without_alerts_still_renders() -> None:
    empty = BacktestResult(rules=[], alerts=[], events=0)
    assert "Plotly.newPlot" in backtest_page(empty, summarize(empty))

