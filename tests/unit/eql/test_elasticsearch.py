"""EQL rules on the elasticsearch backend: the EQL search request, or a clear refusal."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from kmsdet.backends.base import Execution
from kmsdet.backends.elasticsearch import ElasticsearchBackend
from kmsdet.errors import UsageError
from tests.unit.backends.test_elasticsearch_backend import make_rule

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
SEQUENCE = ('sequence by user.name with maxspan=5m [any where event.action == "A"] '
            '[any where event.action == "B"]')


class FakeCluster:
    """Answers nodes info (with or without the EQL module) and records EQL searches."""

    def __init__(self, modules: list[str], response: dict[str, Any] | None = None) -> None:
        self.modules = modules
        self.response = response or {"hits": {}}
        self.eql_calls: list[dict[str, Any]] = []
        self.nodes = self
        self.eql = self

    def info(self, metric: str) -> dict[str, Any]:
        assert metric == "plugins"
        return {"nodes": {"n1": {"modules": [{"name": m} for m in self.modules]}}}

    def search(self, **body: Any) -> dict[str, Any]:
        self.eql_calls.append(body)
        return self.response


class NoSeedBackend(ElasticsearchBackend):
    def seed(self, executions: Any) -> Any:
        self.seeded = True


def eql_rule(**extra: Any):
    return make_rule(type="eql", language="eql", query=SEQUENCE, index=["logs-*"],
                     **{"from": "now-10m"}, **extra)


def test_a_cluster_without_the_eql_module_refuses_eql_rules_before_seeding() -> None:
    backend = NoSeedBackend(FakeCluster(["x-pack-core"]), schema_for=lambda _: None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="no EQL API") as info:
        backend.execute([Execution(eql_rule(), [], NOW, "run")])
    assert info.value.field == "rule.type"
    assert not hasattr(backend, "seeded")


def test_eql_rules_run_through_the_eql_search_api_as_kibana_sends_it() -> None:
    response = {"hits": {"sequences": [{"events": [
        {"_source": {"event": {"id": "a"}, "@timestamp": "t1"}},
        {"_source": {"event": {"id": "b"}, "@timestamp": "t2"}}]}]}}
    cluster = FakeCluster(["x-pack-eql"], response)
    backend = NoSeedBackend(cluster, schema_for=lambda _: None)  # type: ignore[arg-type]
    rule = eql_rule(max_signals=7, tiebreaker_field="event.sequence")
    [alerts] = backend.execute([Execution(rule, [], NOW, "run-1")])
    assert [a.event_id for a in alerts] == ["sequence:a+b"]
    [call] = cluster.eql_calls
    assert call["query"] == SEQUENCE and call["size"] == 7
    assert call["index"] == ["logs-*"] and call["tiebreaker_field"] == "event.sequence"
    filters = call["filter"]["bool"]["filter"]
    assert {"term": {"labels.kmsdet_run_id": "run-1"}} in filters
    assert "range" in str(filters[0]) and "2026-01-15T11:50:00.000Z" in str(filters[0])
