"""``userIdentity`` objects of each type, shaped as the CloudTrail User Guide documents them.

A case that says only ``userIdentity.type = "AssumedRole"`` must still get an identity whose
ARN, principal id, access key and session issuer agree with each other, because rules and
analysts read all of them. ``hints`` (the caller's own sub-overrides) steer the names that the
other values are derived from: an IAM user's ``userName`` also goes into its ARN, a role's
``sessionContext.sessionIssuer.userName`` into the assumed-role ARN, ``accountId`` everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from kmsdet.cloudtrail.overrides import text_value
from kmsdet.cloudtrail.values import (
    account_id,
    aws_id,
    cloudtrail_time,
    hex_string,
    token,
    uuid4,
)

IDENTITY_TYPES = ("IAMUser", "AssumedRole", "Root", "AWSService", "AWSAccount", "FederatedUser",
                  "IdentityCenterUser")
"""Types built in full; any other type string gets a minimal ``{type, principalId, accountId}``."""

USER_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
              "ci-deployer", "backup-operator", "terraform", "data-pipeline")
ROLE_NAMES = ("Admin", "PowerUser", "ReadOnly", "DevOps", "SecurityAudit", "GitHubActionsDeploy",
              "orders-api-task", "payments-lambda-exec", "analytics-etl", "KeyAdministrators")
SSO_ROLE_NAMES = ("AWSReservedSSO_AdministratorAccess_4a1f0c2d9e8b7a65",
                  "AWSReservedSSO_ReadOnlyAccess_0b9c8d7e6f5a4b3c")
SESSION_NAMES = ("alice@example.com", "bob@example.com", "carol@example.com",
                 "botocore-session-1718000000", "GitHubActions", "i-0a1b2c3d4e5f67890",
                 "aws-go-sdk-1718000123", "terraform-run")
SERVICE_PRINCIPALS = ("cloudtrail.amazonaws.com", "s3.amazonaws.com", "rds.amazonaws.com",
                      "lambda.amazonaws.com", "secretsmanager.amazonaws.com", "eks.amazonaws.com",
                      "backup.amazonaws.com", "dynamodb.amazonaws.com")



def _hint(hints: Mapping[str, Any], *path: str) -> str | None:
    node: Any = hints
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return text_value(node)


def _attributes(rng: random.Random, at: datetime, mfa: bool = False) -> dict[str, str]:
    created = at - timedelta(seconds=rng.randrange(60, 3 * 3600))
    return {"creationDate": cloudtrail_time(created),
            "mfaAuthenticated": "true" if mfa else "false"}


def _iam_user(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
    name = _hint(hints, "userName") or rng.choice(USER_NAMES)
    return {"type": "IAMUser", "principalId": aws_id(rng, "AIDA"),
            "arn": f"arn:aws:iam::{acct}:user/{name}", "accountId": acct,
            "accessKeyId": aws_id(rng, "AKIA", 20), "userName": name}


def _assumed_role(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
    role = _hint(hints, "sessionContext", "sessionIssuer", "userName")
    if role is None:
        role = rng.choice(ROLE_NAMES + SSO_ROLE_NAMES)
    path = "aws-reserved/sso.amazonaws.com/" if role.startswith("AWSReservedSSO_") else ""
    session = rng.choice(SESSION_NAMES)
    role_id = aws_id(rng, "AROA")
    return {
        "type": "AssumedRole", "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session}", "accountId": acct,
        "accessKeyId": aws_id(rng, "ASIA", 20),
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role_id,
                              "arn": f"arn:aws:iam::{acct}:role/{path}{role}", "accountId": acct,
                              "userName": role},
            "webIdFederationData": {},
            "attributes": _attributes(rng, at),
        },
    }


def _root(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
    return {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root",
            "accountId": acct, "accessKeyId": aws_id(rng, "ASIA", 20),
            "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                               "attributes": _attributes(rng, at, mfa=True)}}


def _aws_service(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
    return {"type": "AWSService",
            "invokedBy": _hint(hints, "invokedBy") or rng.choice(SERVICE_PRINCIPALS)}


def _aws_account(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
    caller = _hint(hints, "accountId") or account_id(rng, avoid=acct)
    return {"type": "AWSAccount", "principalId": aws_id(rng, "AIDA"), "accountId": caller}


def _federated_user(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
    issuer = rng.choice(USER_NAMES)
    name = rng.choice(("alice", "bob", "support-agent", "partner-app"))
    return {
        "type": "FederatedUser", "principalId": f"{acct}:{name}",
        "arn": f"arn:aws:sts::{acct}:federated-user/{name}", "accountId": acct,
        "accessKeyId": aws_id(rng, "ASIA", 20),
        "sessionContext": {
            "sessionIssuer": {"type": "IAMUser", "principalId": aws_id(rng, "AIDA"),
                              "arn": f"arn:aws:iam::{acct}:user/{issuer}", "accountId": acct,
                              "userName": issuer},
            "webIdFederationData": {},
            "attributes": _attributes(rng, at),
        },
    }


def _identity_center_user(rng: random.Random, acct: str, at: datetime,
                          hints: Mapping[str, Any]) -> dict:
    return {
        "type": "IdentityCenterUser", "accountId": acct,
        "onBehalfOf": {"userId": uuid4(rng),
                       "identityStoreArn": f"arn:aws:identitystore::{acct}:identitystore/"
                                           f"d-{hex_string(rng, 10)}"},
        "credentialId": token(rng, 60).replace("+", "-").replace("/", "_"),
    }


def _other(kind: str) -> Callable[[random.Random, str, datetime, Mapping[str, Any]], dict]:
    def build(rng: random.Random, acct: str, at: datetime, hints: Mapping[str, Any]) -> dict:
        return {"type": kind, "principalId": aws_id(rng, "AIDA"), "accountId": acct}
    return build


_BUILDERS: dict[str, Callable[[random.Random, str, datetime, Mapping[str, Any]], dict]] = {
    "IAMUser": _iam_user, "AssumedRole": _assumed_role, "Root": _root,
    "AWSService": _aws_service, "AWSAccount": _aws_account, "FederatedUser": _federated_user,
    "IdentityCenterUser": _identity_center_user,
}


def build_identity(kind: str, rng: random.Random, *, account: str, at: datetime,
                   hints: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A complete ``userIdentity`` of type ``kind`` in account ``account``.

    ``hints`` may carry ``accountId`` (the identity's account: for AWSAccount the *caller's*
    account, for the others the account the principal lives in).
    """
    hints = hints or {}
    acct = account if kind == "AWSAccount" else (_hint(hints, "accountId") or account)
    return _BUILDERS.get(kind, _other(kind))(rng, acct, at, hints)


def service_event_identity(account: str) -> dict[str, str]:
    """The type-less identity of service events such as KMS ``DeleteKey`` after the wait."""
    return {"accountId": account, "invokedBy": "AWS Internal"}
