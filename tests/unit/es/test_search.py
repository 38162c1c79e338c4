"""A rule's search as Kibana's query rule executor builds it (reference: kibana.md 4.1-4.2)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from kmsdet.es.search import iso, rule_query, rule_search, time_filter
from kmsdet.fields.schema import FieldSchema
from kmsdet.rules.model import Rule

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


def make_rule(**rule: Any) -> Rule:
    base: dict[str, Any] = {
        "author": ["t"], "description": "d", "name": "n", "risk_score": 1,
        "rule_id": "r-1", "severity": "low", "type": "query", "language": "kuery",
        "query": "event.action: DisableKey", "index": ["logs-aws.cloudtrail-*"],
    }
    base.update(rule)
    return Rule.model_validate({"metadata": {"creation_date": "2026/01/01",
                                             "updated_date": "2026/01/01"}, "rule": base})


def test_bounds_are_iso_milliseconds_in_utc() -> None:
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)) == \
        "2026-01-02T03:04:05.678Z"


def test_override_with_fallback_ranges_both_fields() -> None:
    rule = make_rule(timestamp_override="event.ingested", **{"from": "now-6m"})
    clause = time_filter(rule, NOW)
    should = clause["bool"]["should"]
    assert clause["bool"]["minimum_should_match"] == 1
    assert should[0] == {"range": {"event.ingested": {
        "gte": "2026-11-23T11:54:00.000Z", "lte": "2026-11-23T12:00:00.000Z",
        "format": "strict_date_optional_time"}}}
    fallback = should[1]["bool"]["filter"]
    assert "@timestamp" in fallback[0]["range"]
    assert fallback[1] == {"bool": {"must_not": {"exists": {"field": "event.ingested"}}}}


@pytest.mark.parametrize(("rule_args", "field"), [
    ({"timestamp_override": "event.ingested", "timestamp_override_fallback_disabled": True},
     "event.ingested"),
    ({}, "@timestamp"),
    ({"timestamp_override": "@timestamp"}, "@timestamp"),
])
def test_single_field_ranges(rule_args: dict[str, Any], field: str) -> None:
    clause = time_filter(make_rule(**rule_args), NOW)
    assert list(clause) == ["range"]
    assert list(clause["range"]) == [field]
    assert clause["range"][field]["gte"] == "2026-11-23T11:54:00.000Z"  # default now-6m


def test_search_has_query_window_run_id_size_and_sort() -> None:
    rule = make_rule(timestamp_override="event.ingested", max_signals=5)
    search = rule_search(rule, {"match_all": {}}, now=NOW, run_id="run1")
    assert search.index == ["logs-aws.cloudtrail-*"]
    assert search.msearch_header()["ignore_unavailable"] is True
    filters = search.body["query"]["bool"]["filter"]
    assert filters[0] == {"match_all": {}}
    assert filters[2] == {"term": {"labels.kmsdet_run_id": "run1"}}
    assert search.body["size"] == 5
    assert [list(s)[0] for s in search.body["sort"]] == ["event.ingested", "@timestamp"]


@pytest.mark.parametrize(("max_signals", "size"), [(None, 100), (20, 20), (5000, 1000)])
def test_size_is_max_signals_capped_like_kibana(max_signals: int | None, size: int) -> None:
    rule = make_rule(max_signals=max_signals)
    assert rule_search(rule, {}, now=NOW).body["size"] == size


def test_rule_without_index_searches_kibanas_default_indices() -> None:
    search = rule_search(make_rule(index=None), {}, now=NOW)
    assert "logs-*" in search.index and "filebeat-*" in search.index


def test_query_includes_exceptions() -> None:
    rule = make_rule(query="event.action: DisableKey")
    rule_dict = rule.model_dump(by_alias=True)
    rule_dict["kmsdet"] = {"exceptions": [{"field": "user.name", "value": "admin"}]}
    with_exc = Rule.model_validate(rule_dict)
    schema = FieldSchema.from_types({"event.action": "keyword", "user.name": "keyword"})
    plain, excepted = str(rule_query(rule, schema)), str(rule_query(with_exc, schema))
    assert "admin" not in plain
    assert "admin" in excepted and "must_not" in excepted
