"""The client, template and seeding against the real test node."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from kmsdet.es.client import CLIENT_MAJOR, CompatTransport, EsTarget, connect, server_info
from kmsdet.es.seed import prepare_target, seed_documents
from kmsdet.es.template import DEGRADED_TYPES, TEMPLATE_NAME, ensure_template, supported_types
from kmsdet.fields.registry import schema_for_indices

NAMESPACE = "kmsdet_it"
STREAM = f"logs-aws.cloudtrail-{NAMESPACE}"


@pytest.fixture(scope="module")
def template_ready(es_client: Elasticsearch) -> list[str]:
    warnings: list[str] = []
    ensure_template(es_client, schema_for_indices(["logs-aws.cloudtrail-*"]),
                    warn=warnings.append)
    return warnings


def _doc(marker: str, **extra: Any) -> dict[str, Any]:
    return {"@timestamp": "2026-11-23T12:00:00.000Z",
            "event": {"action": "DisableKey", "provider": "kms.amazonaws.com", "id": marker},
            "data_stream": {"type": "logs", "dataset": "aws.cloudtrail",
                            "namespace": NAMESPACE},
            "labels": {"kmsdet_run_id": marker}, **extra}


def _count(client: Elasticsearch, marker: str) -> int:
    client.indices.refresh(index=STREAM)
    body = client.count(index=STREAM, query={"term": {"labels.kmsdet_run_id": marker}})
    return int(body["count"])


def test_connect_reads_the_version_and_speaks_its_major(es_client: Elasticsearch,
                                                        es_target: EsTarget) -> None:
    info = server_info(es_client, es_target)
    assert info.major in (8, 9)
    transport = connect(es_target).transport
    assert isinstance(transport, CompatTransport)
    assert transport.compat_major == (info.major if info.major < CLIENT_MAJOR else None)
    assert es_client.cluster.health()["status"] in ("green", "yellow")


def test_cluster_capabilities_are_probed_not_assumed(es_client: Elasticsearch) -> None:
    found = supported_types(es_client, [*DEGRADED_TYPES, "keyword", "flattened"])
    assert found["keyword"] and found["flattened"]
    modules = {m["name"] for n in es_client.nodes.info(metric="modules")["nodes"].values()
               for m in n["modules"]}
    assert found["wildcard"] == ("wildcard" in modules)
    assert found["match_only_text"] == ("mapper-extras" in modules)


def test_template_installs_and_warns_about_degraded_types(
        es_client: Elasticsearch, template_ready: list[str]) -> None:
    assert es_client.indices.exists_index_template(name=TEMPLATE_NAME)
    missing = [t for t, ok in supported_types(es_client, DEGRADED_TYPES).items() if not ok]
    for mapping_type in missing:
        if mapping_type in ("constant_keyword", "match_only_text", "wildcard"):
            assert any(f"'{mapping_type}'" in w for w in template_ready), mapping_type


def test_seeding_twice_does_not_duplicate(es_client: Elasticsearch,
                                         template_ready: list[str]) -> None:
    marker = uuid.uuid4().hex
    docs = [_doc(marker, message=f"m{i}") for i in range(25)]
    ticks: list[int] = []
    first = seed_documents(es_client, docs, namespace=NAMESPACE, progress=ticks.append,
                           chunk_size=10, prepare=False, refresh=True)
    second = seed_documents(es_client, docs, namespace=NAMESPACE, prepare=False)
    assert (first.created, first.existing, first.failures) == (25, 0, [])
    assert (second.created, second.existing, second.failures) == (0, 25, [])
    assert sum(ticks) == 25 and len(ticks) == 3
    assert _count(es_client, marker) == 25


def test_bad_documents_are_reported_one_by_one(es_client: Elasticsearch,
                                               template_ready: list[str]) -> None:
    marker = uuid.uuid4().hex
    docs = [_doc(marker, message="ok"),
            _doc(marker, source={"ip": "not-an-ip"}),
            _doc(marker, message="ok too"),
            _doc(marker, **{"@timestamp": "yesterday-ish"})]
    report = seed_documents(es_client, docs, namespace=NAMESPACE, prepare=False)
    assert report.created == 2
    assert [f.position for f in report.failures] == [1, 3]
    assert all(f.status == 400 for f in report.failures)
    assert "source.ip" in report.failures[0].reason
    assert not report.ok


def test_seed_goes_to_the_data_stream_with_the_target_namespace(
        es_client: Elasticsearch, template_ready: list[str]) -> None:
    marker = uuid.uuid4().hex
    doc = _doc(marker)
    doc["data_stream"] = {**doc["data_stream"], "namespace": "default"}
    seed_documents(es_client, [doc], namespace=NAMESPACE, prepare=False, refresh=True)
    hits = es_client.search(index=STREAM, query={"term": {"labels.kmsdet_run_id": marker}})
    hit = hits["hits"]["hits"][0]
    assert hit["_index"].startswith(f".ds-{STREAM}-")
    assert hit["_source"]["data_stream"]["namespace"] == NAMESPACE


def test_integration_templates_win_over_kmsdets(es_client: Elasticsearch) -> None:
    """With Fleet's template present kmsdet installs nothing and writes to the stream as is.

    The stand-in template matches no index, so other tests on the shared node are unaffected.
    """
    es_client.indices.put_index_template(name="logs-aws.cloudtrail",
                                         index_patterns=["kmsdet-never-matches-*"],
                                         data_stream={}, priority=1)
    try:
        name, plan = prepare_target(es_client, namespace="default", schema=None)
        assert (name, plan) == ("logs-aws.cloudtrail-default", None)
    finally:
        es_client.indices.delete_index_template(name="logs-aws.cloudtrail")
    name, plan = prepare_target(es_client, namespace="default", schema=None,
                                warn=lambda _: None)
    assert plan is not None and plan.name == TEMPLATE_NAME
    assert "aws.cloudtrail" in plan.body["_meta"]["schema"]
