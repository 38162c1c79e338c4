"""Actor/target entity fields, written only when the integration's mapping option is on."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest

from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.integration import CURRENT, LEGACY, PIPELINES, Pipeline, select
from kmsdet.cloudtrail.javamap import hashmap_order
from kmsdet.cloudtrail.to_ecs import to_ecs

AT = datetime(2024, 9, 11, 9, 29, 16, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
KEY = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Deployer"
TARGET_ROLE = f"arn:aws:iam::{ACCOUNT}:role/BreakGlass"
ENTITY_ROOTS = ("actor", "target", "host", "entity")


def doc(overrides: dict[str, Any], pipeline: Pipeline = CURRENT, **kwargs: Any) -> dict[str, Any]:
    raw = build_record(overrides, rng=random.Random(5), at=AT, key_id=KEY)
    return to_ecs(raw, ingested=AT, integration=pipeline, **kwargs)


def get(document: dict[str, Any], dotted: str) -> Any:
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


IAM_USER = {"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIAEXAMPLEALICE0001"}


def test_key_destruction_by_an_iam_user() -> None:
    d = doc({"eventName": "DisableKey", "userIdentity": IAM_USER}, actor_target=True)
    assert d["tags"] == ["actor_target_mapping", "forwarded", "aws-cloudtrail"]
    assert get(d, "actor.entity.id") == [ALICE]
    assert get(d, "user.entity.id") == [ALICE]
    assert get(d, "target.entity.id") == [KEY_ARN]
    assert get(d, "service.target.entity.id") == [KEY_ARN]
    expected = {"AKIAEXAMPLEALICE0001", ALICE, "alice", KEY, KEY_ARN}
    assert set(d["related"]["entity"]) == expected
    assert d["related"]["entity"] == hashmap_order(d["related"]["entity"])  # a Java HashSet


def test_legacy_pipeline_sorts_related_entity() -> None:
    d = doc({"eventName": "DisableKey", "userIdentity": IAM_USER}, LEGACY, actor_target=True)
    assert d["related"]["entity"] == sorted(d["related"]["entity"])


def test_assume_role_actor_is_the_issuing_role_and_target_the_role_assumed() -> None:
    d = doc({"eventName": "AssumeRole", "userIdentity": {
        "type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci-42",
        "sessionContext": {"sessionIssuer": {"arn": ROLE, "userName": "Deployer"}}},
        "requestParameters": {"roleArn": TARGET_ROLE, "roleSessionName": "oncall"}},
        actor_target=True)
    assert get(d, "actor.entity.id") == [ROLE] == get(d, "user.entity.id")
    assert get(d, "target.entity.id") == [TARGET_ROLE] == get(d, "user.target.entity.id")
    assert {"oncall", TARGET_ROLE, ROLE, "Deployer"} <= set(d["related"]["entity"])


def test_service_caller_is_a_service_entity() -> None:
    d = doc({"eventName": "AssumeRole", "userIdentity": {
        "type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "requestParameters": {"roleArn": TARGET_ROLE}}, actor_target=True)
    assert get(d, "actor.entity.id") == ["ec2.amazonaws.com"] == get(d, "service.entity.id")
    assert get(d, "service.name") == "ec2.amazonaws.com"
    assert get(d, "user.entity") is None
    assert "ec2.amazonaws.com" not in d["related"]["entity"]


def test_send_command_targets_its_instances() -> None:
    d = doc({"eventName": "SendCommand", "eventSource": "ssm.amazonaws.com",
             "userIdentity": IAM_USER,
             "requestParameters": {"documentName": "AWS-RunShellScript", "targets": [
                 {"key": "InstanceIds", "values": ["i-0a1b2c3d4e5f60718"]}]}},
            actor_target=True)
    assert get(d, "host.target.entity.id") == ["i-0a1b2c3d4e5f60718"]
    assert get(d, "host.id") == ["i-0a1b2c3d4e5f60718"]
    assert get(d, "target.entity.id") == ["i-0a1b2c3d4e5f60718"]


def test_a_read_of_a_key_has_an_actor_but_no_target() -> None:
    d = doc({"eventName": "Decrypt", "userIdentity": IAM_USER}, actor_target=True)
    assert get(d, "actor.entity.id") == [ALICE]
    assert get(d, "target") is None and get(d, "service.target") is None


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.name for p in PIPELINES])
def test_off_by_default_as_in_the_integration(pipeline: Pipeline,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KMSDET_ACTOR_TARGET_MAPPING", raising=False)
    d = doc({"eventName": "DisableKey", "userIdentity": IAM_USER}, pipeline)
    assert "actor_target_mapping" not in d["tags"]
    assert not any(root in d for root in ENTITY_ROOTS)
    assert get(d, "user.entity") is None and get(d, "related.entity") is None


def test_switch_from_selection_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMSDET_ACTOR_TARGET_MAPPING", "true")
    assert "actor" in doc({"eventName": "DisableKey"})
    select(None, actor_target=False)
    try:
        assert "actor" not in doc({"eventName": "DisableKey"})
    finally:
        select(None)
