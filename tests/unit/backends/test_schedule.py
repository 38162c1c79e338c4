"""The rule schedule: empty stretches are skipped exactly, whatever the span."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from kmsdet.backends.schedule import run_times
from tests.unit.rules.rule_text import load, rule_text

START = datetime(2025, 1, 1, tzinfo=timezone.utc)


def doc(at: datetime) -> dict:
    return {"event": {"ingested": at.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def test_a_year_between_two_events_costs_a_few_runs() -> None:
    rule = load(rule_text()).rule
    later = START + timedelta(days=365, seconds=30)
    runs = run_times(rule, [doc(START), doc(later)], start=START, end=later)
    # from now-6m, interval 5m: the first event is searched by the run at it and by the next,
    # whose 6-minute look-back still covers it; the second by the first run after it (the end)
    assert runs == [START, START + timedelta(minutes=5),
                    START + timedelta(days=365, minutes=5)]


def test_every_run_that_holds_an_event_is_kept() -> None:
    rule = load(rule_text()).rule
    events = [doc(START + timedelta(minutes=m)) for m in (0, 1, 7, 30)]
    runs = run_times(rule, events, start=START, end=START + timedelta(minutes=30))
    held = [START + timedelta(minutes=m) for m in (0, 5, 10, 30)]
    assert runs == held
