"""The elasticsearch backend on the real test node: the executor's window, fallback, cap,
exceptions and run isolation, with hand-made ECS documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from kmsdet.backends.base import Execution
from kmsdet.backends.elasticsearch import ElasticsearchBackend
from kmsdet.errors import InputError, UsageError
from kmsdet.es.client import EsTarget
from kmsdet.rules.model import Rule

NOW = datetime.now(timezone.utc).replace(microsecond=0)
QUERY = ('event.provider: "kms.amazonaws.com" and event.action: "DisableKey" '
         'and not aws.cloudtrail.user_identity.type: "AWSService"')


def make_rule(**rule: Any) -> Rule:
    kmsdet = rule.pop("kmsdet", None)
    base: dict[str, Any] = {
        "author": ["t"], "description": "d", "name": "Disable key", "risk_score": 1,
        "rule_id": "it-rule", "severity": "low", "type": "query", "language": "kuery",
        "query": QUERY, "index": ["logs-aws.cloudtrail-*"], "from": "now-6m",
        "timestamp_override": "event.ingested",
    }
    base.update(rule)
    data: dict[str, Any] = {"metadata": {"creation_date": "2026/01/01",
                                         "updated_date": "2026/01/01"}, "rule": base}
    if kmsdet:
        data["kmsdet"] = kmsdet
    return Rule.model_validate(data)


def event(event_id: str, *, ingested: timedelta | None, ts: timedelta = timedelta(minutes=1),
          action: str = "DisableKey", identity: str = "IAMUser",
          user: str = "alice") -> dict[str, Any]:
    """A DisableKey-like ECS document; times are minutes before NOW."""
    ev: dict[str, Any] = {"provider": "kms.amazonaws.com", "action": action, "id": event_id,
                          "outcome": "success"}
    if ingested is not None:
        ev["ingested"] = (NOW - ingested).isoformat().replace("+00:00", "Z")
    return {"@timestamp": (NOW - ts).isoformat().replace("+00:00", "Z"), "event": ev,
            "data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "x"},
            "user": {"name": user},
            "aws": {"cloudtrail": {"user_identity": {"type": identity}}}}


def run(backend: ElasticsearchBackend, rule: Rule, docs: list[dict[str, Any]]) -> list[str]:
    alerts = backend.execute([Execution(rule, docs, NOW, uuid.uuid4().hex)])[0]
    return [a.event_id or "" for a in alerts]


@pytest.fixture(scope="module")
def backend(es_client: Elasticsearch) -> Iterator[ElasticsearchBackend]:
    with ElasticsearchBackend(es_client, namespace="kmsdet_it", warn=lambda _: None) as b:
        yield b


def test_window_on_override_with_fallback_to_timestamp(backend: ElasticsearchBackend) -> None:
    m = timedelta(minutes=1)
    docs = [
        event("in-window", ingested=1 * m),
        event("too-old", ingested=10 * m, ts=10 * m),
        event("old-ingest-new-ts", ingested=10 * m, ts=1 * m),   # override present: no fallback
        event("no-ingest-new-ts", ingested=None, ts=2 * m),       # fallback to @timestamp
        event("no-ingest-old-ts", ingested=None, ts=7 * m),
        event("future", ingested=-1 * m),
    ]
    assert sorted(run(backend, make_rule(), docs)) == ["in-window", "no-ingest-new-ts"]


def test_fallback_disabled_ranges_only_the_override(backend: ElasticsearchBackend) -> None:
    m = timedelta(minutes=1)
    docs = [event("in-window", ingested=1 * m), event("no-ingest", ingested=None, ts=1 * m)]
    rule = make_rule(timestamp_override_fallback_disabled=True)
    assert run(backend, rule, docs) == ["in-window"]


def test_query_semantics_and_exceptions(backend: ElasticsearchBackend) -> None:
    m = timedelta(minutes=1)
    docs = [event("hit", ingested=m), event("service", ingested=m, identity="AWSService"),
            event("other-action", ingested=m, action="EnableKey"),
            event("admin", ingested=m, user="admin")]
    assert sorted(run(backend, make_rule(), docs)) == ["admin", "hit"]
    excepted = make_rule(kmsdet={"exceptions": [{"field": "user.name", "value": "admin"}]})
    assert run(backend, excepted, docs) == ["hit"]


def test_max_signals_caps_alerts_oldest_first(backend: ElasticsearchBackend) -> None:
    docs = [event(f"e{i}", ingested=timedelta(seconds=10 * i)) for i in range(5)]
    assert run(backend, make_rule(max_signals=2), docs) == ["e4", "e3"]


def test_runs_are_isolated_and_batched(backend: ElasticsearchBackend) -> None:
    m = timedelta(minutes=1)
    rule = make_rule()
    executions = [Execution(rule, [event("a", ingested=m)], NOW, uuid.uuid4().hex),
                  Execution(rule, [], NOW, uuid.uuid4().hex),
                  Execution(rule, [event("b", ingested=m), event("c", ingested=m)], NOW,
                            uuid.uuid4().hex)]
    results = backend.execute(executions)
    assert [sorted(a.event_id or "" for a in r) for r in results] == [["a"], [], ["b", "c"]]
    assert results[0][0].rule_id == "it-rule"
    assert results[0][0].source["event"]["id"] == "a"


def test_rerunning_the_same_execution_is_idempotent(backend: ElasticsearchBackend) -> None:
    execution = Execution(make_rule(), [event("same", ingested=timedelta(minutes=1))], NOW,
                          uuid.uuid4().hex)
    first = backend.execute([execution])[0]
    second = backend.execute([execution])[0]
    assert backend.last_seed is not None and backend.last_seed.existing == 1
    assert [a.event_id for a in first] == [a.event_id for a in second] == ["same"]


def test_unmappable_documents_fail_loudly(backend: ElasticsearchBackend) -> None:
    bad = event("bad", ingested=timedelta(minutes=1))
    bad["source"] = {"ip": "not-an-ip"}
    with pytest.raises(InputError) as info:
        run(backend, make_rule(), [bad])
    assert "source.ip" in info.value.message


def test_only_kql_query_rules_run(backend: ElasticsearchBackend) -> None:
    with pytest.raises(UsageError):
        run(backend, make_rule(type="eql", language="eql", query="any where true"), [])


def test_agrees_with_the_embedded_backend(backend: ElasticsearchBackend) -> None:
    pytest.importorskip("kmsdet.kql.matcher", reason="embedded matcher not built yet")
    from kmsdet.backends.embedded import EmbeddedBackend

    m = timedelta(minutes=1)
    docs = [event("in", ingested=m), event("old", ingested=9 * m, ts=9 * m),
            event("fallback", ingested=None, ts=m), event("svc", ingested=m,
                                                          identity="AWSService")]
    rule = make_rule()
    execution = Execution(rule, docs, NOW, uuid.uuid4().hex)
    embedded = EmbeddedBackend().execute([execution])[0]
    real = backend.execute([execution])[0]
    assert sorted(a.event_id or "" for a in real) == sorted(a.event_id or "" for a in embedded)


def test_from_environment_owns_and_closes_its_connection(es_target: EsTarget) -> None:
    with ElasticsearchBackend.from_environment(es_target, namespace="kmsdet_it",
                                               warn=lambda _: None) as owned:
        assert run(owned, make_rule(), [event("x", ingested=timedelta(minutes=1))]) == ["x"]
    assert owned._owns_client


def _with_arn(ev: dict[str, Any], arn: str, key: str) -> dict[str, Any]:
    ev["aws"]["cloudtrail"]["user_identity"]["arn"] = arn
    ev["aws"]["cloudtrail"]["resources"] = [{"arn": key}]
    return ev


def test_threshold_groups_counts_and_distinct_values(backend: ElasticsearchBackend) -> None:
    m = timedelta(minutes=1)
    docs = [_with_arn(event(f"a{i}", ingested=m), "arn:a", f"key{i}") for i in range(3)]
    docs += [_with_arn(event(f"b{i}", ingested=m), "arn:b", "same-key") for i in range(3)]
    docs += [_with_arn(event("c0", ingested=m), "arn:c", "key0")]
    rule = make_rule(type="threshold", threshold={
        "field": ["aws.cloudtrail.user_identity.arn"], "value": 3,
        "cardinality": [{"field": "aws.cloudtrail.resources.arn", "value": 3}]})
    alerts = backend.execute([Execution(rule, docs, NOW, uuid.uuid4().hex)])[0]
    assert [a.source["threshold_result"] for a in alerts] == [
        {"terms": [{"field": "aws.cloudtrail.user_identity.arn", "value": "arn:a"}],
         "count": 3}]
    no_fields = make_rule(type="threshold", threshold={"field": [], "value": 7})
    assert len(backend.execute([Execution(no_fields, docs, NOW, uuid.uuid4().hex)])[0]) == 1


def test_new_terms_alert_only_on_terms_absent_from_history(
        backend: ElasticsearchBackend) -> None:
    m, d = timedelta(minutes=1), timedelta(days=1)
    docs = [_with_arn(event("old", ingested=2 * d, ts=2 * d), "arn:known", "k"),
            _with_arn(event("known-again", ingested=m), "arn:known", "k"),
            _with_arn(event("first-new", ingested=2 * m), "arn:new", "k"),
            _with_arn(event("second-new", ingested=m), "arn:new", "k"),
            _with_arn(event("ancient", ingested=20 * d, ts=20 * d), "arn:ancient", "k"),
            _with_arn(event("ancient-back", ingested=m), "arn:ancient", "k")]
    rule = make_rule(type="new_terms", new_terms={
        "field": "new_terms_fields", "value": ["aws.cloudtrail.user_identity.arn"],
        "history_window_start": [{"field": "history_window_start", "value": "now-10d"}]})
    assert sorted(run(backend, rule, docs)) == ["ancient-back", "first-new"]


@pytest.mark.parametrize("rule_type", ["query", "threshold"])
def test_a_refused_search_shows_elasticsearchs_root_cause(backend: ElasticsearchBackend,
                                                          rule_type: str) -> None:
    # More clauses than any node allows (the floor is 1,024; this node's limit is higher).
    values = " or ".join(f'"A{i}"' for i in range(40_000))
    extra: dict[str, Any] = {"threshold": {"field": ["user.name"], "value": 1}} \
        if rule_type == "threshold" else {}
    rule = make_rule(type=rule_type, query=f"event.action: ({values})", **extra)
    with pytest.raises(InputError) as info:
        run(backend, rule, [event("one", ingested=timedelta(minutes=1))])
    assert "maxClauseCount" in info.value.message
    assert "all shards failed" not in info.value.message
    assert info.value.hint is not None and "KD350" in info.value.hint
    assert "mappings" not in info.value.hint
