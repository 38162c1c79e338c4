"""kmsdet's CloudTrail index template: real types when the cluster has them, explicit
degradation when it does not."""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.errors import UsageError
from kmsdet.es.template import (
    DEGRADED_TYPES,
    INDEX_PATTERN,
    build_mappings,
    build_template,
    data_stream_name,
)
from kmsdet.fields.schema import FieldInfo, FieldSchema

SCHEMA = FieldSchema({
    "@timestamp": FieldInfo("@timestamp", "date"),
    "event.dataset": FieldInfo("event.dataset", "constant_keyword", value="aws.cloudtrail"),
    "event.action": FieldInfo("event.action", "keyword", ignore_above=1024),
    "event.original": FieldInfo("event.original", "keyword", index=False, doc_values=False),
    "error.message": FieldInfo("error.message", "match_only_text"),
    "file.path": FieldInfo("file.path", "wildcard"),
    "host.cpu.usage": FieldInfo("host.cpu.usage", "scaled_float"),
    "user.name": FieldInfo("user.name", "keyword", ignore_above=1024),
    "user.name.text": FieldInfo("user.name.text", "match_only_text", parent="user.name"),
    "aws.cloudtrail.flattened.request_parameters": FieldInfo(
        "aws.cloudtrail.flattened.request_parameters", "flattened"),
    "source.ip": FieldInfo("source.ip", "ip"),
    "threat.enrichments": FieldInfo("threat.enrichments", "nested"),
    "threat.enrichments.matched.field": FieldInfo("threat.enrichments.matched.field", "keyword"),
    "labels": FieldInfo("labels", "object"),
}, object_types={"labels": "keyword"})


def _prop(body: dict[str, Any], name: str) -> dict[str, Any]:
    node: dict[str, Any] = {"properties": body["template"]["mappings"]["properties"]}
    for part in name.split("."):
        node = node["properties"][part]
    return node


@pytest.mark.parametrize(("field", "wanted"), [
    ("event.dataset", "constant_keyword"),
    ("error.message", "match_only_text"),
    ("file.path", "wildcard"),
    ("host.cpu.usage", "scaled_float"),
])
def test_missing_types_degrade_to_their_core_type(field: str, wanted: str) -> None:
    plan = build_template(SCHEMA, set())
    assert _prop(plan.body, field)["type"] == DEGRADED_TYPES[wanted]
    assert any(d.field == field and d.wanted == wanted for d in plan.degradations)
    assert plan.body["_meta"]["degraded"][field] == DEGRADED_TYPES[wanted]


def test_supported_types_are_kept_with_their_parameters() -> None:
    plan = build_template(SCHEMA, set(DEGRADED_TYPES))
    assert plan.degradations == []
    assert _prop(plan.body, "event.dataset") == {"type": "constant_keyword",
                                                 "value": "aws.cloudtrail"}
    assert _prop(plan.body, "host.cpu.usage") == {"type": "scaled_float",
                                                  "scaling_factor": 1000}
    assert _prop(plan.body, "user.name")["fields"] == {"text": {"type": "match_only_text"}}
    assert plan.warnings() == []


def test_warnings_name_each_missing_type_once() -> None:
    lines = build_template(SCHEMA, {"wildcard"}).warnings()
    assert len(lines) == 3  # constant_keyword, match_only_text (2 fields), scaled_float
    text = "\n".join(lines)
    assert "'match_only_text'" in text and "2 field(s) as 'text'" in text
    assert "wildcard" not in text


def test_mapping_options_carry_over() -> None:
    body = build_template(SCHEMA, set()).body
    assert _prop(body, "event.action") == {"type": "keyword", "ignore_above": 1024}
    assert _prop(body, "event.original") == {"type": "keyword", "index": False,
                                             "doc_values": False}
    assert _prop(body, "user.name")["fields"] == {"text": {"type": "text"}}
    assert _prop(body, "aws.cloudtrail.flattened.request_parameters") == {"type": "flattened"}
    nested = _prop(body, "threat.enrichments")
    assert nested["type"] == "nested"
    assert nested["properties"]["matched"]["properties"]["field"] == {"type": "keyword"}


def test_template_is_a_data_stream_with_the_run_id_as_keyword() -> None:
    body = build_template(SCHEMA, set()).body
    assert body["index_patterns"] == [INDEX_PATTERN]
    assert body["data_stream"] == {}
    assert _prop(body, "labels.kmsdet_run_id") == {"type": "keyword"}
    dynamic = {k: v for d in body["template"]["mappings"]["dynamic_templates"]
               for k, v in d.items()}
    assert dynamic["labels_subkeys"]["path_match"] == "labels.*"
    assert dynamic["labels_subkeys"]["mapping"]["type"] == "keyword"
    assert dynamic["strings_as_keyword"]["mapping"]["type"] == "keyword"


def test_timestamp_is_added_when_the_schema_lacks_it() -> None:
    body = build_template(FieldSchema.from_types({"a": "keyword"}), set()).body
    assert _prop(body, "@timestamp") == {"type": "date"}


@pytest.mark.parametrize(("namespace", "ok"), [
    ("default", True), ("kmsdet_test", True), ("prod2", True),
    ("Prod", False), ("a-b", False), ("", False), ("a b", False), ("x" * 101, False),
])
def test_data_stream_namespace_rules(namespace: str, ok: bool) -> None:
    if ok:
        assert data_stream_name(namespace) == f"logs-aws.cloudtrail-{namespace}"
    else:
        with pytest.raises(UsageError):
            data_stream_name(namespace)


def test_plain_mappings_for_scratch_indices() -> None:
    schema = FieldSchema({"msg": FieldInfo("msg", "object")}, object_types={"msg": "wildcard"})
    mappings, degraded = build_mappings(schema, set())
    assert "labels" not in mappings["properties"]  # no run id outside the data stream
    assert mappings["properties"]["@timestamp"] == {"type": "date"}
    subkeys = mappings["dynamic_templates"][0]["msg_subkeys"]
    assert subkeys == {"path_match": "msg.*", "mapping": {"type": "keyword"}}
    assert [(d.field, d.wanted, d.used) for d in degraded] == [("msg.*", "wildcard", "keyword")]
