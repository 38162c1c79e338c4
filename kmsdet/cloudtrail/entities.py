"""The actor/target entity fields the cloudtrail pipeline writes when users turn the integration's
"actor and target mapping" option on (the agent then tags events ``actor_target_mapping``).

Entity-centric views and rules key on ``actor.entity.id``, ``target.entity.id``, the classified
copies (``user.entity.id``, ``service.target.entity.id``...) and ``related.entity``, so a
synthetic document has them exactly when the user's production documents would.

What is emulated, from the integration's entity script and its expected test documents:

* the actor is the caller's ARN (``onBehalfOf.userId`` without one; the service name for an AWS
  service caller); for AssumeRole it is the session issuer's role (or the calling service), the
  target being the role assumed;
* the actor is classified by identity type: AWS services (and service-linked roles) under
  ``service.entity.id``, IAM users, root and assumed roles under ``user.entity.id``;
* targets: the role an AssumeRole assumes (a user-like target), the KMS keys of DisableKey and
  ScheduleKeyDeletion (``service.target.entity.id``: a key is a service resource), the instances
  a SendCommand runs on (``host.target.entity.id``, and ``host.id``);
* ``related.entity``: access key, ARNs, user and role names, resources, KMS key ids, targets,
  and for AssumeRole the session name and the assumed-role ARN; a Java ``HashSet`` in the
  pipeline, so in hash order (sorted at 0b97ab02, whose script sorted it).

Not emulated: the per-service enrichments of other APIs (EC2, S3, IAM...) that the builder does
not write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kmsdet.cloudtrail.javamap import hashmap_order

TAG = "actor_target_mapping"
_USER_TYPES = ("IAMUser", "Root", "AssumedRole")
_KEY_TARGET_EVENTS = ("DisableKey", "ScheduleKeyDeletion")


def entity_fields(j: Mapping[str, Any], *, sorted_related: bool) -> dict[str, Any]:
    """The entity fields (dotted path -> value) for the pruned record ``j``; read-only."""
    ident = _map(j.get("userIdentity"))
    session = _map(ident.get("sessionContext"))
    issuer = _map(session.get("sessionIssuer"))
    request = _map(j.get("requestParameters"))
    response = _map(j.get("responseElements"))
    event = j.get("eventName")
    kind = ident.get("type")
    out: dict[str, Any] = {}

    actor = _actor(event, kind, ident, issuer)
    if actor is not None:
        out["actor.entity.id"] = [actor]
        if kind == "AWSService" or ":role/aws-service-role/" in actor:
            out["service.entity.id"] = [actor]
        elif kind in _USER_TYPES:
            out["user.entity.id"] = [actor]
        elif actor.startswith("i-"):
            out["host.entity.id"] = [actor]
        else:
            out["entity.id"] = [actor]

    targets: list[str] = []
    if event == "AssumeRole" and _text(request.get("roleArn")):
        targets.append(request["roleArn"])
        out["user.target.entity.id"] = [request["roleArn"]]
    if event in _KEY_TARGET_EVENTS:
        keys = [r["ARN"] for r in _resources(j) if _text(r.get("ARN"))]
        if keys:
            targets += keys
            out["service.target.entity.id"] = list(keys)
    if event == "SendCommand":
        hosts = _instances(request)
        if hosts:
            targets += hosts
            out["host.target.entity.id"] = list(hosts)
            out["host.id"] = list(hosts)
    if targets:
        out["target.entity.id"] = targets

    related = [ident.get("accessKeyId"), ident.get("arn"), ident.get("userName"),
               issuer.get("arn"), issuer.get("userName"),
               *(r.get("ARN") for r in _resources(j)),
               request.get("keyId"), response.get("keyId"),
               _map(response.get("keyMetadata")).get("arn"),
               _map(response.get("keyMetadata")).get("keyId"), *targets]
    if event == "AssumeRole":
        related += [request.get("roleSessionName"),
                    _map(response.get("assumedRoleUser")).get("arn")]
    unique = list(dict.fromkeys(v for v in related if _text(v)))
    if unique:
        out["related.entity"] = sorted(unique) if sorted_related else hashmap_order(unique)
    return out


def _actor(event: Any, kind: Any, ident: Mapping[str, Any],
           issuer: Mapping[str, Any]) -> str | None:
    if kind == "AWSService":
        invoked = ident.get("invokedBy")
        return invoked if _text(invoked) else None
    if event == "AssumeRole" and _text(issuer.get("arn")):
        return str(issuer["arn"])
    if _text(ident.get("arn")):
        return str(ident["arn"])
    user_id = _map(ident.get("onBehalfOf")).get("userId")
    return user_id if _text(user_id) else None


def _instances(request: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    ids = request.get("instanceIds")
    if isinstance(ids, list):
        found += [i for i in ids if _text(i)]
    targets = request.get("targets")
    if isinstance(targets, list):
        for target in targets:
            target = _map(target)
            values = target.get("values")
            if str(target.get("key", "")).lower() == "instanceids" and isinstance(values, list):
                found += [v for v in values if _text(v)]
    return list(dict.fromkeys(found))


def _resources(j: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    resources = j.get("resources")
    return [r for r in resources if isinstance(r, Mapping)] if isinstance(resources, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""
