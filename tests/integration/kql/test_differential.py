"""Differential proof: kmsdet's KQL matcher against the real Elasticsearch.

Hypothesis draws batches of (query, document) cases from the KQL strategies
(tests/unit/kql/strategies.py). Each batch's documents go into one scratch index with the
strategies' mapping; each query, translated as Kibana translates it (kmsdet.kql.dsl), is run
against every document of its batch, and the set of hits must equal the set of documents the
embedded matcher accepts. Every pair compared counts as one case; a run compares
``EXAMPLES x BATCH x BATCH`` pairs (default 60 x 12 x 12 = 8,640), bounded by Hypothesis'
example count rather than time. KMSDET_DIFF_EXAMPLES changes the example count.

Mapping types the node lacks (constant_keyword on the minimal test distribution) are mapped
with their core substitute, and fields of those types are then left out of the queries: a
substitute has different semantics (a constant_keyword matches documents without the field),
so comparing on it would test the substitute, not kmsdet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsdet.es.template import DEGRADED_TYPES
from kmsdet.fields.schema import FieldInfo, FieldSchema
from kmsdet.kql.dsl import build_es_query
from kmsdet.kql.matcher import compile_query
from kmsdet.kql.parser import parse
from tests.unit.kql import strategies as gen

BATCH = 12
EXAMPLES = int(os.environ.get("KMSDET_DIFF_EXAMPLES", "60"))
SCHEMA = FieldSchema({
    name: FieldInfo(name, type_, value=gen.CONSTANT if type_ == "constant_keyword" else None)
    for name, type_ in gen.field_types().items()
})


def _mapping(supported: set[str]) -> dict[str, Any]:
    """The strategies' mapping, with types the node lacks replaced by their core type."""
    def degrade(node: dict[str, Any]) -> None:
        for child in node.get("properties", {}).values():
            wanted = child.get("type")
            if wanted in DEGRADED_TYPES and wanted not in supported:
                child.clear()
                child["type"] = DEGRADED_TYPES[wanted]
            degrade(child)
    mapping = gen.es_mapping()
    degrade(mapping)
    return mapping


@pytest.fixture(scope="module")
def diff_index(es_client: Elasticsearch, es_optional_types: set[str]) -> Iterator[str]:
    name = f"kmsdet-kql-diff-{uuid.uuid4().hex[:10]}"
    es_client.indices.create(index=name, mappings=_mapping(es_optional_types),
                             settings={"number_of_shards": 1, "number_of_replicas": 0})
    yield name
    es_client.indices.delete(index=name, ignore_unavailable=True)


def _query_fields(supported: set[str]) -> list[str]:
    return [f for f in gen.TOP_FIELDS
            if gen.FIELD_TYPES[f] not in DEGRADED_TYPES or gen.FIELD_TYPES[f] in supported]


def _cases(fields: list[str]) -> st.SearchStrategy[list[tuple[Any, Any]]]:
    return st.lists(gen.cases(fields=fields), min_size=BATCH, max_size=BATCH)


def test_matcher_agrees_with_elasticsearch(es_client: Elasticsearch, diff_index: str,
                                           es_optional_types: set[str]) -> None:
    fields = _query_fields(es_optional_types)
    compared: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(batch=_cases(fields))
    def check(batch: list[tuple[Any, Any]]) -> None:
        prefix = uuid.uuid4().hex[:8]
        ids = [f"{prefix}-{i}" for i in range(len(batch))]
        operations: list[dict[str, Any]] = []
        for doc_id, (_, doc) in zip(ids, batch, strict=True):
            operations += [{"index": {"_index": diff_index, "_id": doc_id}}, doc.source]
        response = es_client.bulk(operations=operations, refresh=True)
        assert not response["errors"], [i for i in response["items"]
                                         if i["index"].get("error")][:2]
        searches: list[dict[str, Any]] = []
        nodes = [parse(query.text) for query, _ in batch]
        for node in nodes:
            query = {"bool": {"filter": [build_es_query(node, SCHEMA),
                                         {"ids": {"values": ids}}]}}
            searches += [{"index": diff_index}, {"query": query, "size": len(ids),
                                                 "_source": False}]
        answers = es_client.msearch(searches=searches)["responses"]
        for (query, _), node, answer in zip(batch, nodes, answers, strict=True):
            assert "error" not in answer, (query.text, answer.get("error"))
            real = {hit["_id"] for hit in answer["hits"]["hits"]}
            matcher = compile_query(node, SCHEMA)
            ours = {doc_id for doc_id, (_, doc) in zip(ids, batch, strict=True)
                    if matcher(doc.source)}
            assert ours == real, {
                "query": query.text,
                "only_embedded": [batch[ids.index(i)][1].source for i in sorted(ours - real)],
                "only_elasticsearch": [batch[ids.index(i)][1].source
                                       for i in sorted(real - ours)]}
        compared.append(len(batch) * len(batch))

    check()
    assert sum(compared) >= 2000 or EXAMPLES < 20, f"only {sum(compared)} cases compared"
