"""The backtest as a self-contained web page: alerts per rule per day, one series a rule.

Plotly draws the chart and its JavaScript is embedded in the page, so the file opens offline
and can be attached to a pull request or a ticket as it is. Plotly is an optional extra
(``pip install 'kmsdet[html]'``): the rest of kmsdet does not need it.
"""

from __future__ import annotations

import html

from kmsdet.backtest.engine import BacktestResult
from kmsdet.backtest.summary import Summary
from kmsdet.errors import UsageError


def backtest_page(result: BacktestResult, summary: Summary) -> str:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise UsageError("--html needs the plotting library plotly",
                         hint="pip install 'kmsdet[html]' (or pip install plotly)") from exc
    figure = go.Figure()
    for rule in summary.rules:
        if not rule.alerts:
            continue
        figure.add_trace(go.Bar(name=rule.rule_name, x=summary.days,
                                y=[rule.per_day.get(d, 0) for d in summary.days]))
    figure.update_layout(barmode="stack", title="Alerts per rule per day",
                         xaxis_title="day (UTC)", yaxis_title="alerts", legend_title="rule",
                         template="plotly_white")
    chart = figure.to_html(full_html=False, include_plotlyjs=True, div_id="alerts-per-day")
    rows = "\n".join(
        f"<tr><td>{html.escape(r.rule_name)}</td><td>{r.alerts}</td>"
        f"<td>{html.escape(', '.join(f'{p} ({n})' for p, n in r.principals))}</td>"
        f"<td>{html.escape(', '.join(f'{ip} ({n})' for ip, n in r.source_ips))}</td>"
        f"<td>{html.escape(r.first or '')}</td><td>{html.escape(r.last or '')}</td></tr>"
        for r in sorted(summary.rules, key=lambda r: (-r.alerts, r.rule_name)))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kmsdet backtest</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><h1>kmsdet backtest</h1>
<p>{len(result.alerts)} alerts from {len(result.rules)} rules on {result.events} events.</p>
{chart}
<table><thead><tr><th>rule</th><th>alerts</th><th>top principals</th><th>top source IPs</th>
<th>first alert</th><th>last alert</th></tr></thead><tbody>
{rows}
</tbody></table></body></html>
"""

