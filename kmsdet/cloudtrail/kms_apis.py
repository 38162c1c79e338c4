"""Request/response shapes of AWS KMS calls as KMS logs them to CloudTrail.

Shapes follow the KMS Developer Guide's CloudTrail examples (``ct-*`` pages). Since late 2022
most management calls also return the key ARN in ``responseElements.keyId``; that newer form is
the default here. Values that a rule or an analyst may key on (``pendingWindowInDays``,
``origin``, ``keyMaterialId``) come from the caller's requestParameters when given, so the
response agrees with the request.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from kmsdet.cloudtrail.calls import ApiCall, ApiSpec, CallContext, KeyRef
from kmsdet.cloudtrail.values import hex_string, java_human_date, uuid4

KMS = "kms.amazonaws.com"

_ENCRYPTION_CONTEXTS = (
    lambda ctx: {"aws:s3:arn": f"arn:aws:s3:::app-data-{ctx.account}/reports/"
                               f"{ctx.rng.randrange(10**6)}.parquet"},
    lambda ctx: {"aws:ebs:id": f"vol-{hex_string(ctx.rng, 17)}"},
    lambda ctx: {"SecretARN": f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:"
                              f"prod/db-{hex_string(ctx.rng, 6)}",
                 "SecretVersionId": uuid4(ctx.rng)},
    lambda ctx: {"aws:lambda:FunctionArn": f"arn:aws:lambda:{ctx.region}:{ctx.account}:function:"
                                           "orders-api"},
)


def _arn_only(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id}, {"keyId": ctx.key.arn}, [ctx.key.resource()])


def _no_response(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id}, None, [ctx.key.resource()])


def _schedule_key_deletion(ctx: CallContext) -> ApiCall:
    days = ctx.hint("pendingWindowInDays")
    if not isinstance(days, int) or isinstance(days, bool):
        days = ctx.rng.randint(7, 30)
    deletion = java_human_date(ctx.at + timedelta(days=days))
    return ApiCall({"keyId": ctx.key.key_id, "pendingWindowInDays": days},
                   {"keyId": ctx.key.arn, "keyState": "PendingDeletion", "deletionDate": deletion,
                    "pendingWindowInDays": days},
                   [ctx.key.resource()])


def _material_id(ctx: CallContext) -> str:
    given = ctx.hint("keyMaterialId")
    return given if isinstance(given, str) else hex_string(ctx.rng, 64)


def _delete_imported_key_material(ctx: CallContext) -> ApiCall:
    material = _material_id(ctx)
    return ApiCall({"keyId": ctx.key.key_id, "keyMaterialId": material},
                   {"keyId": ctx.key.arn, "keyMaterialId": material}, [ctx.key.resource()])


def _import_key_material(ctx: CallContext) -> ApiCall:
    material = _material_id(ctx)
    valid_to = java_human_date(ctx.at + timedelta(days=365), comma_after_year=True)
    return ApiCall({"keyId": ctx.key.key_id, "validTo": valid_to,
                    "expirationModel": "KEY_MATERIAL_EXPIRES", "importType": "NEW_KEY_MATERIAL",
                    "keyMaterialDescription": "hsm-export"},
                   {"keyId": ctx.key.arn, "keyMaterialId": material}, [ctx.key.resource()])


def _get_parameters_for_import(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id, "wrappingAlgorithm": "RSAES_OAEP_SHA_256",
                    "wrappingKeySpec": "RSA_4096"}, None, [ctx.key.resource()], read_only=True)


def key_policy(account: str) -> str:
    """The default key policy, as the escaped JSON string PutKeyPolicy logs."""
    policy = {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
         "Resource": "*"}]}
    return json.dumps(policy, indent=2)


def _put_key_policy(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id, "policyName": "default",
                    "policy": key_policy(ctx.account), "bypassPolicyLockoutSafetyCheck": False},
                   None, [ctx.key.resource()])


def _create_grant(ctx: CallContext) -> ApiCall:
    grantee = f"arn:aws:iam::{ctx.account}:role/orders-api-task"
    request = {"keyId": ctx.key.key_id,
               "constraints": {"encryptionContextSubset": {"Department": "Finance"}},
               "operations": ["Encrypt", "Decrypt", "GenerateDataKey"],
               "granteePrincipal": grantee}
    return ApiCall(request, {"grantId": hex_string(ctx.rng, 64), "keyId": ctx.key.arn},
                   [ctx.key.resource()])


def _grant_change(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.arn, "grantId": hex_string(ctx.rng, 64)},
                   {"keyId": ctx.key.arn}, [ctx.key.resource()])


_ORIGIN_STATE = {"AWS_KMS": ("Enabled", True), "EXTERNAL": ("PendingImport", False),
                 "AWS_CLOUDHSM": ("Enabled", True), "EXTERNAL_KEY_STORE": ("Enabled", True)}


def key_metadata(ctx: CallContext, key: KeyRef, *, origin: str, description: str) -> dict:
    state, enabled = _ORIGIN_STATE.get(origin, ("Enabled", True))
    meta = {"aWSAccountId": key.account, "keyId": key.key_id, "arn": key.arn,
            "creationDate": java_human_date(ctx.at), "enabled": enabled,
            "description": description, "keyUsage": "ENCRYPT_DECRYPT", "keyState": state,
            "origin": origin, "keyManager": "CUSTOMER",
            "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keySpec": "SYMMETRIC_DEFAULT",
            "encryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "multiRegion": False}
    if origin == "EXTERNAL":
        meta["expirationModel"] = "KEY_MATERIAL_EXPIRES"
    if origin == "AWS_CLOUDHSM":
        meta["customKeyStoreId"] = f"cks-{hex_string(ctx.rng, 17)}"
        meta["cloudHsmClusterId"] = f"cluster-{hex_string(ctx.rng, 11)}"
    return meta


def _create_key(ctx: CallContext) -> ApiCall:
    origin = ctx.hint("origin")
    origin = origin if isinstance(origin, str) else "AWS_KMS"
    description = ctx.hint("description")
    description = description if isinstance(description, str) else ""
    request = {"description": description, "keyUsage": "ENCRYPT_DECRYPT",
               "keySpec": "SYMMETRIC_DEFAULT", "origin": origin,
               "bypassPolicyLockoutSafetyCheck": False, "multiRegion": False}
    meta = key_metadata(ctx, ctx.key, origin=origin, description=description)
    return ApiCall(request, {"keyMetadata": meta}, [ctx.key.resource()])


def _enable_key_rotation(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id, "rotationPeriodInDays": 365}, None,
                   [ctx.key.resource()])


def _alias_name(ctx: CallContext) -> str:
    given = ctx.hint("aliasName")
    return given if isinstance(given, str) else f"alias/app-{hex_string(ctx.rng, 6)}"


def _create_alias(ctx: CallContext) -> ApiCall:
    return ApiCall({"aliasName": _alias_name(ctx), "targetKeyId": ctx.key.key_id}, None,
                   [ctx.key.resource()])


def _delete_alias(ctx: CallContext) -> ApiCall:
    return ApiCall({"aliasName": _alias_name(ctx)}, None, [ctx.key.resource()])


def _replicate_key(ctx: CallContext) -> ApiCall:
    replica_region = "eu-west-1" if ctx.region != "eu-west-1" else "us-east-1"
    replica = KeyRef.make(ctx.key.key_id, account=ctx.account, region=replica_region)
    meta = key_metadata(ctx, replica, origin="AWS_KMS", description="")
    meta["multiRegion"] = True
    return ApiCall({"keyId": ctx.key.key_id, "replicaRegion": replica_region,
                    "bypassPolicyLockoutSafetyCheck": False},
                   {"replicaKeyMetadata": meta, "replicaPolicy": key_policy(ctx.account)},
                   [ctx.key.resource()])


def _tag_resource(ctx: CallContext) -> ApiCall:
    tag = {"tagKey": "CostCenter", "tagValue": str(ctx.rng.randrange(1000, 9999))}
    return ApiCall({"keyId": ctx.key.key_id, "tags": [tag]}, None, [ctx.key.resource()])


def _crypto_additional(ctx: CallContext) -> dict[str, str]:
    return {"keyMaterialId": hex_string(ctx.rng, 64)}


def _encrypt(ctx: CallContext) -> ApiCall:
    context = ctx.rng.choice(_ENCRYPTION_CONTEXTS)(ctx)
    return ApiCall({"keyId": ctx.key.arn, "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                    "encryptionContext": context}, None, [ctx.key.resource()],
                   additional=_crypto_additional(ctx), read_only=True)


def _decrypt(ctx: CallContext) -> ApiCall:
    context = ctx.rng.choice(_ENCRYPTION_CONTEXTS)(ctx)
    return ApiCall({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": context},
                   None, [ctx.key.resource()], additional=_crypto_additional(ctx), read_only=True)


def _generate_data_key(ctx: CallContext) -> ApiCall:
    context = ctx.rng.choice(_ENCRYPTION_CONTEXTS)(ctx)
    return ApiCall({"keyId": ctx.key.arn, "keySpec": "AES_256", "encryptionContext": context},
                   None, [ctx.key.resource()], additional=_crypto_additional(ctx), read_only=True)


def _re_encrypt(ctx: CallContext) -> ApiCall:
    source = KeyRef.make(uuid4(ctx.rng), account=ctx.account, region=ctx.region)
    request = {"sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
               "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
               "destinationKeyId": ctx.key.arn}
    return ApiCall(request, None, [source.resource(), ctx.key.resource()],
                   additional=_crypto_additional(ctx), read_only=True)


def _read_key(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id}, None, [ctx.key.resource()], read_only=True)


def _get_key_policy(ctx: CallContext) -> ApiCall:
    return ApiCall({"keyId": ctx.key.key_id, "policyName": "default"}, None,
                   [ctx.key.resource()], read_only=True)


def _list(ctx: CallContext) -> ApiCall:
    return ApiCall(None, None, None, read_only=True)


def _service_event(ctx: CallContext) -> ApiCall:
    """DeleteKey / RotateKey: KMS itself acts when a waiting period or schedule is due."""
    return ApiCall(None, None, [ctx.key.resource()], event_type="AwsServiceEvent",
                   service_event=True)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


_SHAPES = {
    "DisableKey": _arn_only, "EnableKey": _arn_only, "CancelKeyDeletion": _arn_only,
    "ScheduleKeyDeletion": _schedule_key_deletion,
    "DeleteImportedKeyMaterial": _delete_imported_key_material,
    "ImportKeyMaterial": _import_key_material,
    "GetParametersForImport": _get_parameters_for_import,
    "PutKeyPolicy": _put_key_policy,
    "CreateGrant": _create_grant, "RetireGrant": _grant_change, "RevokeGrant": _grant_change,
    "CreateKey": _create_key,
    "DisableKeyRotation": _no_response, "EnableKeyRotation": _enable_key_rotation,
    "RotateKeyOnDemand": _arn_only, "UpdateKeyDescription": _no_response,
    "CreateAlias": _create_alias, "UpdateAlias": _create_alias, "DeleteAlias": _delete_alias,
    "ReplicateKey": _replicate_key, "TagResource": _tag_resource, "UntagResource": _no_response,
    "Encrypt": _encrypt, "Decrypt": _decrypt, "GenerateDataKey": _generate_data_key,
    "GenerateDataKeyWithoutPlaintext": _generate_data_key, "ReEncrypt": _re_encrypt,
    "DescribeKey": _read_key, "GetKeyRotationStatus": _read_key, "ListGrants": _read_key,
    "ListResourceTags": _read_key, "GetPublicKey": _read_key, "GetKeyPolicy": _get_key_policy,
    "ListKeys": _list, "ListAliases": _list,
    "DeleteKey": _service_event, "RotateKey": _service_event,
}

KMS_APIS: dict[str, ApiSpec] = {
    name: ApiSpec(KMS, shape, f"kms.{_kebab(name)}") for name, shape in _SHAPES.items()
}
"""Every KMS event name the builder shapes in full; other KMS names get ``{keyId}``."""

generic_kms_shape = _no_response
