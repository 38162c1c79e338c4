"""Keyword-family translation against the real Elasticsearch.

Kibana's query rules type fields from field_caps, which reports wildcard and constant_keyword
as keyword: a KQL wildcard value becomes one ``wildcard`` query, where a ``query_string``
would split ``*S3 Browser*`` at the space and match more. Inside a nested group the sub-fields
are untyped, so there the ``query_string`` (and its split) is what Kibana sends. Each case runs
kmsdet's DSL on Elasticsearch and holds the hits against the embedded matcher.

The test node has no wildcard type (the integration-test distribution lacks x-pack), so the
wildcard-typed field is mapped as keyword here: both index the whole value as one term and
answer term and wildcard queries alike, which is all these cases use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from kmsdet.fields.schema import FieldInfo, FieldSchema
from kmsdet.kql.dsl import build_es_query
from kmsdet.kql.matcher import compile_query
from kmsdet.kql.parser import parse

SCHEMA = FieldSchema({
    "wc": FieldInfo("wc", "wildcard"),
    "res": FieldInfo("res", "nested"),
    "res.arn": FieldInfo("res.arn", "keyword"),
})
DOCS: list[dict[str, Any]] = [
    {"wc": "x S3"}, {"wc": "x S3 Browser y"}, {"wc": "Browser"},
    {"res": [{"arn": "xa"}]}, {"res": [{"arn": "xa by"}]}, {"res": [{"arn": "zz"}]},
]


@pytest.fixture(scope="module")
def index(es_client: Elasticsearch) -> Iterator[str]:
    name = f"kmsdet-kwfamily-{uuid.uuid4().hex[:10]}"
    es_client.indices.create(index=name, mappings={"properties": {
        "wc": {"type": "keyword"},
        "res": {"type": "nested", "properties": {"arn": {"type": "keyword"}}},
    }})
    for i, doc in enumerate(DOCS):
        es_client.index(index=name, id=str(i), document=doc)
    es_client.indices.refresh(index=name)
    yield name
    es_client.indices.delete(index=name, ignore_unavailable=True)


@pytest.mark.parametrize(("query", "expected"), [
    ("wc: *S3 Browser*", {"1"}),  # one pattern: the split query_string would add 0 and 2
    ("wc: *Browser*", {"1", "2"}),
    ("res: { arn: *a b* }", {"3"}),  # untyped in the group: query_string splits (`*a`)
])
def test_hits_match_the_matcher(es_client: Elasticsearch, index: str, query: str,
                                expected: set[str]) -> None:
    node = parse(query)
    dsl = build_es_query(node, SCHEMA)
    hits = es_client.search(index=index, query=dsl, size=50)["hits"]["hits"]
    found = {h["_id"] for h in hits}
    matcher = compile_query(node, SCHEMA)
    assert found == {str(i) for i, doc in enumerate(DOCS) if matcher(doc)} == expected
