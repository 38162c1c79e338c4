"""Index patterns pick the right field schema."""

from __future__ import annotations

import pytest

from kmsdet.fields.registry import classify_pattern, globs_overlap, schema_for_indices


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("logs-*", "logs-aws.cloudtrail-*", True),
        ("*", "logs-aws.cloudtrail-*", True),
        ("logs-aws*", "logs-aws.cloudtrail-*", True),
        ("*-aws.cloud*", "logs-aws.cloudtrail-*", True),
        ("logs-aws.cloudtrail-prod", "logs-aws.cloudtrail-*", True),
        ("logs-endpoint*", "logs-aws.cloudtrail-*", False),
        ("filebeat-*", "logs-aws.cloudtrail-*", False),
        ("logs-aws.cloudtrail-", "logs-aws.cloudtrail-*", True),
        ("metrics-*", "logs-*", False),
        ("a*b", "*c", False),
        ("a*c", "*b*", True),
    ],
)
def test_globs_overlap(a: str, b: str, expected: bool) -> None:
    assert globs_overlap(a, b) is expected
    assert globs_overlap(b, a) is expected


@pytest.mark.parametrize(
    ("pattern", "group"),
    [
        ("logs-aws.cloudtrail-*", "cloudtrail"),
        ("logs-aws.cloudtrail-prod", "cloudtrail"),
        ("logs-aws.cloudtrail-prod*", "cloudtrail"),
        (".ds-logs-aws.cloudtrail-default-2026.11.23-000001", "cloudtrail"),
        ("logs-*", "shared"),
        ("logs-aws*", "shared"),
        ("logs-aws.cloudtrail*", "shared"),
        ("*", "shared"),
        ("filebeat-*", "filebeat"),
        ("filebeat-8.15.0-*", "filebeat"),
        ("winlogbeat-*", "other"),
        ("logs-endpoint.events.*", "other"),
    ],
)
def test_classify_pattern(pattern: str, group: str) -> None:
    assert classify_pattern(pattern) == group


def test_same_patterns_give_the_same_schema_object() -> None:
    first = schema_for_indices(["filebeat-*", "logs-aws.cloudtrail-*"])
    assert schema_for_indices(("filebeat-*", "logs-aws.cloudtrail-*")) is first


def test_cloudtrail_stream_alone_is_complete_and_knows_its_constants() -> None:
    schema = schema_for_indices(["logs-aws.cloudtrail-*"])
    assert schema.complete
    assert schema.get("event.dataset").value == "aws.cloudtrail"
    assert schema.get("aws.cloudtrail.flattened.request_parameters").type == "flattened"


@pytest.mark.parametrize(
    "patterns",
    [["filebeat-*", "logs-aws.cloudtrail-*"], ["logs-*"], ["logs-aws.cloudtrail-*", "*"]],
)
def test_mixed_indices_drop_constants_other_indices_may_contradict(patterns: list[str]) -> None:
    schema = schema_for_indices(patterns)
    assert not schema.complete
    assert schema.get("aws.cloudtrail.user_identity.type") is not None
    # filebeat and other logs-* streams hold other datasets: no fixed value to check against.
    assert schema.get("event.dataset").value is None
    assert schema.get("data_stream.dataset").value is None


def test_filebeat_gets_the_aws_module_fields_but_ecs_definitions() -> None:
    schema = schema_for_indices(["filebeat-*"])
    assert schema.get("aws.cloudtrail.read_only").type == "boolean"
    assert schema.get("event.dataset").type == "keyword"


def test_unknown_patterns_get_ecs_only() -> None:
    schema = schema_for_indices(["winlogbeat-*"])
    assert not schema.complete
    assert schema.get("user.name").type == "keyword"
    assert schema.get("aws.cloudtrail.read_only") is None
    assert schema.suggest("eventName") == []  # no CloudTrail aliases without CloudTrail data


@pytest.mark.parametrize(
    "patterns",
    [["remote:logs-aws.cloudtrail-*"], ["logs-aws.cloudtrail-*", "-logs-aws.cloudtrail-test"],
     ["logs-aws.cloudtrail-a,logs-aws.cloudtrail-b"]],
)
def test_remote_clusters_exclusions_and_comma_lists(patterns: list[str]) -> None:
    assert schema_for_indices(patterns).complete


def test_no_index_means_kibana_default_security_indices() -> None:
    schema = schema_for_indices([])
    assert not schema.complete
    assert schema.get("aws.cloudtrail.user_identity.arn") is not None
