"""Raw record builder: defaults per API and identity, consistency, overrides and markers."""

from __future__ import annotations

import json
import random
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from kmsdet.cloudtrail.builder import TOP_LEVEL_ORDER, build_record
from kmsdet.cloudtrail.identities import IDENTITY_TYPES
from kmsdet.cloudtrail.kms_apis import KMS_APIS
from kmsdet.errors import InputError

AT = datetime(2024, 9, 11, 9, 29, 16, tzinfo=timezone.utc)
ACCOUNT = "111122223333"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY}"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
JAVA_DATE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$")


def build(overrides: dict[str, Any] | None = None, seed: int = 1, **kwargs: Any) -> dict:
    return build_record(overrides, rng=random.Random(seed), at=AT, **kwargs)


def test_same_seed_same_record_and_other_seed_other_ids() -> None:
    overrides = {"eventName": "DisableKey", "userIdentity": {"type": "AssumedRole"}}
    assert build(overrides, seed=5) == build(overrides, seed=5)
    assert build(overrides, seed=5)["eventID"] != build(overrides, seed=6)["eventID"]


def test_envelope_fields_and_aws_key_order() -> None:
    record = build({"eventName": "DisableKey"})
    assert [k for k in TOP_LEVEL_ORDER if k in record] == list(record)
    assert record["eventTime"] == "2024-09-11T09:29:16Z"
    assert record["eventSource"] == "kms.amazonaws.com"
    assert record["awsRegion"] == "us-east-1"
    assert record["recipientAccountId"] == ACCOUNT
    assert record["eventType"] == "AwsApiCall"
    assert record["managementEvent"] is True and record["readOnly"] is False
    assert record["eventCategory"] == "Management"
    assert UUID.match(record["eventID"]) and UUID.match(record["requestID"])
    assert record["tlsDetails"]["clientProvidedHostHeader"] == "kms.us-east-1.amazonaws.com"
    assert "command/kms.disable-key" in record["userAgent"]
    json.dumps(record)  # JSON-ready


def test_naive_time_is_utc() -> None:
    record = build_record({}, rng=random.Random(1), at=datetime(2024, 1, 2, 3, 4, 5, 678))
    assert record["eventTime"] == "2024-01-02T03:04:05Z"


@pytest.mark.parametrize("event_name", sorted(KMS_APIS))
def test_every_kms_api_names_one_key_everywhere(event_name: str) -> None:
    record = build({"eventName": event_name}, key_id=KEY)
    assert record["eventSource"] == "kms.amazonaws.com"
    resources = record.get("resources", [])
    if event_name not in ("ListKeys", "ListAliases"):
        assert KEY_ARN in [r["ARN"] for r in resources]
        assert all(r["type"] == "AWS::KMS::Key" and r["accountId"] == ACCOUNT
                   for r in resources)
    text = json.dumps({k: record.get(k) for k in ("requestParameters", "responseElements")})
    assert KEY in text or event_name in ("ListKeys", "ListAliases", "DeleteAlias", "Decrypt",
                                         "DeleteKey", "RotateKey")


# (eventName, request keys, response: None or its keys, readOnly)
API_SHAPES = [
    ("DisableKey", {"keyId"}, {"keyId"}, False),
    ("EnableKey", {"keyId"}, {"keyId"}, False),
    ("ScheduleKeyDeletion", {"keyId", "pendingWindowInDays"},
     {"keyId", "keyState", "deletionDate", "pendingWindowInDays"}, False),
    ("CancelKeyDeletion", {"keyId"}, {"keyId"}, False),
    ("DeleteImportedKeyMaterial", {"keyId", "keyMaterialId"}, {"keyId", "keyMaterialId"}, False),
    ("ImportKeyMaterial", {"keyId", "validTo", "expirationModel", "importType",
                           "keyMaterialDescription"}, {"keyId", "keyMaterialId"}, False),
    ("GetParametersForImport", {"keyId", "wrappingAlgorithm", "wrappingKeySpec"}, None, True),
    ("PutKeyPolicy", {"keyId", "policyName", "policy", "bypassPolicyLockoutSafetyCheck"}, None,
     False),
    ("CreateGrant", {"keyId", "constraints", "operations", "granteePrincipal"},
     {"grantId", "keyId"}, False),
    ("RetireGrant", {"keyId", "grantId"}, {"keyId"}, False),
    ("RevokeGrant", {"keyId", "grantId"}, {"keyId"}, False),
    ("CreateKey", {"description", "keyUsage", "keySpec", "origin",
                   "bypassPolicyLockoutSafetyCheck", "multiRegion"}, {"keyMetadata"}, False),
    ("DisableKeyRotation", {"keyId"}, None, False),
    ("EnableKeyRotation", {"keyId", "rotationPeriodInDays"}, None, False),
    ("CreateAlias", {"aliasName", "targetKeyId"}, None, False),
    ("UpdateAlias", {"aliasName", "targetKeyId"}, None, False),
    ("DeleteAlias", {"aliasName"}, None, False),
    ("ReplicateKey", {"keyId", "replicaRegion", "bypassPolicyLockoutSafetyCheck"},
     {"replicaKeyMetadata", "replicaPolicy"}, False),
    ("TagResource", {"keyId", "tags"}, None, False),
    ("Encrypt", {"keyId", "encryptionAlgorithm", "encryptionContext"}, None, True),
    ("Decrypt", {"encryptionAlgorithm", "encryptionContext"}, None, True),
    ("GenerateDataKey", {"keyId", "keySpec", "encryptionContext"}, None, True),
    ("ReEncrypt", {"sourceEncryptionAlgorithm", "destinationEncryptionAlgorithm",
                   "destinationKeyId"}, None, True),
]


@pytest.mark.parametrize(("event_name", "request_keys", "response_keys", "read_only"),
                         API_SHAPES, ids=[s[0] for s in API_SHAPES])
def test_api_shapes(event_name: str, request_keys: set[str], response_keys: set[str] | None,
                    read_only: bool) -> None:
    record = build({"eventName": event_name})
    assert set(record["requestParameters"]) == request_keys
    if response_keys is None:
        assert record["responseElements"] is None
    else:
        assert set(record["responseElements"]) == response_keys
    assert record["readOnly"] is read_only
    assert record["managementEvent"] is True  # KMS crypto calls are management events too


def test_schedule_key_deletion_window_and_deletion_date() -> None:
    windows = set()
    for seed in range(60):
        record = build({"eventName": "ScheduleKeyDeletion"}, seed=seed)
        days = record["requestParameters"]["pendingWindowInDays"]
        windows.add(days)
        response = record["responseElements"]
        assert response["pendingWindowInDays"] == days
        assert response["keyState"] == "PendingDeletion"
        assert JAVA_DATE.match(response["deletionDate"])
    assert min(windows) >= 7 and max(windows) <= 30 and len(windows) > 5


def test_pending_window_override_drives_the_response() -> None:
    record = build({"eventName": "ScheduleKeyDeletion",
                    "requestParameters": {"pendingWindowInDays": 7}})
    assert record["requestParameters"]["pendingWindowInDays"] == 7
    assert record["responseElements"]["deletionDate"] == "Sep 18, 2024 9:29:16 AM"


def test_key_from_request_override_is_used_throughout() -> None:
    record = build({"eventName": "DisableKey", "requestParameters": {"keyId": KEY_ARN}})
    assert record["requestParameters"]["keyId"] == KEY_ARN
    assert record["responseElements"]["keyId"] == KEY_ARN
    assert record["resources"][0]["ARN"] == KEY_ARN


def test_create_key_origin_and_metadata() -> None:
    record = build({"eventName": "CreateKey", "requestParameters": {"origin": "EXTERNAL"}})
    meta = record["responseElements"]["keyMetadata"]
    assert meta["origin"] == "EXTERNAL" and meta["keyState"] == "PendingImport"
    assert meta["aWSAccountId"] == ACCOUNT and meta["enabled"] is False
    assert JAVA_DATE.match(meta["creationDate"])
    assert build({"eventName": "CreateKey"})["requestParameters"]["origin"] == "AWS_KMS"


def test_put_key_policy_policy_is_an_escaped_json_string() -> None:
    policy = build({"eventName": "PutKeyPolicy"})["requestParameters"]["policy"]
    assert isinstance(policy, str)
    assert json.loads(policy)["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT}:root"


# (type, keys the identity must have, keys it must not have)
IDENTITIES = [
    ("IAMUser", {"principalId", "arn", "accountId", "accessKeyId", "userName"},
     {"sessionContext"}),
    ("AssumedRole", {"principalId", "arn", "accountId", "accessKeyId", "sessionContext"},
     {"userName"}),
    ("Root", {"principalId", "arn", "accountId"}, {"userName"}),
    ("AWSService", {"invokedBy"}, {"arn", "principalId"}),
    ("AWSAccount", {"principalId", "accountId"}, {"arn"}),
    ("FederatedUser", {"principalId", "arn", "accountId", "sessionContext"}, {"userName"}),
    ("IdentityCenterUser", {"accountId", "onBehalfOf", "credentialId"}, {"arn"}),
]


@pytest.mark.parametrize(("kind", "present", "absent"), IDENTITIES, ids=[i[0] for i in IDENTITIES])
def test_identity_types(kind: str, present: set[str], absent: set[str]) -> None:
    identity = build({"userIdentity": {"type": kind}})["userIdentity"]
    assert identity["type"] == kind
    assert present <= set(identity)
    assert not absent & set(identity)


def test_identity_types_cover_the_documented_list() -> None:
    assert {i[0] for i in IDENTITIES} == set(IDENTITY_TYPES)


def test_assumed_role_is_consistent_and_sub_overrides_apply() -> None:
    session = {"sessionIssuer": {"userName": "KeyAdmin"},
               "attributes": {"mfaAuthenticated": "true"}}
    record = build({"userIdentity": {"type": "AssumedRole", "sessionContext": session}})
    identity = record["userIdentity"]
    issuer = identity["sessionContext"]["sessionIssuer"]
    role_id, session = identity["principalId"].split(":", 1)
    assert issuer["principalId"] == role_id and issuer["userName"] == "KeyAdmin"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/KeyAdmin/{session}"
    assert issuer["arn"] == f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
    assert identity["accessKeyId"].startswith("ASIA")
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "true"
    assert identity["sessionContext"]["attributes"]["creationDate"] < record["eventTime"]


def test_iam_user_name_override_flows_into_the_arn() -> None:
    identity = build({"userIdentity": {"type": "IAMUser", "userName": "mallory"}})["userIdentity"]
    assert identity["arn"] == f"arn:aws:iam::{ACCOUNT}:user/mallory"
    assert identity["accessKeyId"].startswith("AKIA") and len(identity["accessKeyId"]) == 20


def test_service_caller_has_service_origin_and_no_tls() -> None:
    record = build({"eventName": "Decrypt", "userIdentity": {"type": "AWSService",
                                                             "invokedBy": "eks.amazonaws.com"}})
    assert record["sourceIPAddress"] == "eks.amazonaws.com"
    assert record["userAgent"] == "eks.amazonaws.com"
    assert "tlsDetails" not in record


def test_cross_account_caller() -> None:
    record = build({"eventName": "Decrypt", "userIdentity": {"type": "AWSAccount"}})
    assert record["userIdentity"]["accountId"] != ACCOUNT
    assert record["recipientAccountId"] == ACCOUNT
    assert UUID.match(record["sharedEventID"])


def test_delete_key_is_a_typeless_service_event() -> None:
    record = build({"eventName": "DeleteKey"})
    assert record["userIdentity"] == {"accountId": ACCOUNT, "invokedBy": "AWS Internal"}
    assert record["eventType"] == "AwsServiceEvent"
    assert record["sourceIPAddress"] == record["userAgent"] == "AWS Internal"
    assert record["requestParameters"] is None and record["responseElements"] is None


@pytest.mark.parametrize(("code", "fragment"), [
    ("AccessDenied", "is not authorized to perform: kms:DisableKey on resource: " + KEY_ARN),
    ("KMSInvalidStateException", f"{KEY_ARN} is pending deletion."),
    ("DisabledException", f"{KEY_ARN} is disabled."),
])
def test_failure_has_message_and_null_response(code: str, fragment: str) -> None:
    record = build({"eventName": "DisableKey", "errorCode": code}, key_id=KEY)
    assert record["errorCode"] == code
    assert fragment in record["errorMessage"]
    assert record["responseElements"] is None
    assert list(record).index("errorCode") < list(record).index("requestParameters")


def test_explicit_error_message_wins() -> None:
    record = build({"eventName": "DisableKey", "errorCode": "AccessDenied",
                    "errorMessage": "nope"})
    assert record["errorMessage"] == "nope"


def test_markers_delete_and_null() -> None:
    record = build({"eventName": "DisableKey", "tlsDetails": "<absent>",
                    "requestParameters": "<null>", "vpcEndpointId": "vpce-1",
                    "userIdentity": {"accessKeyId": "<absent>"}, "resources": None})
    assert "tlsDetails" not in record and "accessKeyId" not in record["userIdentity"]
    assert record["requestParameters"] is None and record["resources"] is None
    assert list(record).index("vpcEndpointId") < list(record).index("eventCategory")


def test_markers_inside_lists_and_new_subtrees() -> None:
    record = build({"eventName": "TagResource",
                    "requestParameters": {"tags": ["<absent>",
                                                   {"tagKey": "a", "tagValue": "<null>"}]},
                    "additionalEventData": {"x": "<null>", "y": "<absent>"}})
    assert record["requestParameters"]["tags"] == [{"tagKey": "a", "tagValue": None}]
    assert record["additionalEventData"] == {"x": None}


def test_dotted_keys_and_toml_values() -> None:
    record = build({"eventName": "DisableKey", "userIdentity.type": "IAMUser",
                    "userIdentity.userName": "eve", "requestParameters.extra": date(2024, 1, 2),
                    "additionalEventData": {"when": datetime(2024, 1, 2, 3, 4, 5,
                                                             tzinfo=timezone(timedelta(hours=2)))}})
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["arn"].endswith(":user/eve")
    assert record["requestParameters"]["extra"] == "2024-01-02"
    assert record["additionalEventData"]["when"] == "2024-01-02T01:04:05Z"


def test_other_service_with_event_source_override() -> None:
    record = build({"eventName": "DeleteBucketPolicy", "eventSource": "s3.amazonaws.com"})
    assert record["eventSource"] == "s3.amazonaws.com"
    assert record["requestParameters"] is None
    assert "command/s3.delete-bucket-policy" in record["userAgent"]
    assert record["tlsDetails"]["clientProvidedHostHeader"] == "s3.us-east-1.amazonaws.com"


def test_known_other_service_api() -> None:
    record = build({"eventName": "GetObject"})
    assert record["eventSource"] == "s3.amazonaws.com"
    assert record["eventCategory"] == "Data" and record["managementEvent"] is False
    assert record["additionalEventData"]["AuthenticationMethod"] == "AuthHeader"


def test_unknown_kms_api_gets_a_key_request() -> None:
    record = build({"eventName": "SomeFutureKmsCall"}, key_id=KEY)
    assert record["eventSource"] == "kms.amazonaws.com"
    assert record["requestParameters"] == {"keyId": KEY}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"eventName": object()}, "eventName"),
    ({"userIdentity.type": "IAMUser", "userIdentity": "x"}, None),
    ({"a..b": 1}, "a..b"),
    ({"requestParameters": {"k": {1, 2}}}, "requestParameters.k"),
])
def test_bad_overrides_raise_input_error(overrides: dict[str, Any], field: str | None) -> None:
    with pytest.raises(InputError) as info:
        build(overrides)
    if field:
        assert info.value.field == field


def test_overrides_must_be_a_table() -> None:
    with pytest.raises(InputError, match="table of keys"):
        build_record(["eventName"], rng=random.Random(1), at=AT)  # type: ignore[arg-type]


def test_unknown_client_is_reported() -> None:
    with pytest.raises(InputError) as info:
        build({}, client="netscape")
    assert info.value.field == "client"


def test_clients_change_only_the_agent() -> None:
    record = build({"eventName": "DisableKey"}, client="boto3")
    assert record["userAgent"].startswith("Boto3/")


def test_dotted_and_nested_forms_combine_keeping_markers() -> None:
    record = build({"userIdentity.type": "IAMUser", "userIdentity": {"accessKeyId": "<absent>"}})
    assert record["userIdentity"]["type"] == "IAMUser"
    assert "accessKeyId" not in record["userIdentity"]


def test_same_key_twice_is_reported() -> None:
    with pytest.raises(InputError) as info:
        build({"userIdentity.userName": "a", "userIdentity": {"userName": "b"}})
    assert info.value.field == "userIdentity.userName"


def test_role_used_by_a_service_shows_the_service_as_origin() -> None:
    record = build({"eventName": "Decrypt",
                    "userIdentity": {"type": "AssumedRole", "invokedBy": "s3.amazonaws.com"}})
    assert record["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
    assert record["sourceIPAddress"] == record["userAgent"] == "s3.amazonaws.com"
    assert "tlsDetails" not in record
