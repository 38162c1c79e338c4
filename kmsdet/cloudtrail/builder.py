"""Raw CloudTrail records, complete and self-consistent, from a few overrides.

A record is built in layers: the API's shape (request, response, resources), an identity of the
requested type, the caller's origin (address, agent, TLS), then the caller's overrides merged on
top (see :mod:`kmsdet.cloudtrail.overrides`). Values that must agree are derived from each other
before the merge: the key in the request, response and ``resources``; the role name in the
assumed-role ARN and the session issuer; ``pendingWindowInDays`` and ``deletionDate``; a
failure's ``errorCode`` and its null ``responseElements``. Top-level keys come out in the order
AWS writes them. Every random choice comes from the ``rng`` passed in, so one seed, one record.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kmsdet.cloudtrail.callers import (
    CLIENTS,
    DEFAULT_CLIENT,
    Origin,
    client_origin,
    service_origin,
    tls_for,
)
from kmsdet.cloudtrail.calls import ApiCall, ApiSpec, CallContext, KeyRef
from kmsdet.cloudtrail.identities import build_identity, service_event_identity
from kmsdet.cloudtrail.kms_apis import KMS, KMS_APIS, generic_kms_shape
from kmsdet.cloudtrail.overrides import ABSENT, NULL, merge, normalize_overrides, text_value
from kmsdet.cloudtrail.service_apis import SERVICE_APIS
from kmsdet.cloudtrail.values import cloudtrail_time, uuid4
from kmsdet.errors import InputError

__all__ = ["ABSENT", "NULL", "DEFAULT_EVENT_NAME", "DEFAULT_IDENTITY_TYPE", "EVENT_VERSION",
           "build_record", "compose_record", "api_spec"]

EVENT_VERSION = "1.11"
DEFAULT_EVENT_NAME = "DescribeKey"
DEFAULT_IDENTITY_TYPE = "AssumedRole"
DEFAULT_ACCOUNT = "111122223333"
DEFAULT_REGION = "us-east-1"

TOP_LEVEL_ORDER = (
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
    "responseElements", "additionalEventData", "serviceEventDetails", "requestID", "eventID",
    "readOnly", "resources", "eventType", "apiVersion", "managementEvent", "recipientAccountId",
    "sharedEventID", "vpcEndpointId", "eventCategory", "tlsDetails",
    "sessionCredentialFromConsole",
)
_POSITION = {k: i for i, k in enumerate(TOP_LEVEL_ORDER)}


def api_spec(event_name: str, event_source: str | None = None) -> ApiSpec | None:
    """The shape for ``event_name`` (from ``event_source`` when given), if the builder knows it."""
    spec = KMS_APIS.get(event_name) or SERVICE_APIS.get(event_name)
    if spec is not None and event_source is not None and spec.source != event_source:
        return None
    return spec


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _generic_shape(ctx: CallContext) -> ApiCall:
    return ApiCall(None, None, None)


def build_record(overrides: Mapping[str, Any] | None = None, *, rng: random.Random,
                 at: datetime, account_id: str = DEFAULT_ACCOUNT,
                 region: str = DEFAULT_REGION, key_id: str | None = None,
                 client: str = DEFAULT_CLIENT) -> dict[str, Any]:
    """A raw record (JSON-ready, AWS key order) for ``overrides`` at time ``at``.

    ``key_id`` names the KMS key (bare id or key ARN); otherwise a ``requestParameters.keyId``
    override does, else a fresh key is drawn. ``client`` picks the agent family of non-service
    callers (see :data:`kmsdet.cloudtrail.callers.CLIENTS`). A naive ``at`` is taken as UTC.
    """
    if client not in CLIENTS:
        raise InputError(f"unknown client '{client}'", field="client",
                         hint="one of " + ", ".join(sorted(CLIENTS)))
    ov = normalize_overrides(overrides)
    event_name = text_value(ov.get("eventName")) or DEFAULT_EVENT_NAME
    source_override = text_value(ov.get("eventSource"))
    identity_ov = ov.get("userIdentity")
    identity_ov = identity_ov if isinstance(identity_ov, Mapping) else {}
    request_ov = ov.get("requestParameters")
    request_ov = request_ov if isinstance(request_ov, Mapping) else {}
    key_hint = key_id or next((request_ov[k] for k in ("keyId", "targetKeyId", "destinationKeyId")
                               if text_value(request_ov.get(k))), None)
    key = KeyRef.resolve(key_hint, rng, account=account_id, region=region)
    record = compose_record(
        event_name, rng=rng, at=at, account_id=account_id, region=region, key=key,
        event_source=source_override, identity_type=text_value(identity_ov.get("type")),
        identity_hints=identity_ov, request_hints=request_ov,
        error_code=text_value(ov.get("errorCode")),
        error_message=text_value(ov.get("errorMessage")), client=client)
    if ov:
        record = merge(record, ov)
        record = {k: record[k] for k in sorted(record, key=lambda k: _POSITION.get(k, 99))}
    return record


def compose_record(event_name: str, *, rng: random.Random, at: datetime, account_id: str,
                   region: str, key: KeyRef | None = None, event_source: str | None = None,
                   identity_type: str | None = None, identity: dict[str, Any] | None = None,
                   identity_hints: Mapping[str, Any] | None = None,
                   request_hints: Mapping[str, Any] | None = None,
                   origin: Origin | None = None, error_code: str | None = None,
                   error_message: str | None = None,
                   client: str = DEFAULT_CLIENT) -> dict[str, Any]:
    """A record from already-decided parts; the fast path the baseline stream uses.

    ``identity``/``origin`` skip drawing those parts (the baseline reuses a principal
    population); without them they are drawn like :func:`build_record` does.
    """
    spec = api_spec(event_name, event_source)
    source = event_source or (spec.source if spec else KMS)
    shape = spec.shape if spec else (generic_kms_shape if source == KMS else _generic_shape)
    key = key or KeyRef.resolve(None, rng, account=account_id, region=region)
    call = shape(CallContext(rng, account_id, region, at, key, request_hints or {}))

    if identity is None:
        if call.service_event and identity_type is None:
            identity = service_event_identity(account_id)
        else:
            identity = build_identity(identity_type or DEFAULT_IDENTITY_TYPE, rng,
                                      account=account_id, at=at, hints=identity_hints)
    if origin is None:
        invoked_by = text_value((identity_hints or {}).get("invokedBy"))
        if invoked_by and identity.get("type") != "AWSService":
            origin = service_origin(invoked_by)  # a service acting with this principal
        else:
            origin = _origin_for(identity, call, rng, source=source, event_name=event_name,
                                 spec=spec, region=region, client=client)

    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION, "userIdentity": identity, "eventTime": cloudtrail_time(at),
        "eventSource": source, "eventName": event_name, "awsRegion": region,
        "sourceIPAddress": origin.source_ip, "userAgent": origin.user_agent,
    }
    if error_code:
        record["errorCode"] = error_code
        record["errorMessage"] = error_message or failure_message(
            error_code, identity=identity, source=source, event_name=event_name, key=key)
    record["requestParameters"] = call.request
    record["responseElements"] = None if error_code else call.response
    if call.additional is not None and not error_code:
        record["additionalEventData"] = call.additional
    record["requestID"] = uuid4(rng)
    record["eventID"] = uuid4(rng)
    record["readOnly"] = call.read_only
    if call.resources:
        record["resources"] = call.resources
    record["eventType"] = call.event_type
    record["managementEvent"] = call.management
    record["recipientAccountId"] = account_id
    if identity.get("type") == "AWSAccount":
        record["sharedEventID"] = uuid4(rng)
    record["eventCategory"] = call.category
    tls = tls_for(origin)
    if tls is not None:
        record["tlsDetails"] = tls
    if origin.console:
        record["sessionCredentialFromConsole"] = "true"
    return record


def _origin_for(identity: Mapping[str, Any], call: ApiCall, rng: random.Random, *, source: str,
                event_name: str, spec: ApiSpec | None, region: str, client: str) -> Origin:
    if call.service_event and "type" not in identity:
        return service_origin("AWS Internal")
    if identity.get("type") == "AWSService":
        return service_origin(str(identity.get("invokedBy") or "AWS Internal"))
    service = source.split(".", 1)[0]
    command = spec.cli_command if spec else f"{service}.{_kebab(event_name)}"
    return client_origin(rng, command=command, endpoint=f"{service}.{region}.amazonaws.com",
                         client=client)


def failure_message(error_code: str, *, identity: Mapping[str, Any], source: str,
                    event_name: str, key: KeyRef) -> str:
    """The message AWS writes beside ``error_code`` for the usual KMS failures."""
    action = f"{source.split('.', 1)[0]}:{event_name}"
    if error_code in ("AccessDenied", "AccessDeniedException"):
        who = identity.get("arn") or identity.get("invokedBy") or identity.get("principalId")
        return (f"User: {who} is not authorized to perform: {action} on resource: {key.arn} "
                f"because no identity-based policy allows the {action} action")
    if error_code == "KMSInvalidStateException":
        return f"{key.arn} is pending deletion."
    if error_code == "DisabledException":
        return f"{key.arn} is disabled."
    if error_code == "NotFoundException":
        return f"Key '{key.arn}' does not exist"
    return f"The request failed ({error_code})."
