"""The scratch-index fixture differential tests build on: mappings follow the schema."""

from __future__ import annotations

from collections.abc import Callable

from elasticsearch import Elasticsearch

from kmsdet.fields.schema import FieldInfo, FieldSchema

SCHEMA = FieldSchema({
    "tag": FieldInfo("tag", "keyword"),
    "note": FieldInfo("note", "match_only_text"),
    "count": FieldInfo("count", "long"),
    "source.ip": FieldInfo("source.ip", "ip"),
})


def test_scratch_index_maps_the_schema(es_client: Elasticsearch,
                                       es_scratch_index: Callable[[FieldSchema], str],
                                       es_optional_types: set[str]) -> None:
    index = es_scratch_index(SCHEMA)
    props = es_client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["tag"]["type"] == "keyword"
    assert props["count"]["type"] == "long"
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    expected_note = "match_only_text" if "match_only_text" in es_optional_types else "text"
    assert props["note"]["type"] == expected_note
    es_client.index(index=index, document={"tag": "A", "note": "Key Disabled",
                                           "source": {"ip": "10.1.2.3"}}, refresh=True)
    hits = es_client.search(index=index, query={"bool": {"filter": [
        {"term": {"tag": "A"}}, {"match": {"note": "disabled"}},
        {"term": {"source.ip": "10.0.0.0/8"}}]}})
    assert hits["hits"]["total"]["value"] == 1
