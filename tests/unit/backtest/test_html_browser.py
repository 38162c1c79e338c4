"""The backtest page in a real headless browser: it renders, offline, one series per rule.

Needs Debian's chromium (.ci/run installs it). Skipped on a developer machine without it; in CI
(CI=true) its absence fails the test rather than hiding it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kmsdet.backtest.engine import backtest
from kmsdet.backtest.summary import summarize
from kmsdet.reports.backtest_html import backtest_page
from kmsdet.rules.loader import load_rules
from tests.unit.backtest.test_inputs import envelope, records

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000"]


@pytest.fixture
def browser() -> str:
    if BROWSER is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is missing (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip("no chromium on this machine")
    return BROWSER


def test_page_renders_one_bar_series_per_alerting_rule(tmp_path: Path, browser: str) -> None:
    rules = load_rules([Path(__file__).resolve().parents[3] / "rules"])
    logs = tmp_path / "logs"
    envelope(logs / "a.json.gz", records("DisableKey", "DeleteImportedKeyMaterial",
                                         "DisableKeyRotation", "Decrypt"))
    result = backtest(rules, [logs], workers=1)
    alerting = {a.rule_name for a in result.alerts}
    assert len(alerting) >= 3
    page = tmp_path / "backtest.html"
    page.write_text(backtest_page(result, summarize(result)), encoding="utf-8")
    dom = subprocess.run([browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert 'class="main-svg"' in dom, "plotly did not draw (was its script blocked?)"
    series = re.findall(r'<g class="trace bars"', dom)
    assert len(series) == len(alerting)
    legend = re.findall(r'class="legendtext"[^>]*>([^<]*)<', dom)
    assert sorted(legend) == sorted(alerting)
