"""The embedded backend reproduces Kibana's executor: window, timestamp fallback, cap, types."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.errors import UsageError
from tests.unit.rules.rule_text import load, rule_text

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)


def iso(delta_minutes: float) -> str:
    return (NOW + timedelta(minutes=delta_minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def doc(action: str = "DisableKey", *, at: float = -1, ingested: float | None = -0.5,
        arn: str = "arn:aws:iam::1:user/a", key: str = "k1", event_id: str = "e") -> dict[str, Any]:
    out: dict[str, Any] = {
        "@timestamp": iso(at),
        "event": {"provider": "kms.amazonaws.com", "action": action, "outcome": "success",
                  "id": event_id},
        "aws": {"cloudtrail": {"user_identity": {"arn": arn},
                               "resources": [{"arn": key}]}},
    }
    if ingested is not None:
        out["event"]["ingested"] = iso(ingested)
    return out


def rule(replace: dict[str, str] | None = None, append: str = ""):
    result = load(rule_text(replace, append))
    assert result.rule is not None, result.problems
    return result.rule


def test_query_rule_alerts_once_per_matching_event_in_time_order() -> None:
    docs = [doc(event_id="late", at=-2), doc("EnableKey", event_id="x"), doc(event_id="early",
                                                                              at=-3)]
    alerts = EmbeddedBackend().run(rule(), docs, NOW)
    assert [a.event_id for a in alerts] == ["early", "late"]


def test_window_uses_ingested_time_and_falls_back_to_timestamp() -> None:
    late_arrival = doc(event_id="late-arrival", at=-120, ingested=-1)
    old = doc(event_id="old", at=-120, ingested=-60)
    no_ingested_recent = doc(event_id="fallback", at=-2, ingested=None)
    no_ingested_old = doc(event_id="fallback-old", at=-30, ingested=None)
    future = doc(event_id="future", at=-1, ingested=+1)
    alerts = EmbeddedBackend().run(rule(), [late_arrival, old, no_ingested_recent,
                                            no_ingested_old, future], NOW)
    assert sorted(a.event_id for a in alerts) == ["fallback", "late-arrival"]


def test_fallback_disabled_ignores_documents_without_the_override_field() -> None:
    r = rule({'timestamp_override = "event.ingested"':
              'timestamp_override = "event.ingested"\ntimestamp_override_fallback_disabled = true'})
    assert EmbeddedBackend().run(r, [doc(ingested=None)], NOW) == []


def test_window_edges_are_inclusive() -> None:
    edge = doc(event_id="edge", ingested=-6)
    assert [a.event_id for a in EmbeddedBackend().run(rule(), [edge], NOW)] == ["edge"]


def test_max_signals_caps_alerts() -> None:
    r = rule({'from = "now-6m"': 'from = "now-6m"\nmax_signals = 2'})
    docs = [doc(event_id=str(i), at=-5 + i * 0.1) for i in range(5)]
    assert [a.event_id for a in EmbeddedBackend().run(r, docs, NOW)] == ["0", "1"]


def test_exceptions_exclude_matching_events() -> None:
    r = rule(append='\n[[kmsdet.exceptions]]\nfield = "aws.cloudtrail.user_identity.arn"\n'
                    'type = "match"\nvalue = "arn:aws:iam::1:user/janitor"\n')
    docs = [doc(arn="arn:aws:iam::1:user/janitor", event_id="j"), doc(event_id="a")]
    assert [a.event_id for a in EmbeddedBackend().run(r, docs, NOW)] == ["a"]


THRESHOLD = '\n[rule.threshold]\nfield = ["aws.cloudtrail.user_identity.arn"]\nvalue = 3\n'


def test_threshold_rule_alerts_per_group_reaching_the_count() -> None:
    r = rule({'type = "query"': 'type = "threshold"'}, THRESHOLD)
    docs = [doc(arn="A", key=f"k{i}") for i in range(3)] + [doc(arn="B") for _ in range(2)]
    alerts = EmbeddedBackend().run(r, docs, NOW)
    assert len(alerts) == 1
    assert alerts[0].source["threshold_result"] == {
        "terms": [{"field": "aws.cloudtrail.user_identity.arn", "value": "A"}], "count": 3}


def test_threshold_cardinality_counts_distinct_values() -> None:
    spec = THRESHOLD + '\n[[rule.threshold.cardinality]]\nfield = "aws.cloudtrail.resources.arn"' \
                       '\nvalue = 2\n'
    r = rule({'type = "query"': 'type = "threshold"'}, spec)
    same_key = [doc(arn="A", key="k1") for _ in range(3)]
    two_keys = [doc(arn="B", key="k1"), doc(arn="B", key="k2"), doc(arn="B", key="k2")]
    alerts = EmbeddedBackend().run(r, same_key + two_keys, NOW)
    assert [a.source["threshold_result"]["terms"][0]["value"] for a in alerts] == ["B"]


NEW_TERMS = ('\n[rule.new_terms]\nfield = "new_terms_fields"\n'
             'value = ["aws.cloudtrail.user_identity.arn"]\n'
             '[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\n'
             'value = "now-7d"\n')


def test_new_terms_rule_alerts_on_terms_absent_from_the_history_window() -> None:
    r = rule({'type = "query"': 'type = "new_terms"'}, NEW_TERMS)
    docs = [
        doc(arn="seen", at=-3 * 24 * 60, ingested=-3 * 24 * 60, event_id="history"),
        doc(arn="seen", event_id="seen-again"),
        doc(arn="fresh", event_id="fresh-1", at=-2),
        doc(arn="fresh", event_id="fresh-2", at=-1),
        doc(arn="ancient", at=-9 * 24 * 60, ingested=-9 * 24 * 60, event_id="too-old"),
        doc(arn="ancient", event_id="ancient-now"),
    ]
    alerts = EmbeddedBackend().run(r, docs, NOW)
    assert [a.event_id for a in alerts] == ["fresh-1", "ancient-now"]


def test_unsupported_rule_type_is_a_clear_error() -> None:
    r = rule({'type = "query"': 'type = "esql"', 'language = "kuery"': 'language = "esql"'})
    with pytest.raises(UsageError, match="embedded backend runs KQL query"):
        EmbeddedBackend().run(r, [], NOW)
