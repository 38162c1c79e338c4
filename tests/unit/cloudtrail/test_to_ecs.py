"""Raw record -> ECS document, as each emulated version of the AWS integration's pipeline maps it.

Each row builds a record from overrides (fixed seed), maps it with every pipeline in
:data:`PIPELINES`, and checks dotted fields. ``expect``/``absent`` hold for every version;
``per`` adds or replaces expectations for one pipeline (by name) where the versions differ.
Expected values may be callables of the raw record when they echo generated values.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from kmsdet.backends.base import RUN_ID_FIELD
from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.integration import (
    CURRENT,
    LEGACY,
    PIPELINES,
    SESSION_RELATED,
    Pipeline,
    using,
)
from kmsdet.cloudtrail.javamap import hashmap_order
from kmsdet.cloudtrail.to_ecs import mapper_for, to_ecs

AT = datetime(2024, 9, 11, 9, 29, 16, tzinfo=timezone.utc)
INGESTED = datetime(2024, 9, 11, 9, 31, 2, 654321, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}"
MATERIAL = "a" * 64
ABSENT = object()

Raw = dict[str, Any]


def get(doc: Any, dotted: str) -> Any:
    node = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


def ident(path: str) -> Callable[[Raw], Any]:
    """A value from the raw record (dotted path), for expectations that echo generated ids."""
    return lambda raw: get(raw, path)


@dataclass
class Row:
    id: str
    overrides: dict[str, Any]
    expect: dict[str, Any]
    absent: tuple[str, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    per: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = field(default_factory=dict)

    def for_pipeline(self, pipeline: Pipeline) -> tuple[dict[str, Any], tuple[str, ...]]:
        extra, extra_absent = self.per.get(pipeline.name, ({}, ()))
        expect = {k: v for k, v in {**self.expect, **extra}.items()
                  if not any(k == a or k.startswith(a + ".") for a in extra_absent)}
        absent = tuple(a for a in self.absent
                       if not any(k == a or k.startswith(a + ".") for k in extra)) + extra_absent
        return expect, absent


L, S, C = LEGACY.name, SESSION_RELATED.name, CURRENT.name


COMMON_ABSENT = ("event.category", "host", "source.geo", "source.as", "json", "message")

ROWS = [
    # ---- KMS APIs ------------------------------------------------------------------------
    Row("DisableKey", {"eventName": "DisableKey"}, {
        "event.action": "DisableKey", "event.provider": "kms.amazonaws.com",
        "event.outcome": "success", "event.kind": "event", "event.type": ["info"],
        "aws.cloudtrail.request_parameters": f"{{keyId={KEY}}}",
        "aws.cloudtrail.response_elements": f"{{keyId={KEY_ARN}}}",
        "aws.cloudtrail.flattened.request_parameters": {"keyId": KEY},
        "aws.cloudtrail.flattened.response_elements": {"keyId": KEY_ARN},
        "aws.cloudtrail.resources": [{"account_id": ACCOUNT, "type": "AWS::KMS::Key",
                                      "arn": KEY_ARN}],
        "aws.cloudtrail.read_only": False, "aws.cloudtrail.management_event": True,
        "aws.cloudtrail.event_type": "AwsApiCall", "aws.cloudtrail.event_category": "Management",
        "aws.cloudtrail.event_version": "1.11", "aws.cloudtrail.recipient_account_id": ACCOUNT,
        "aws.cloudtrail.request_id": ident("requestID"), "event.id": ident("eventID"),
    }, per={p: ({"aws.cloudtrail.management_event": "true"}, ()) for p in (S, C)}),
    Row("ScheduleKeyDeletion",
        {"eventName": "ScheduleKeyDeletion", "requestParameters": {"pendingWindowInDays": 7}}, {
            "aws.cloudtrail.request_parameters": f"{{pendingWindowInDays=7, keyId={KEY}}}",
            "aws.cloudtrail.response_elements":
                f"{{pendingWindowInDays=7, deletionDate=Sep 18, 2024 9:29:16 AM, "
                f"keyState=PendingDeletion, keyId={KEY_ARN}}}",
            "aws.cloudtrail.flattened.request_parameters.pendingWindowInDays": 7,
        }),
    Row("DeleteImportedKeyMaterial",
        {"eventName": "DeleteImportedKeyMaterial",
         "requestParameters": {"keyMaterialId": MATERIAL}},
        {"aws.cloudtrail.request_parameters": f"{{keyMaterialId={MATERIAL}, keyId={KEY}}}",
         "aws.cloudtrail.response_elements": f"{{keyMaterialId={MATERIAL}, keyId={KEY_ARN}}}"}),
    Row("PutKeyPolicy", {"eventName": "PutKeyPolicy"}, {
        "aws.cloudtrail.request_parameters":
            lambda raw: (f"{{policyName=default, keyId={KEY}, "
                         f"bypassPolicyLockoutSafetyCheck=false, "
                         f"policy={raw['requestParameters']['policy']}}}"),
        "aws.cloudtrail.flattened.request_parameters.bypassPolicyLockoutSafetyCheck": False,
    }, absent=("aws.cloudtrail.response_elements", "aws.cloudtrail.flattened.response_elements")),
    Row("ImportKeyMaterial", {"eventName": "ImportKeyMaterial"}, {
        "aws.cloudtrail.request_parameters":
            lambda raw: (f"{{expirationModel=KEY_MATERIAL_EXPIRES, importType=NEW_KEY_MATERIAL, "
                         f"keyId={KEY}, keyMaterialDescription=hsm-export, "
                         f"validTo={raw['requestParameters']['validTo']}}}"),
    }),
    Row("CreateGrant", {"eventName": "CreateGrant"}, {
        "aws.cloudtrail.request_parameters":
            f"{{operations=[Encrypt, Decrypt, GenerateDataKey], keyId={KEY}, "
            f"constraints={{encryptionContextSubset={{Department=Finance}}}}, "
            f"granteePrincipal=arn:aws:iam::{ACCOUNT}:role/orders-api-task}}",
        "aws.cloudtrail.flattened.request_parameters.operations":
            ["Encrypt", "Decrypt", "GenerateDataKey"],
    }),
    Row("CreateKey-empty-description-pruned", {"eventName": "CreateKey"}, {
        "aws.cloudtrail.flattened.request_parameters.origin": "AWS_KMS",
        "aws.cloudtrail.flattened.response_elements.keyMetadata.aWSAccountId": ACCOUNT,
    }, absent=("aws.cloudtrail.flattened.request_parameters.description",
               "aws.cloudtrail.flattened.response_elements.keyMetadata.description")),
    Row("Decrypt-read-only", {"eventName": "Decrypt"}, {
        "aws.cloudtrail.read_only": True,
        "aws.cloudtrail.additional_eventdata":
            lambda raw: f"{{keyMaterialId={raw['additionalEventData']['keyMaterialId']}}}",
    }, absent=("aws.cloudtrail.response_elements",)),
    Row("EnableKeyRotation", {"eventName": "EnableKeyRotation"}, {
        "aws.cloudtrail.request_parameters": f"{{rotationPeriodInDays=365, keyId={KEY}}}",
    }),
    # ---- identities ----------------------------------------------------------------------
    Row("IAMUser", {"eventName": "DisableKey", "userIdentity": {"type": "IAMUser",
                                                                 "userName": "alice"}}, {
        "aws.cloudtrail.user_identity.type": "IAMUser", "user.name": "alice",
        "aws.cloudtrail.user_identity.arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "aws.cloudtrail.user_identity.access_key_id": ident("userIdentity.accessKeyId"),
        "cloud.account.id": ACCOUNT, "cloud.region": "us-east-1",
        "user.id": ident("userIdentity.principalId"),
        "related.user": lambda raw: [raw["userIdentity"]["principalId"], "alice"],
    }, absent=("user.changes", "aws.cloudtrail.user_identity.session_context", "user.email"),
        per={C: ({"user.id": f"arn:aws:iam::{ACCOUNT}:user/alice",
                  "aws.cloudtrail.user_identity.principal_id": ident("userIdentity.principalId"),
                  "related.user": [f"arn:aws:iam::{ACCOUNT}:user/alice", "alice"],
                  "cloud.service.name": "kms", "related.ip": lambda raw: [raw["sourceIPAddress"]]},
                 ())}),
    Row("AssumedRole", {"eventName": "DisableKey", "userIdentity": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID1234:ops@example.com",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/KeyAdmin/ops@example.com",
        "sessionContext": {"sessionIssuer": {"userName": "KeyAdmin"},
                           "attributes": {"creationDate": "2024-09-11T08:00:00Z"}}}}, {
        "user.name": "KeyAdmin", "user.id": "AROAEXAMPLEROLEID1234:ops@example.com",
        "aws.cloudtrail.user_identity.session_context.session_issuer.type": "Role",
        "aws.cloudtrail.user_identity.session_context.session_issuer.arn":
            f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin",
        "aws.cloudtrail.user_identity.session_context.session_issuer.account_id": ACCOUNT,
        "aws.cloudtrail.user_identity.session_context.session_issuer.principal_id":
            ident("userIdentity.sessionContext.sessionIssuer.principalId"),
        "aws.cloudtrail.user_identity.session_context.creation_date": "2024-09-11T08:00:00.000Z",
        "aws.cloudtrail.user_identity.session_context.mfa_authenticated": "false",
        "related.user": ["AROAEXAMPLEROLEID1234:ops@example.com", "KeyAdmin", "ops@example.com"],
        "user.changes.name": "ops@example.com",
    }, absent=("user.email",), per={
        S: ({"related.user": ["ops@example.com", "ops",
                              "AROAEXAMPLEROLEID1234:ops@example.com", "KeyAdmin"],
             "user.email": "ops@example.com"}, ("user.changes",)),
        C: ({"related.user": ["ops@example.com", "ops",
                              f"arn:aws:sts::{ACCOUNT}:assumed-role/KeyAdmin/ops@example.com",
                              "KeyAdmin"],
             "user.email": "ops@example.com",
             "user.id": f"arn:aws:sts::{ACCOUNT}:assumed-role/KeyAdmin/ops@example.com",
             "aws.cloudtrail.user_identity.principal_id": "AROAEXAMPLEROLEID1234:ops@example.com",
             }, ("user.changes",)),
    }),
    Row("Root", {"eventName": "ScheduleKeyDeletion", "userIdentity": {"type": "Root"}}, {
        "user.id": ACCOUNT, "aws.cloudtrail.user_identity.arn": f"arn:aws:iam::{ACCOUNT}:root",
        "aws.cloudtrail.user_identity.session_context.mfa_authenticated": "true",
        "related.user": [ACCOUNT],
    }, absent=("user.name", "aws.cloudtrail.user_identity.session_context.session_issuer"),
        per={C: ({"user.id": f"arn:aws:iam::{ACCOUNT}:root",
                  "aws.cloudtrail.user_identity.principal_id": ACCOUNT,
                  "related.user": [f"arn:aws:iam::{ACCOUNT}:root"]}, ())}),
    Row("AWSService", {"eventName": "Decrypt",
                       "userIdentity": {"type": "AWSService", "invokedBy": "eks.amazonaws.com"}}, {
        "aws.cloudtrail.user_identity.type": "AWSService",
        "aws.cloudtrail.user_identity.invoked_by": "eks.amazonaws.com",
        "source.address": "eks.amazonaws.com", "user_agent.original": "eks.amazonaws.com",
        "user_agent.name": "Other", "cloud.account.id": ACCOUNT,
    }, absent=("user", "source.ip", "related", "tls", "aws.cloudtrail.user_identity.arn"),
        per={C: ({"service.name": "eks.amazonaws.com", "cloud.service.name": "kms"}, ())}),
    Row("AWSAccount-cross-account", {"eventName": "Decrypt", "userIdentity": {
        "type": "AWSAccount", "accountId": "444455556666"}}, {
        "cloud.account.id": "444455556666", "aws.cloudtrail.recipient_account_id": ACCOUNT,
        "user.id": ident("userIdentity.principalId"),
    }, absent=("aws.cloudtrail.shared_event_id", "user.name"),
        per={C: ({"aws.cloudtrail.user_identity.principal_id": ident("userIdentity.principalId")},
                 ("user.id",))}),
    Row("FederatedUser", {"eventName": "DisableKey", "userIdentity": {"type": "FederatedUser"}}, {
        "user.name": ident("userIdentity.sessionContext.sessionIssuer.userName"),
        "user.changes.name": lambda raw: raw["userIdentity"]["arn"].rsplit("/", 1)[1],
        "aws.cloudtrail.user_identity.session_context.session_issuer.type": "IAMUser",
    }, per={p: ({"related.user": lambda raw, p=p: [raw["userIdentity"]["arn"].rsplit("/", 1)[1],
                                             *([raw["userIdentity"]["arn"]] if p == C else
                                               [raw["userIdentity"]["principalId"]]),
                                             raw["userIdentity"]["sessionContext"][
                                                 "sessionIssuer"]["userName"]]},
                ("user.changes",)) for p in (S, C)}),
    Row("IdentityCenterUser", {"eventName": "DisableKey",
                               "userIdentity": {"type": "IdentityCenterUser"}}, {
        "user.id": ident("userIdentity.onBehalfOf.userId"),
        "aws.cloudtrail.user_identity.type": "IdentityCenterUser", "cloud.account.id": ACCOUNT,
    }, absent=("user.name", "aws.cloudtrail.user_identity.arn")),
    Row("DeleteKey-service-event", {"eventName": "DeleteKey"}, {
        "aws.cloudtrail.user_identity.invoked_by": "AWS Internal",
        "aws.cloudtrail.event_type": "AwsServiceEvent", "source.address": "AWS Internal",
        "user_agent.original": "AWS Internal", "cloud.account.id": ACCOUNT,
    }, absent=("aws.cloudtrail.user_identity.type", "aws.cloudtrail.request_parameters",
               "aws.cloudtrail.response_elements", "source.ip", "tls", "user")),
    # ---- failures and callers ------------------------------------------------------------
    Row("AccessDenied", {"eventName": "DisableKey", "errorCode": "AccessDenied"}, {
        "event.outcome": "failure", "aws.cloudtrail.error_code": "AccessDenied",
        "aws.cloudtrail.error_message": ident("errorMessage"),
        "aws.cloudtrail.request_parameters": f"{{keyId={KEY}}}",
    }, absent=("aws.cloudtrail.response_elements", "aws.cloudtrail.flattened.response_elements")),
    Row("errorMessage-alone-is-failure", {"eventName": "DisableKey", "errorMessage": "boom"},
        {"event.outcome": "failure", "aws.cloudtrail.error_message": "boom"},
        absent=("aws.cloudtrail.error_code",)),
    Row("AWS-Internal-caller", {"eventName": "EnableKey", "sourceIPAddress": "AWS Internal",
                                "userAgent": "AWS Internal", "tlsDetails": "<absent>"}, {
        "source.address": "AWS Internal", "user_agent": {"original": "AWS Internal",
                                                         "name": "Other",
                                                         "device": {"name": "Other"}},
    }, absent=("source.ip", "tls")),
    Row("IPv6", {"eventName": "DisableKey", "sourceIPAddress": "2001:db8::1"},
        {"source.address": "2001:db8::1", "source.ip": "2001:db8::1"}),
    Row("service-dns-name", {"eventName": "DisableKey", "sourceIPAddress": "eks.amazonaws.com"},
        {"source.address": "eks.amazonaws.com"}, absent=("source.ip",)),
    Row("tls", {"eventName": "DisableKey"}, {
        "tls.version": "1.3", "tls.version_protocol": "tls", "tls.cipher": "TLS_AES_128_GCM_SHA256",
        "tls.client.server_name": "kms.us-east-1.amazonaws.com"}),
    Row("tls-placeholder-dropped",
        {"eventName": "DisableKey", "tlsDetails": {"tlsVersion": "tlsVersion"}}, {},
        absent=("tls",)),
    Row("tls-without-v", {"eventName": "DisableKey", "tlsDetails": {"tlsVersion": "TLS1.2"}},
        {"tls.version": "TLS1.2"}, absent=("tls.version_protocol",)),
    Row("user-agent-cli", {"eventName": "DisableKey"}, {
        "user_agent.name": "aws-cli", "user_agent.version": "2.15.30",
        "user_agent.os.name": "Linux", "user_agent.device.name": "Other",
        "user_agent.original": ident("userAgent")}),
    Row("prune-dash-and-none", {"eventName": "DisableKey", "userAgent": "-",
                                "requestParameters": {"keyId": KEY, "grantTokens": "none",
                                                      "extra": [], "empty": {}}},
        {"aws.cloudtrail.request_parameters": f"{{keyId={KEY}}}"}, absent=("user_agent",)),
    Row("email-user-name", {"eventName": "DisableKey", "userIdentity": {
        "type": "IAMUser", "userName": "ann@example.com"}}, {"user.email": "ann@example.com"}),
    Row("console-session", {"eventName": "DisableKey",
                            "sessionCredentialFromConsole": "true"},
        {"aws.cloudtrail.session_credential_from_console": "true"}),
    Row("vpc-endpoint-and-shared-id", {"eventName": "Decrypt", "vpcEndpointId": "vpce-0abc",
                                       "sharedEventId": "s-1", "sharedEventID": "S-2"},
        {"aws.cloudtrail.vpc_endpoint_id": "vpce-0abc", "aws.cloudtrail.shared_event_id": "s-1"}),
    # ---- other services (baseline traffic) -----------------------------------------------
    Row("GetObject-categorized", {"eventName": "GetObject"}, {
        "event.category": ["file"], "event.type": ["info"], "event.provider": "s3.amazonaws.com",
        "aws.cloudtrail.event_category": "Data", "aws.cloudtrail.management_event": False,
    }, per={p: ({"aws.cloudtrail.management_event": "false"}, ()) for p in (S, C)}),
    Row("Publish-empty-type", {"eventName": "Publish", "eventSource": "sns.amazonaws.com"},
        {"event.category": ["api"]}, absent=("event.type",)),
    Row("CreateUser-iam-targets", {"eventName": "CreateUser", "eventSource": "iam.amazonaws.com",
                                   "userIdentity": {"type": "IAMUser", "userName": "admin"},
                                   "requestParameters": {"userName": "newbie"},
                                   "responseElements": {"user": {"userId": "AIDANEWBIE"}}}, {
        "event.category": ["iam"], "event.type": ["user", "creation"],
        "user.target.name": "newbie", "user.target.id": "AIDANEWBIE",
        "related.user": lambda raw: ["newbie", "AIDANEWBIE", raw["userIdentity"]["principalId"],
                                     "admin"],
    }, per={C: ({"related.user": lambda raw: ["newbie", "AIDANEWBIE", raw["userIdentity"]["arn"],
                                              "admin"],
                 "cloud.service.name": "iam"}, ())}),
    Row("ConsoleLogin", {"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com",
                         "responseElements": {"ConsoleLogin": "Failure"},
                         "additionalEventData": {"MFAUsed": "No", "MobileVersion": "No",
                                                 "LoginTo": "https://console.aws.amazon.com"}}, {
        "event.outcome": "failure", "event.category": ["authentication"],
        "aws.cloudtrail.console_login.additional_eventdata":
            {"mfa_used": False, "mobile_version": False,
             "login_to": "https://console.aws.amazon.com"}}),
]


GOV_ROLE_ARN = "arn:aws-us-gov:sts::111122223333:assumed-role/GovAdmin/i-0f1e2d3c4b5a69788"
CN_ROLE_ARN = "arn:aws-cn:sts::111122223333:assumed-role/CnAdmin/deploy-7"

# One row per pipeline change between the emulated versions, with what each version writes.
CHANGE_ROWS = [
    Row("change-cloud-provider-and-service", {"eventName": "AssumeRole"},
        {"event.category": ["authentication"]}, per={
        C: ({"cloud.provider": "aws", "cloud.service.name": "sts"}, ())}),
    Row("change-related-ip-v6", {"eventName": "DisableKey", "sourceIPAddress": "2001:db8::7"}, {
        "source.ip": "2001:db8::7"}, per={C: ({"related.ip": ["2001:db8::7"]}, ())}),
    Row("change-related-ip-not-for-names", {"eventName": "DisableKey",
                                            "sourceIPAddress": "eks.amazonaws.com"}, {},
        absent=("related.ip", "source.ip")),
    Row("change-service-name-of-service-caller", {"eventName": "AssumeRole", "userIdentity": {
        "type": "AWSService", "invokedBy": "ec2.amazonaws.com"}},
        {"aws.cloudtrail.user_identity.invoked_by": "ec2.amazonaws.com",
         "event.category": ["authentication"]},
        absent=("service",), per={C: ({"service.name": "ec2.amazonaws.com"}, ())}),
    Row("change-user-id-and-principal-id", {"eventName": "DisableKey", "userIdentity": {
        "type": "IAMUser", "userName": "bob", "principalId": "AIDAEXAMPLEBOB000001"}},
        {"user.id": "AIDAEXAMPLEBOB000001", "related.user": ["AIDAEXAMPLEBOB000001", "bob"]},
        absent=("aws.cloudtrail.user_identity.principal_id",),
        per={C: ({"user.id": f"arn:aws:iam::{ACCOUNT}:user/bob",
                  "related.user": [f"arn:aws:iam::{ACCOUNT}:user/bob", "bob"],
                  "aws.cloudtrail.user_identity.principal_id": "AIDAEXAMPLEBOB000001"}, ())}),
    Row("change-ec2-role-delivery", {"eventName": "Decrypt", "userIdentity": {
        "type": "AssumedRole", "sessionContext": {"ec2RoleDelivery": "2.0"}}}, {},
        absent=("aws.cloudtrail.user_identity.session_context.ec2_role_delivery",),
        per={C: ({"aws.cloudtrail.user_identity.session_context.ec2_role_delivery": "2.0"},
                 ())}),
    Row("change-session-name-plain", {"eventName": "DisableKey", "userIdentity": {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID1234:nightly-rotate",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Rotator/nightly-rotate",
        "sessionContext": {"sessionIssuer": {"userName": "Rotator"}}}},
        {"user.name": "Rotator", "user.changes.name": "nightly-rotate",
         "related.user": ["AROAEXAMPLEROLEID1234:nightly-rotate", "Rotator", "nightly-rotate"]},
        absent=("user.email",), per={
            S: ({"related.user": ["nightly-rotate", "AROAEXAMPLEROLEID1234:nightly-rotate",
                                  "Rotator"]}, ("user.changes",)),
            C: ({"related.user": ["nightly-rotate",
                                  f"arn:aws:sts::{ACCOUNT}:assumed-role/Rotator/nightly-rotate",
                                  "Rotator"]}, ("user.changes",))}),
    Row("change-us-gov-partition", {"eventName": "DisableKey", "awsRegion": "us-gov-west-1",
                                    "userIdentity": {"type": "AssumedRole", "arn": GOV_ROLE_ARN,
                                                     "sessionContext": {"sessionIssuer": {
                                                         "userName": "GovAdmin"}}}},
        {"event.kind": "pipeline_error", "json.eventName": "DisableKey"},
        absent=("event.action", "related"), per={
            p: ({"event.kind": "event", "event.action": "DisableKey", "user.name": "GovAdmin",
                 "related.user": lambda raw, p=p: [
                     "i-0f1e2d3c4b5a69788",
                     GOV_ROLE_ARN if p == C else raw["userIdentity"]["principalId"],
                     "GovAdmin"]}, ("user.changes", "error", "json"))
            for p in (S, C)}),
    Row("change-china-partition", {"eventName": "DisableKey", "userIdentity": {
        "type": "AssumedRole", "arn": CN_ROLE_ARN,
        "sessionContext": {"sessionIssuer": {"userName": "CnAdmin"}}}},
        {"event.kind": "pipeline_error", "json.eventName": "DisableKey"},
        absent=("event.action",), per={
            p: ({"event.kind": "event", "event.action": "DisableKey", "user.name": "CnAdmin"},
                ("error", "json")) for p in (S, C)}),
    Row("change-send-command-type", {"eventName": "SendCommand",
                                     "eventSource": "ssm.amazonaws.com"},
        {"event.category": ["process"]}, absent=("event.type",),
        per={C: ({"event.type": ["start"], "cloud.service.name": "ssm"}, ())}),
]


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.name for p in PIPELINES])
@pytest.mark.parametrize("row", ROWS + CHANGE_ROWS, ids=[r.id for r in ROWS + CHANGE_ROWS])
def test_raw_to_ecs(row: Row, pipeline: Pipeline) -> None:
    raw = build_record(row.overrides, rng=random.Random(11), at=AT, key_id=KEY)
    before = json.dumps(raw, sort_keys=True)
    doc = to_ecs(raw, ingested=INGESTED, integration=pipeline, **row.kwargs)
    assert json.dumps(raw, sort_keys=True) == before, "the raw record must not be modified"
    expect, absent = row.for_pipeline(pipeline)
    for path, expected in expect.items():
        value = expected(raw) if callable(expected) else expected
        assert get(doc, path) == value, path
    for path in absent + COMMON_ABSENT:
        if not any(k == path or k.startswith(path + ".") for k in expect):
            assert get(doc, path) is ABSENT, path
    if doc["event"]["kind"] != "pipeline_error":
        assert get(doc, "cloud.provider") == ("aws" if pipeline is CURRENT else ABSENT)
    if pipeline is not CURRENT:
        for path in ("cloud.service", "related.ip", "service",
                     "aws.cloudtrail.user_identity.principal_id"):
            assert get(doc, path) is ABSENT, path


def test_envelope_and_times() -> None:
    raw = build_record({"eventName": "DisableKey"}, rng=random.Random(1), at=AT)
    doc = to_ecs(raw, ingested=INGESTED, run_id="run-42", namespace="kmsdet")
    assert doc["@timestamp"] == "2024-09-11T09:29:16.000Z"
    assert doc["event"]["ingested"] == "2024-09-11T09:31:02Z"
    assert doc["event"]["created"] == "2024-09-11T09:31:02.654Z"
    assert doc["event"]["dataset"] == "aws.cloudtrail" and doc["event"]["module"] == "aws"
    assert doc["data_stream"] == {"type": "logs", "dataset": "aws.cloudtrail",
                                  "namespace": "kmsdet"}
    assert doc["input"] == {"type": "aws-s3"}
    assert doc["ecs"] == {"version": "8.11.0"}
    assert doc["tags"] == ["forwarded", "aws-cloudtrail"]
    assert get(doc, RUN_ID_FIELD) == "run-42"
    assert "original" not in doc["event"]


def test_preserve_original() -> None:
    raw = build_record({"eventName": "DisableKey"}, rng=random.Random(1), at=AT)
    doc = to_ecs(raw, ingested=INGESTED, preserve_original=True)
    assert doc["tags"] == ["preserve_original_event", "forwarded", "aws-cloudtrail"]
    assert json.loads(doc["event"]["original"]) == raw
    assert ", " not in doc["event"]["original"][:40]  # compact, as the log file holds it


def test_ingested_defaults_to_now() -> None:
    raw = build_record({"eventName": "DisableKey"}, rng=random.Random(1), at=AT)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    ingested = datetime.fromisoformat(to_ecs(raw)["event"]["ingested"].replace("Z", "+00:00"))
    assert before <= ingested <= datetime.now(timezone.utc)


def test_bad_event_time_keeps_the_agent_time() -> None:
    raw = build_record({"eventName": "DisableKey", "eventTime": "yesterday"},
                       rng=random.Random(1), at=AT)
    assert to_ecs(raw, ingested=INGESTED)["@timestamp"] == "2024-09-11T09:31:02.654Z"


def test_event_time_with_offset_and_fraction() -> None:
    raw = build_record({"eventName": "DisableKey", "eventTime": "2024-09-11T11:29:16.123456+02:00"},
                       rng=random.Random(1), at=AT)
    assert to_ecs(raw, ingested=INGESTED)["@timestamp"] == "2024-09-11T11:29:16.123+02:00"


def test_resources_are_deduplicated_in_hash_order() -> None:
    a = {"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY_ARN}
    b = {**a, "ARN": KEY_ARN.replace("1234abcd", "ffff0000")}
    raw = build_record({"eventName": "ReEncrypt", "resources": [a, b, dict(a), "junk"]},
                       rng=random.Random(1), at=AT)
    resources = to_ecs(raw, ingested=INGESTED)["aws"]["cloudtrail"]["resources"]
    assert len(resources) == 2
    assert {r["arn"] for r in resources} == {a["ARN"], b["ARN"]}
    keys = [f"{r['ARN']}_{ACCOUNT}_AWS::KMS::Key" for r in (a, b)]
    assert [r["arn"] + f"_{ACCOUNT}_AWS::KMS::Key" for r in resources] == hashmap_order(keys)


def test_grok_failure_marks_a_pipeline_error() -> None:
    raw = build_record({"eventName": "DisableKey", "userIdentity": {
        "type": "AssumedRole", "arn": "arn:aws-us-gov:sts::111122223333:assumed-role/R/s"}},
        rng=random.Random(1), at=AT)
    doc = to_ecs(raw, ingested=INGESTED, integration=LEGACY)
    assert doc["event"]["kind"] == "pipeline_error"
    assert doc["error"]["message"][0].startswith(
        "Processor 'grok' with tag 'extract_user_name_from_arn' failed with message")
    assert "action" not in doc["event"] and doc["json"]["eventName"] == "DisableKey"
    # Renames that ran before the failing grok stay, as in Elasticsearch.
    assert doc["user"]["id"] == raw["userIdentity"]["principalId"]
    assert doc["cloud"]["account"]["id"] == ACCOUNT
    assert "related" not in doc


@pytest.mark.parametrize(("pipeline", "retain", "strings", "flattened"), [
    *[(p, r, s, f) for p in PIPELINES for r, s, f in (
        (None, True, True), ("all", True, True), ("keyword", True, False),
        ("minimal", True, False), ("flattened", False, True))],
    # Up to 7.3.0 the first prune deleted "none" before the pipeline read it: like unset.
    (LEGACY, "none", True, True), (SESSION_RELATED, "none", True, True),
    (CURRENT, "none", False, False),
])
def test_retain_modes(pipeline: Pipeline, retain: str | None, strings: bool,
                      flattened: bool) -> None:
    raw = build_record({"eventName": "DisableKey"}, rng=random.Random(1), at=AT)
    ct = to_ecs(raw, ingested=INGESTED, retain=retain, integration=pipeline)["aws"]["cloudtrail"]
    assert ("request_parameters" in ct) is strings
    assert ("flattened" in ct) is flattened


def test_long_payload_has_no_flattened_copy() -> None:
    raw = build_record({"eventName": "PutKeyPolicy", "requestParameters": {"policy": "x" * 40000}},
                       rng=random.Random(1), at=AT)
    ct = to_ecs(raw, ingested=INGESTED)["aws"]["cloudtrail"]
    assert len(ct["request_parameters"]) > 32766
    assert "request_parameters" not in ct.get("flattened", {})


# SendCommand's response as AWS writes it: 31 keys, 9 of them empty. Elasticsearch's json
# processor fills a HashMap with all 31 (capacity 64); the prune script removes 9 entries, which
# never shrinks a HashMap, so the 22 left iterate in their capacity-64 bucket order.
SEND_COMMAND_RESPONSE: dict[str, Any] = {"command": {
    "commandId": "0c1e5a7d-3f0b-4b8e-9d1a-2b7c4e6f8a90", "documentName": "AWS-RunShellScript",
    "documentVersion": "$DEFAULT", "comment": "", "expiresAfter": "Sep 11, 2024, 11:29:16 AM",
    "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS", "instanceIds": [],
    "targets": [{"key": "InstanceIds", "values": ["i-0a1b2c3d4e5f60718"]}],
    "requestedDateTime": "Sep 11, 2024, 9:29:16 AM", "status": "Pending",
    "statusDetails": "Pending", "outputS3Region": "us-east-1", "outputS3BucketName": "",
    "outputS3KeyPrefix": "", "maxConcurrency": "50", "maxErrors": "0", "targetCount": 0,
    "completedCount": 0, "errorCount": 0, "deliveryTimedOutCount": 0, "serviceRole": "",
    "notificationConfig": {"notificationArn": "", "notificationEvents": [],
                           "notificationType": ""},
    "cloudWatchOutputConfig": {"cloudWatchLogGroupName": "", "cloudWatchOutputEnabled": False},
    "interactive": False, "timeoutSeconds": 3600, "clientName": "", "clientSourceId": "",
    "alarmConfiguration": {"ignorePollAlarmFailure": False, "alarms": []},
    "triggeredAlarms": [], "hasSendCommandSignature": False, "hasCancelCommandSignature": False,
}}
# The order Elasticsearch's documents show for these key names.
SEND_COMMAND_KEY_ORDER = [
    "interactive", "alarmConfiguration", "deliveryTimedOutCount", "targets", "targetCount",
    "documentVersion", "maxConcurrency", "hasSendCommandSignature", "expiresAfter",
    "hasCancelCommandSignature", "requestedDateTime", "errorCount", "documentName",
    "completedCount", "commandId", "outputS3Region", "maxErrors", "statusDetails",
    "timeoutSeconds", "cloudWatchOutputConfig", "parameters", "status",
]


def test_payload_order_uses_the_capacity_of_all_parsed_keys() -> None:
    raw = build_record({"eventName": "SendCommand", "eventSource": "ssm.amazonaws.com"},
                       rng=random.Random(1), at=AT)
    raw["responseElements"] = SEND_COMMAND_RESPONSE
    ct = to_ecs(raw, ingested=INGESTED)["aws"]["cloudtrail"]
    command = ct["flattened"]["response_elements"]["command"]
    assert list(command) == SEND_COMMAND_KEY_ORDER
    assert ct["response_elements"].startswith(
        "{command={interactive=false, alarmConfiguration={ignorePollAlarmFailure=false}, "
        "deliveryTimedOutCount=0, targets=[{values=[i-0a1b2c3d4e5f60718], key=InstanceIds}], ")
    assert ct["response_elements"].endswith(
        "cloudWatchOutputConfig={cloudWatchOutputEnabled=false}, "
        "parameters=HIDDEN_DUE_TO_SECURITY_REASONS, status=Pending}}")


def test_default_is_the_selected_pipeline_and_mapper_for_binds_one() -> None:
    raw = build_record({"eventName": "DisableKey", "userIdentity": {"type": "IAMUser"}},
                       rng=random.Random(3), at=AT)
    principal, arn = raw["userIdentity"]["principalId"], raw["userIdentity"]["arn"]
    with using(LEGACY):
        assert to_ecs(raw, ingested=INGESTED)["user"]["id"] == principal
        bound_now = mapper_for()
    assert bound_now(raw, ingested=INGESTED)["user"]["id"] == principal
    assert mapper_for("7.0.1")(raw, ingested=INGESTED)["user"]["id"] == arn
    assert mapper_for(SESSION_RELATED)(raw, ingested=INGESTED)["user"]["id"] == principal
    with using(CURRENT):
        assert to_ecs(raw, ingested=INGESTED)["user"]["id"] == arn
