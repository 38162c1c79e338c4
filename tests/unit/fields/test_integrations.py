"""Integration field tables (integrations.json): which patterns reach them, and completeness."""

from __future__ import annotations

from kmsdet.fields.registry import schema_for_indices, schema_versions
from kmsdet.kql.parser import parse
from kmsdet.kql.schema_check import check_fields, check_query

BEDROCK = ["logs-aws_bedrock.invocation-*"]


def test_a_stream_with_a_table_is_complete_and_its_definitions_hold() -> None:
    schema = schema_for_indices(BEDROCK)
    assert schema.complete
    assert schema.get("gen_ai.request.model").type == "keyword"
    dataset = schema.get("event.dataset")
    assert (dataset.type, dataset.value) == ("constant_keyword", "aws_bedrock.invocation")
    assert "aws_bedrock 0.3.0" in schema.source


def test_unknown_field_on_a_complete_stream_is_an_error() -> None:
    schema = schema_for_indices(BEDROCK)
    [issue] = check_query(parse("gen_ai.request.modle: x"), schema)
    assert (issue.code, issue.severity) == ("KD302", "error")
    assert "gen_ai.request.model" in (issue.hint or "")


def test_wide_patterns_gain_the_fields_but_stay_incomplete() -> None:
    schema = schema_for_indices(["logs-*"])
    assert not schema.complete
    assert schema.get("gen_ai.usage.prompt_tokens").type == "integer"
    # ECS keeps its own definition where both define the field.
    assert schema.get("event.dataset").type == "keyword"
    assert check_fields(["gen_ai.request.model"], schema) == []


def test_object_sub_keys_take_the_object_type() -> None:
    schema = schema_for_indices(BEDROCK)
    assert check_query(parse("gen_ai.policy.match_detail.words: x"), schema) == []


def test_network_traffic_headers_are_known_beside_packetbeat() -> None:
    schema = schema_for_indices(["packetbeat-*", "logs-network_traffic.*"])
    assert schema.get("http.request.headers").type == "flattened"
    assert check_query(parse('http.request.headers.user-agent: "curl/8.0"'), schema) == []


def test_package_versions_are_reported() -> None:
    assert schema_versions()["integrations"]["aws_bedrock"] == {"version": "0.3.0"}


def test_github_audit_stream_is_complete() -> None:
    schema = schema_for_indices(["logs-github.audit-*"])
    assert schema.complete and schema.get("github.actor_ip").type == "ip"
    [issue] = check_query(parse("github.catgory: repo"), schema)
    assert (issue.code, issue.severity) == ("KD302", "error")
    assert "github.category" in (issue.hint or "")
    [never] = check_query(parse("event.dataset: github.auditlog"), schema)
    assert never.code == "KD304"  # the stream's constant dataset
