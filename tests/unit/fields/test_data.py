"""The bundled field tables hold what the references say (ECS package, integration fields)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from kmsdet.fields.registry import schema_for_indices, schema_versions


def _table(name: str) -> dict:
    return json.loads(resources.files("kmsdet.fields.data").joinpath(name).read_text("utf-8"))


def test_ecs_table_records_version_and_has_every_definition() -> None:
    table = _table("ecs.json")
    source = table["source"]
    assert source["ecs_version"] == "9.4.0"
    assert source["package"] == "@elastic/ecs"
    assert source["package_version"] == "9.4.0"
    # EcsFlat holds ~2,600 definitions; multi-fields (user.name.text ...) come on top.
    assert 2500 <= source["definitions"] <= 2800
    assert len(table["fields"]) == source["fields"] > source["definitions"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("@timestamp", {"type": "date"}),
        ("source.ip", {"type": "ip"}),
        ("source.geo.location", {"type": "geo_point"}),
        ("source.as.number", {"type": "long"}),
        ("user.name", {"type": "keyword", "ignore_above": 1024}),
        ("user.name.text", {"type": "match_only_text", "parent": "user.name"}),
        ("event.original", {"type": "keyword", "index": False, "doc_values": False}),
        ("data_stream.dataset", {"type": "constant_keyword"}),
        ("labels", {"type": "object", "object_type": "keyword"}),
        ("threat.enrichments", {"type": "nested"}),
        ("process.command_line", {"type": "wildcard"}),
        ("error.message", {"type": "match_only_text"}),
    ],
)
def test_well_known_ecs_fields(name: str, expected: dict) -> None:
    assert _table("ecs.json")["fields"][name] == expected


# cloudtrail.md section 3, written out field by field (independently of the JSON file), with the
# type each has in the CloudTrail data stream.
SECTION_3: list[tuple[str, str]] = [
    *[(n, "date") for n in ("@timestamp", "event.created", "event.ingested")],
    *[(f"data_stream.{n}", "constant_keyword") for n in ("type", "dataset", "namespace")],
    ("event.dataset", "constant_keyword"),
    ("event.module", "constant_keyword"),
    ("input.type", "keyword"),
    *[(f"event.{n}", "keyword")
      for n in ("action", "provider", "outcome", "kind", "type", "category", "id", "original")],
    ("error.message", "match_only_text"),
    ("source.ip", "ip"),
    ("source.address", "keyword"),
    ("source.geo.location", "geo_point"),
    *[(f"source.geo.{n}", "keyword") for n in (
        "city_name", "continent_name", "country_iso_code", "country_name", "region_iso_code",
        "region_name")],
    ("source.as.number", "long"),
    ("source.as.organization.name", "keyword"),
    ("source.as.organization.name.text", "match_only_text"),
    ("user.name", "keyword"),
    ("user.name.text", "match_only_text"),
    *[(n, "keyword") for n in ("user.id", "user.email", "user.changes.name", "user.target.name")],
    ("user_agent.original", "keyword"),
    ("user_agent.original.text", "match_only_text"),
    *[(f"user_agent.{n}", "keyword")
      for n in ("name", "version", "device.name", "os.name", "os.version", "os.full")],
    *[(f"cloud.{n}", "keyword") for n in ("account.id", "region", "provider")],
    *[(n, "keyword") for n in (
        "tls.cipher", "tls.client.server_name", "tls.version", "tls.version_protocol",
        "related.user", "related.hash", "related.entity", "tags")],
    *[(f"aws.cloudtrail.{n}", "keyword") for n in (
        "event_version", "event_category", "event_type", "api_version", "request_id",
        "recipient_account_id", "shared_event_id", "vpc_endpoint_id", "error_code",
        "error_message", "management_event", "session_credential_from_console")],
    ("aws.cloudtrail.read_only", "boolean"),
    *[(f"aws.cloudtrail.user_identity.{n}", "keyword")
      for n in ("type", "arn", "access_key_id", "invoked_by")],
    ("aws.cloudtrail.user_identity.session_context.mfa_authenticated", "keyword"),
    ("aws.cloudtrail.user_identity.session_context.creation_date", "date"),
    *[(f"aws.cloudtrail.user_identity.session_context.session_issuer.{n}", "keyword")
      for n in ("type", "principal_id", "arn", "account_id")],
    *[(f"aws.cloudtrail.{n}", "keyword") for n in (
        "request_parameters", "response_elements", "additional_eventdata",
        "service_event_details")],
    *[(f"aws.cloudtrail.{n}.text", "text") for n in (
        "request_parameters", "response_elements", "additional_eventdata",
        "service_event_details")],
    ("aws.cloudtrail.resources", "object"),
    *[(f"aws.cloudtrail.resources.{n}", "keyword") for n in ("arn", "account_id", "type")],
    *[(f"aws.cloudtrail.flattened.{n}", "flattened") for n in (
        "request_parameters", "response_elements", "additional_eventdata",
        "service_event_details", "digest", "insight_details")],
    *[(f"aws.cloudtrail.console_login.additional_eventdata.{n}", "boolean")
      for n in ("mobile_version", "mfa_used")],
    *[(n, "keyword") for n in (
        "actor.entity.id", "target.entity.id", "user.entity.id", "user.target.entity.id",
        "service.entity.id", "service.target.entity.id", "host.entity.id",
        "host.target.entity.id", "entity.id", "entity.target.id")],
    *[(n, "keyword") for n in ("aws.s3.bucket.arn", "aws.s3.bucket.name", "aws.s3.object.key")],
    ("aws.s3.metadata", "flattened"),
]


@pytest.mark.parametrize(("name", "type_"), SECTION_3, ids=[n for n, _ in SECTION_3])
def test_every_section_3_field_is_in_the_cloudtrail_schema(name: str, type_: str) -> None:
    info = schema_for_indices(["logs-aws.cloudtrail-*"]).get(name)
    assert info is not None, name
    assert info.type == type_


@pytest.mark.parametrize(
    ("name", "value"),
    [("event.dataset", "aws.cloudtrail"), ("event.module", "aws"),
     ("data_stream.dataset", "aws.cloudtrail"), ("data_stream.type", "logs"),
     ("data_stream.namespace", None)],
)
def test_constant_keywords_carry_their_value(name: str, value: str | None) -> None:
    assert schema_for_indices(["logs-aws.cloudtrail-*"]).get(name).value == value


def test_integration_specifics_survive_the_merge_with_ecs() -> None:
    schema = schema_for_indices(["logs-aws.cloudtrail-*"])
    assert schema.get("aws.cloudtrail.request_parameters").ignore_above == 8191
    assert schema.get("aws.cloudtrail.request_parameters.text").parent == (
        "aws.cloudtrail.request_parameters")
    # Same type as ECS: the ECS mapping options still apply.
    assert schema.get("event.action").ignore_above == 1024
    original = schema.get("event.original")
    assert (original.index, original.doc_values) == (False, False)


def test_schema_versions_name_both_sources() -> None:
    versions = schema_versions()
    assert versions["ecs"]["ecs_version"] == "9.4.0"
    ct = versions["aws.cloudtrail"]
    assert "0b97ab02df57b57303b67e48840bb75dfe5c4738" in ct["fields_yml"]
    assert ct["index_patterns"] == ["logs-aws.cloudtrail-*"]
