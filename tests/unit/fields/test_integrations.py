"""Integration field tables (integrations.json): which patterns reach them, what they decide."""

from __future__ import annotations

from kmsdet.fields.registry import schema_for_indices, schema_versions
from kmsdet.kql.parser import parse
from kmsdet.kql.schema_check import check_fields, check_query

BEDROCK = ["logs-aws_bedrock.invocation-*"]


def test_a_stream_with_a_table_types_its_fields() -> None:
    schema = schema_for_indices(BEDROCK)
    assert schema.get("gen_ai.request.model.id").type == "keyword"
    dataset = schema.get("event.dataset")
    assert (dataset.type, dataset.value) == ("constant_keyword", "aws_bedrock.invocation")
    assert "aws_bedrock" in schema.source


def test_an_ecs_leaf_the_stream_maps_as_an_object_is_an_object_there() -> None:
    """ECS has gen_ai.request.model (keyword); aws_bedrock maps gen_ai.request.model.* under
    it, and the integration's explicit mapping wins over ecs@mappings' dynamic templates."""
    schema = schema_for_indices(BEDROCK)
    assert schema.get("gen_ai.request.model") is None
    [issue] = check_query(parse("gen_ai.request.model: x"), schema)
    assert issue.code == "KD303" and "object" in issue.message
    # Where other indices are searched too, ECS's keyword may hold there.
    assert schema_for_indices(["logs-*"]).get("gen_ai.request.model").type == "keyword"


def test_a_table_never_makes_unknown_fields_errors() -> None:
    """A table is one package version: a field another version adds must not be an error."""
    schema = schema_for_indices(BEDROCK)
    assert not schema.complete
    [issue] = check_query(parse("gen_ai.request.model.idd: x"), schema)
    assert (issue.code, issue.severity) == ("KD302", "warning")
    assert "gen_ai.request.model.id" in (issue.hint or "")


def test_wide_patterns_gain_the_fields() -> None:
    schema = schema_for_indices(["logs-*"])
    assert schema.get("gen_ai.usage.prompt_tokens").type == "integer"
    assert schema.get("event.dataset").type == "keyword"  # ECS holds on other indices
    assert check_fields(["gen_ai.request.model.id"], schema) == []


def test_object_sub_keys_take_the_object_type() -> None:
    schema = schema_for_indices(BEDROCK)
    assert check_query(parse("gen_ai.policy.match_detail.words: x"), schema) == []


def test_network_traffic_headers_are_known_beside_packetbeat() -> None:
    schema = schema_for_indices(["packetbeat-*", "logs-network_traffic.*"])
    assert schema.get("http.request.headers").type == "flattened"
    assert check_query(parse('http.request.headers.user-agent: "curl/8.0"'), schema) == []


def test_github_audit_stream() -> None:
    schema = schema_for_indices(["logs-github.audit-*"])
    assert schema.get("github.actor_ip").type == "ip"
    [typo] = check_query(parse("github.catgory: repo"), schema)
    assert (typo.code, typo.severity) == ("KD302", "warning")
    assert "github.category" in (typo.hint or "")
    [never] = check_query(parse("event.dataset: github.auditlog"), schema)
    assert (never.code, never.severity) == ("KD304", "error")  # the stream's constant
    [bad_ip] = check_query(parse("github.actor_ip: nowhere"), schema)
    assert (bad_ip.code, bad_ip.severity) == ("KD304", "error")


def test_package_versions_are_reported() -> None:
    versions = schema_versions()["integrations"]
    assert versions["github"] == {"version": "2.25.1"}
    assert set(versions) == {"aws_bedrock", "github", "network_traffic"}
