"""ECS field values -> overrides of the raw CloudTrail record builder (the inverse of to_ecs).

A generated case has to run through the same path as a hand-written one (raw record, then the
integration's mapping), so the values a query needs are translated back to the record keys the
pipeline reads them from. Only fields the rules use are inverted; fields the pipeline derives on
its own (``event.kind``, ``data_stream.*``, ``user_agent.name``...) get no override, and the
caller checks the mapped document against the query anyway, which is what decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kmsdet.cloudtrail.integration import Pipeline, selected
from kmsdet.cloudtrail.overrides import ABSENT as RAW_ABSENT
from kmsdet.generate.solve import ABSENT

_UI = "aws.cloudtrail.user_identity."
_SC = "userIdentity.sessionContext."

#: ECS field -> raw record key (dotted), for values copied unchanged by the pipeline.
DIRECT: dict[str, str] = {
    "event.action": "eventName",
    "event.provider": "eventSource",
    "event.id": "eventID",
    "cloud.region": "awsRegion",
    "cloud.account.id": "userIdentity.accountId",
    "source.ip": "sourceIPAddress",
    "source.address": "sourceIPAddress",
    "user_agent.original": "userAgent",
    "user.id": "userIdentity.principalId",
    "user.target.name": "requestParameters.userName",
    "user.changes.name": "requestParameters.newUserName",
    "group.name": "requestParameters.groupName",
    "tls.cipher": "tlsDetails.cipherSuite",
    "tls.client.server_name": "tlsDetails.clientProvidedHostHeader",
    "aws.cloudtrail.error_code": "errorCode",
    "aws.cloudtrail.error_message": "errorMessage",
    "aws.cloudtrail.event_version": "eventVersion",
    "aws.cloudtrail.event_category": "eventCategory",
    "aws.cloudtrail.event_type": "eventType",
    "aws.cloudtrail.api_version": "apiVersion",
    "aws.cloudtrail.request_id": "requestID",
    "aws.cloudtrail.read_only": "readOnly",
    "aws.cloudtrail.management_event": "managementEvent",
    "aws.cloudtrail.recipient_account_id": "recipientAccountId",
    "aws.cloudtrail.shared_event_id": "sharedEventID",
    "aws.cloudtrail.vpc_endpoint_id": "vpcEndpointId",
    "aws.cloudtrail.session_credential_from_console": "sessionCredentialFromConsole",
    _UI + "type": "userIdentity.type",
    _UI + "arn": "userIdentity.arn",
    _UI + "access_key_id": "userIdentity.accessKeyId",
    _UI + "invoked_by": "userIdentity.invokedBy",
    _UI + "session_context.mfa_authenticated": _SC + "attributes.mfaAuthenticated",
    _UI + "session_context.creation_date": _SC + "attributes.creationDate",
    _UI + "session_context.session_issuer.type": _SC + "sessionIssuer.type",
    _UI + "session_context.session_issuer.arn": _SC + "sessionIssuer.arn",
    _UI + "session_context.session_issuer.principal_id": _SC + "sessionIssuer.principalId",
    _UI + "session_context.session_issuer.account_id": _SC + "sessionIssuer.accountId",
}

#: What the pipeline rewrite (aws 7.0.1 / 7.1.3 / 7.2.1 / >= 7.3.1) reads from elsewhere.
_ARN_AS_USER_ID: dict[str, str] = {
    "user.id": "userIdentity.arn",
    _UI + "principal_id": "userIdentity.principalId",
    _UI + "session_context.ec2_role_delivery": _SC + "ec2RoleDelivery",
    "service.name": "userIdentity.invokedBy",
}


def direct_for(pipeline: Pipeline) -> dict[str, str]:
    """:data:`DIRECT` as the given pipeline version reads it (``user.id`` moved to the ARN)."""
    return {**DIRECT, **_ARN_AS_USER_ID} if pipeline.user_id_is_arn else DIRECT


#: Flattened payload copies: their sub-keys are the raw payload's keys.
PAYLOADS: dict[str, str] = {
    "aws.cloudtrail.flattened.request_parameters": "requestParameters",
    "aws.cloudtrail.flattened.response_elements": "responseElements",
    "aws.cloudtrail.flattened.additional_eventdata": "additionalEventData",
    "aws.cloudtrail.flattened.service_event_details": "serviceEventDetails",
}

RESOURCE_KEYS: dict[str, str] = {
    "aws.cloudtrail.resources.arn": "ARN",
    "aws.cloudtrail.resources.account_id": "accountId",
    "aws.cloudtrail.resources.type": "type",
}

#: Fields the pipeline or the agent sets by itself; the mapped document decides if they fit.
DERIVED_PREFIXES: tuple[str, ...] = (
    "@timestamp", "data_stream.", "event.dataset", "event.module", "event.kind", "event.type",
    "event.category", "event.created", "event.ingested", "ecs.", "input.", "tags", "related.",
    "user_agent.", "user.email", "source.geo.", "source.as.", "tls.version",
    "cloud.provider", "cloud.service.", "aws.cloudtrail.request_parameters",
    "aws.cloudtrail.response_elements", "aws.cloudtrail.additional_eventdata",
    "aws.cloudtrail.service_event_details", "aws.cloudtrail.console_login.",
    # The actor/target mapping's entity fields, derived from identities and targets.
    "actor.", "target.", "entity.", "host.", "user.entity.", "user.target.entity.",
    "service.entity.", "service.target.entity.",
)

_ROLE_TYPES = ("AssumedRole", "FederatedUser")
_CONSOLE_FLAGS = {
    "aws.cloudtrail.console_login.additional_eventdata.mfa_used": "additionalEventData.MFAUsed",
    "aws.cloudtrail.console_login.additional_eventdata.mobile_version":
        "additionalEventData.MobileVersion",
}


@dataclass
class Inversion:
    """Builder overrides (dotted record keys, the case format) and what could not be inverted.

    ``derived`` lists fields left to the pipeline; ``problems`` fields that have no raw origin
    or need values a record cannot hold (several event names at once).
    """

    overrides: dict[str, Any] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _payload_value(value: Any) -> Any:
    """A flattened leaf back as JSON: ``"7"`` was most likely the number 7 in the record."""
    if isinstance(value, list):
        return [_payload_value(v) for v in value]
    if isinstance(value, str):
        if value.isdigit() and (value == "0" or not value.startswith("0")) and len(value) < 16:
            return int(value)
        if value in ("true", "false"):
            return value == "true"
    return value


def invert(values: Mapping[str, Any], *, integration: Pipeline | None = None) -> Inversion:
    """Overrides for a document holding ``values`` (stored ECS field -> value/list/ABSENT), as
    the ``integration`` pipeline version (default: the selected one) would map them back."""
    direct = direct_for(integration if integration is not None else selected())
    out = Inversion()
    resource: dict[str, Any] = {}

    def set_key(key: str, value: Any, source: str) -> None:
        raw = RAW_ABSENT if value is ABSENT else value
        if key in out.overrides and out.overrides[key] != raw:
            out.problems.append(f"`{source}` and another field both come from `{key}` and "
                                "need different values")
            return
        out.overrides[key] = raw

    for name in sorted(values):
        value = values[name]
        scalar = not isinstance(value, list)
        if name in direct:
            if not scalar:
                out.problems.append(f"`{name}` needs several values; `{direct[name]}` holds one")
                continue
            set_key(direct[name], value, name)
        elif name == "user.name":
            continue  # depends on the identity type; see _user_name
        elif name == "event.outcome":
            _outcome(value, out, set_key)
        elif name in _CONSOLE_FLAGS and scalar and isinstance(value, bool):
            set_key(_CONSOLE_FLAGS[name], "Yes" if value else "No", name)
        elif name in RESOURCE_KEYS:
            if value is not ABSENT:
                resource[RESOURCE_KEYS[name]] = value if scalar else value[0]
        elif (payload := _payload_of(name)) is not None:
            root, rest = payload
            key = PAYLOADS[root] + ("." + rest if rest else "")
            if not rest and value is not ABSENT:
                out.problems.append(f"`{name}` is matched as a whole; give it sub-keys instead")
                continue
            set_key(key, value if value is ABSENT else _payload_value(value), name)
        elif name.startswith(DERIVED_PREFIXES):
            out.derived.append(name)
        else:
            out.problems.append(f"`{name}` has no CloudTrail origin")
    if resource:
        resource.setdefault("type", "AWS::KMS::Key")
        out.overrides["resources"] = [resource]
    _user_name(out, values)
    return out


def _payload_of(name: str) -> tuple[str, str] | None:
    for root in PAYLOADS:
        if name == root:
            return root, ""
        if name.startswith(root + "."):
            return root, name[len(root) + 1:]
    return None


def _outcome(value: Any, out: Inversion, set_key: Any) -> None:
    if value == "failure":
        if "errorCode" not in out.overrides:
            set_key("errorCode", "AccessDenied", "event.outcome")
    elif value != "success" and value is not ABSENT:
        out.problems.append(f"`event.outcome: {value}` is not an outcome the pipeline writes")


def _user_name(out: Inversion, values: Mapping[str, Any]) -> None:
    """``user.name`` comes from an IAM user's name, or from a role's session issuer name."""
    if "user.name" not in values:
        return
    name = values["user.name"]
    if isinstance(name, list):
        out.problems.append("`user.name` needs several values; a record has one")
        return
    kind = out.overrides.get("userIdentity.type", "AssumedRole")
    key = (_SC + "sessionIssuer.userName") if kind in _ROLE_TYPES else "userIdentity.userName"
    out.overrides[key] = RAW_ABSENT if name is ABSENT else name
