"""The streaming schedule raises exactly the alerts of the per-run reference, on random streams.

The reference is :func:`kmsdet.backends.schedule.run_on_schedule` over the embedded backend:
every scheduled run re-reads its whole window. The streaming engine sees only the documents the
query matched, once. Streams are generated the way CloudTrail delivers them: out of order,
delivered late (``event.ingested`` after ``@timestamp``), in bursts larger than max_signals,
with times on window edges, repeated event ids, and documents without the override field.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.backends.schedule import doc_time, run_on_schedule
from kmsdet.backends.streaming import make_hit, schedule_alerts
from kmsdet.rules.loader import load_rule
from kmsdet.rules.model import Rule
from tests.unit.rules.rule_text import load, rule_text

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
ACTIONS = ["DisableKey", "DisableKey", "ScheduleKeyDeletion", "EnableKey"]
QUERY = 'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"'
WIDE = ('event.provider: "kms.amazonaws.com"\n'
        'and event.action: ("DisableKey" or "ScheduleKeyDeletion")')


def _rule(kind: str, *, from_: str = "now-6m", interval: str = "5m", max_signals: int = 100,
          extra: str = "", query: str = QUERY) -> Rule:
    replace = {'type = "query"': f'type = "{kind}"', 'from = "now-6m"':
               f'from = "{from_}"\ninterval = "{interval}"\nmax_signals = {max_signals}',
               'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"': query}
    result = load(rule_text(replace, extra))
    assert result.rule is not None, result.problems
    return result.rule


THRESHOLD = ('\n[rule.threshold]\nfield = ["aws.cloudtrail.user_identity.arn"]\nvalue = {value}\n'
             '{cardinality}')
CARDINALITY = '[[rule.threshold.cardinality]]\nfield = "aws.cloudtrail.resources.arn"\nvalue = 2\n'
NEW_TERMS = ('\n[rule.new_terms]\nfield = "new_terms_fields"\n'
             'value = ["aws.cloudtrail.user_identity.arn"]\n'
             '[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\n'
             'value = "{history}"\n')

RULES = {
    "query": _rule("query"),
    "query-capped": _rule("query", max_signals=2, query=WIDE),
    "query-long-lookback": _rule("query", from_="now-17m", interval="10m", max_signals=3),
    "query-gapped": _rule("query", from_="now-3m", interval="5m"),
    "threshold": _rule("threshold", extra=THRESHOLD.format(value=2, cardinality="")),
    "threshold-card": _rule("threshold", from_="now-20m", query=WIDE,
                            extra=THRESHOLD.format(value=2, cardinality=CARDINALITY)),
    "threshold-capped": _rule("threshold", from_="now-12m", max_signals=1, query=WIDE,
                              extra=THRESHOLD.format(value=2, cardinality="")),
    "new_terms": _rule("new_terms", extra=NEW_TERMS.format(history="now-30m")),
    "new_terms-long": _rule("new_terms", from_="now-11m", max_signals=1, query=WIDE,
                            extra=NEW_TERMS.format(history="now-2h")),
    "new_terms-short-history": _rule("new_terms", from_="now-10m",
                                     extra=NEW_TERMS.format(history="now-1m")),
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 45))
    ids = [f"e{i}" for i in range(count)]
    docs = []
    for index in range(count):
        # Whole minutes and half minutes put many events exactly on window edges.
        base = draw(st.sampled_from([0, 0, 1, 2, 3, 5, 6, 10, 11, 30, 60, 125, 240]))
        seconds = draw(st.sampled_from([0, 0, 30, 59]))
        burst = draw(st.integers(0, 4))
        ingested = T0 + timedelta(minutes=base + burst, seconds=seconds)
        delay = timedelta(seconds=draw(st.sampled_from([0, 1, 60, 400, 1200])))
        event_id = ids[index] if draw(st.integers(0, 9)) else draw(st.sampled_from(ids))
        doc: dict[str, Any] = {
            "@timestamp": _iso(ingested - delay),
            "event": {"provider": "kms.amazonaws.com", "action": draw(st.sampled_from(ACTIONS)),
                      "id": event_id},
            "aws": {"cloudtrail": {
                "user_identity": {"arn": draw(st.sampled_from(["a", "b", "c"]))},
                "resources": [{"arn": draw(st.sampled_from(["k1", "k2", "k3"]))}]}},
        }
        if draw(st.integers(0, 7)):
            doc["event"]["ingested"] = _iso(ingested)
        docs.append(doc)
    return draw(st.permutations(docs))


def _comparable(alerts: list) -> list[tuple]:
    return [(a.rule_id, a.event_id, a.timestamp, repr(a.source.get("threshold_result")))
            for a in alerts]


def streaming(rule: Rule, docs: list[dict[str, Any]], start: datetime, end: datetime) -> list:
    matcher = EmbeddedBackend().matcher(rule)
    hits = [h for i, d in enumerate(docs) if matcher(d) and (h := make_hit(rule, d, (i,)))]
    return schedule_alerts(rule, hits, start=start, end=end).alerts


def reference(rule: Rule, docs: list[dict[str, Any]], start: datetime, end: datetime) -> list:
    alerts, _ = run_on_schedule(rule, docs, EmbeddedBackend(), start=start, end=end,
                                prefix="ref")
    return alerts


@pytest.mark.parametrize("name", sorted(RULES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=streams())
def test_streaming_schedule_equals_the_per_run_reference(name: str, docs: list) -> None:
    rule = RULES[name]
    times = [t for d in docs if (t := doc_time(rule, d)) is not None]
    if not times:
        return
    start, end = min(times), max(times)
    assert _comparable(streaming(rule, docs, start, end)) == \
        _comparable(reference(rule, docs, start, end))


def test_a_burst_over_max_signals_is_spread_over_overlapping_runs() -> None:
    rule = RULES["query-capped"]
    docs = [{"@timestamp": _iso(T0), "event": {"provider": "kms.amazonaws.com",
                                               "action": "DisableKey", "id": f"b{i}",
                                               "ingested": _iso(T0)}} for i in range(5)]
    got = streaming(rule, docs, T0, T0)
    # the run at T0 and the next one (whose 6-minute look-back still covers T0) take two each
    assert [a.event_id for a in got] == ["b0", "b1"]
    assert _comparable(got) == _comparable(reference(rule, docs, T0, T0))


def test_new_terms_history_is_never_reread() -> None:
    """A term seen long before the history window is new again; one seen inside it is not."""
    rule = RULES["new_terms"]

    def at(minutes: int, arn: str, event_id: str) -> dict[str, Any]:
        when = _iso(T0 + timedelta(minutes=minutes))
        return {"@timestamp": when, "event": {"provider": "kms.amazonaws.com",
                                              "action": "DisableKey", "id": event_id,
                                              "ingested": when},
                "aws": {"cloudtrail": {"user_identity": {"arn": arn}}}}

    docs = [at(0, "a", "first"), at(10, "a", "inside-history"), at(100, "a", "after-gap")]
    got = streaming(rule, docs, T0, T0 + timedelta(minutes=100))
    assert [a.event_id for a in got] == ["first", "after-gap"]
    assert _comparable(got) == _comparable(reference(rule, docs, T0, T0 + timedelta(minutes=100)))


# ------------------------------------------------------------------ EQL sequences on a schedule

PACK = Path(__file__).resolve().parents[3] / "rules" / "aws_kms"
SEQUENCE_RULE = load_rule(PACK / "impact_kms_key_policy_replaced_then_key_disabled_or_deleted.toml")


@st.composite
def sequence_streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs = []
    for index in range(draw(st.integers(0, 30))):
        minute = draw(st.sampled_from([0, 1, 4, 5, 6, 9, 10, 11, 15, 16, 30, 31]))
        when = T0 + timedelta(minutes=minute, seconds=draw(st.sampled_from([0, 30])))
        docs.append({
            "@timestamp": _iso(when - timedelta(seconds=draw(st.sampled_from([0, 90])))),
            "event": {"dataset": "aws.cloudtrail", "provider": "kms.amazonaws.com",
                      "outcome": "success", "id": f"s{index}", "ingested": _iso(when),
                      "action": draw(st.sampled_from(["PutKeyPolicy", "DisableKey",
                                                      "ScheduleKeyDeletion", "Decrypt"]))},
            "aws": {"cloudtrail": {"user_identity": {"arn": draw(st.sampled_from(["a", "b"]))},
                                   "resources": {"arn": draw(st.sampled_from(["k1", "k2"]))}}},
        })
    return draw(st.permutations(docs))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=sequence_streams())
def test_eql_sequences_on_the_schedule_equal_the_per_run_reference(docs: list) -> None:
    from kmsdet.eql.rule import program_for

    rule = SEQUENCE_RULE
    times = [t for d in docs if (t := doc_time(rule, d)) is not None]
    if not times:
        return
    start, end = min(times), max(times)
    program = program_for(rule)
    hits = [h for i, d in enumerate(docs) if program.prefilter(d)
            and (h := make_hit(rule, d, (i,)))]
    got = schedule_alerts(rule, hits, start=start, end=end).alerts
    assert _comparable(got) == _comparable(reference(rule, docs, start, end))


def test_a_sequence_seen_by_overlapping_runs_is_one_alert() -> None:
    def event(minute: int, action: str, event_id: str) -> dict[str, Any]:
        when = _iso(T0 + timedelta(minutes=minute))
        return {"@timestamp": when,
                "event": {"dataset": "aws.cloudtrail", "provider": "kms.amazonaws.com",
                          "outcome": "success", "id": event_id, "ingested": when,
                          "action": action},
                "aws": {"cloudtrail": {"user_identity": {"arn": "a"},
                                       "resources": {"arn": "k1"}}}}

    docs = [event(0, "PutKeyPolicy", "p"), event(4, "DisableKey", "d")]
    rule = SEQUENCE_RULE
    hits = [h for i, d in enumerate(docs) if (h := make_hit(rule, d, (i,)))]
    end = T0 + timedelta(minutes=4)
    got = schedule_alerts(rule, hits, start=T0, end=end)
    assert [a.event_id for a in got.alerts] == ["sequence:p+d"]
    assert got.runs >= 2  # two runs' look-backs hold both events; the second adds nothing
    assert _comparable(got.alerts) == _comparable(reference(rule, docs, T0, end))
