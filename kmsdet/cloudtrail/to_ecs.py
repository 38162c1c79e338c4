"""Raw CloudTrail record -> the document Elastic's AWS integration indexes (cloudtrail stream).

The steps follow the integration's ingest pipeline in its own order, as of the package version
chosen in :mod:`kmsdet.cloudtrail.integration` (the newest by default; the flags of a
:class:`~kmsdet.cloudtrail.integration.Pipeline` switch what changed since commit 0b97ab02),
because order is behaviour there: empty values are pruned *before* the payloads are stringified,
renames do not overwrite (so ``userIdentity.accountId`` wins over ``recipientAccountId`` for
``cloud.account.id``), and the payload strings are Java ``Map.toString()`` output in ``HashMap``
order (:mod:`kmsdet.cloudtrail.javamap`). Around the pipeline come what the agent adds (tags,
``data_stream.*``, ``input.type``) and what Fleet's final pipeline does (``event.ingested`` in
whole seconds, ``event.original`` dropped unless ``preserve_original_event``).

GeoIP and ASN lookups need the user's MaxMind databases (:mod:`kmsdet.cloudtrail.geoip`); without
them ``source.geo`` / ``source.as`` stay empty, as on a cluster without the databases. The
builder only uses documentation addresses (RFC 5737 / RFC 3849), which no GeoLite database
covers, so its documents are the same either way. The optional actor/target entity mapping (tag
``actor_target_mapping``) is in :mod:`kmsdet.cloudtrail.entities`. Not emulated: digest and
Insight files, the third-party ``preview`` format, ``related.hosts``, and ``agent.*`` /
``log.*`` / ``aws.s3.*`` envelope fields.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from functools import partial
from typing import Any

from kmsdet.backends.base import RUN_ID_FIELD
from kmsdet.cloudtrail.categories import CATEGORIES
from kmsdet.cloudtrail.entities import TAG as ENTITY_TAG
from kmsdet.cloudtrail.entities import entity_fields
from kmsdet.cloudtrail.geoip import GeoIp, selected_geoip
from kmsdet.cloudtrail.integration import Pipeline, resolve, selected, selected_actor_target
from kmsdet.cloudtrail.javamap import (
    hashmap_order,
    java_to_string,
    ordered_to_string,
    to_java_order,
)
from kmsdet.cloudtrail.useragent import parse_user_agent

PIPELINE_COMMIT = "0b97ab02df57b57303b67e48840bb75dfe5c4738"
ECS_VERSION = "8.11.0"
DATASET = "aws.cloudtrail"
TAGS = ("forwarded", "aws-cloudtrail")
PRESERVE_TAG = "preserve_original_event"
MAX_FLATTENED_SOURCE = 32766
RETAIN_MINIMAL_FIELDS = (
    "additional_eventdata.SSEApplied", "request_parameters.cidrIp", "request_parameters.dryRun",
    "request_parameters.fromPort", "request_parameters.includeDeprecated",
    "request_parameters.policyArn", "request_parameters.serialNumber",
    "request_parameters.withDecryption",
    "request_parameters.x-amz-server-side-encryption-customer-algorithm",
)
_PAYLOADS = (("requestParameters", "request_parameters"),
             ("responseElements", "response_elements"),
             ("additionalEventData", "additional_eventdata"),
             ("serviceEventDetails", "service_event_details"))
_STS_SESSION = re.compile(r"arn:aws:sts:.*/(.*)$")
_STS_SESSION_ANY_PARTITION = re.compile(r"arn:aws[a-z-]*:sts:.*/(.*)$")
_SERVICE_HOST = re.compile(r"([^.]+)\.amazonaws\.com(?:\.cn)?$")
_NEWER_TYPES = {"SendCommand": ["start"], "DeleteObject": ["deletion"]}


class _PipelineFailure(Exception):
    """A processor without ignore_failure failed; the pipeline's on_failure handler takes over."""

    def __init__(self, processor: str, tag: str | None, message: str) -> None:
        super().__init__(message)
        self.processor, self.tag, self.message = processor, tag, message


def to_ecs(record: Mapping[str, Any], *, ingested: datetime | None = None,
           run_id: str | None = None, namespace: str = "default",
           preserve_original: bool = False, created: datetime | None = None,
           retain: str | None = None, input_type: str = "aws-s3",
           integration: Pipeline | None = None,
           actor_target: bool | None = None, geoip: GeoIp | None = None) -> dict[str, Any]:
    """The ``_source`` Elasticsearch stores for ``record`` in ``logs-aws.cloudtrail-<namespace>``.

    ``ingested`` is when it reached Elasticsearch (default: now); rules with
    ``timestamp_override = "event.ingested"`` select on it. ``created`` is when the agent read
    it (default: ``ingested``). ``retain`` is the integration's ``_conf.retain`` setting (None,
    ``all``, ``keyword``, ``flattened``, ``minimal``, ``none``...). ``integration`` is the
    pipeline version to emulate (default: :func:`kmsdet.cloudtrail.integration.selected`);
    ``actor_target`` the integration's actor/target mapping option (default: the selected one);
    ``geoip`` the MaxMind databases for ``source.geo``/``source.as`` (default: the selected
    ones, usually none: the fields stay empty as on a cluster without the databases).
    The record is never modified.
    """
    pipeline = integration if integration is not None else selected()
    if actor_target is None:
        actor_target = selected_actor_target()
    if geoip is None:
        geoip = selected_geoip()
    if retain in ("", "-") or (retain == "none" and not pipeline.retain_none_drops_payloads):
        # At 0b97ab02 _conf.retain lives in the document, so the first remove-nulls pass deletes
        # these values before the pipeline reads them: they behave like an unset retain.
        retain = None
    ingested = _utc(ingested) if ingested is not None else datetime.now(timezone.utc)
    created = _utc(created) if created is not None else ingested
    tags = (([PRESERVE_TAG] if preserve_original else [])
            + ([ENTITY_TAG] if actor_target else []) + list(TAGS))
    doc: dict[str, Any] = {"@timestamp": _format_date(created)}
    if preserve_original:
        doc["event"] = {"original": json.dumps(record, separators=(",", ":"), ensure_ascii=False)}
    doc.setdefault("event", {})["created"] = doc["@timestamp"]
    j = _prune_first(record)
    try:
        _pipeline(j, record, doc, retain, pipeline, actor_target, geoip)
    except _PipelineFailure as failure:
        doc.setdefault("event", {})["kind"] = "pipeline_error"
        tag = f"with tag '{failure.tag}' " if failure.tag else ""
        doc.setdefault("error", {}).setdefault("message", []).append(
            f"Processor '{failure.processor}' {tag}failed with message '{failure.message}'")
        _tidy(doc)
        if j:
            doc["json"] = j
    doc["tags"] = tags
    doc["data_stream"] = {"type": "logs", "dataset": DATASET, "namespace": namespace}
    doc["input"] = {"type": input_type}
    event = doc.setdefault("event", {})
    event["dataset"] = DATASET
    event["module"] = "aws"
    event["ingested"] = _whole_seconds(ingested)
    if run_id is not None:
        _put(doc, RUN_ID_FIELD.split("."), run_id)
    return doc


def mapper_for(integration: Pipeline | str | None = None) -> Callable[..., dict[str, Any]]:
    """:func:`to_ecs` bound to one pipeline version (a :class:`Pipeline`, a package version such
    as ``"7.1.2"``, or None for the selected one, fixed now), for callers that map many records
    away from the CLI's selection (streaming readers, worker threads)."""
    if isinstance(integration, str):
        integration = resolve(integration)
    return partial(to_ecs, integration=integration if integration is not None else selected())


def _pipeline(j: dict[str, Any], record: Mapping[str, Any], doc: dict[str, Any],
              retain: str | None, pipeline: Pipeline, actor_target: bool,
              geoip: GeoIp | None) -> None:
    doc["ecs"] = {"version": ECS_VERSION}
    stamp = _parse_date(j.get("eventTime"))
    if stamp is not None:
        doc["@timestamp"] = stamp
    ct: dict[str, Any] = {}
    doc["aws"] = {"cloudtrail": ct}
    event = doc["event"]
    # Attached now, tidied at the end: a failing processor must leave earlier renames in place.
    user: dict[str, Any] = {}
    cloud: dict[str, Any] = {}
    related: list[Any] = []
    doc["user"], doc["cloud"], doc["related"] = user, cloud, {"user": related}
    if actor_target:  # the entity script runs before the renames take the record apart
        for path, value in entity_fields(j, sorted_related=not pipeline.session_name_to_related
                                         ).items():
            _put(doc, path.split("."), value)

    session_name = _map_identity(j, ct, user, cloud, pipeline)
    if "sessionCredentialFromConsole" in j:
        ct["session_credential_from_console"] = j.pop("sessionCredentialFromConsole")
    ident = j.get("userIdentity")
    if isinstance(ident, dict) and "invokedBy" in ident:
        ct.setdefault("user_identity", {})["invoked_by"] = ident.pop("invokedBy")

    if "eventSource" in j:
        event["provider"] = j.pop("eventSource")
        if pipeline.ecs_enrichment:
            _cloud_service(event["provider"], cloud)
    name = j.get("eventName")
    if name is not None and _mustache(name) != "":
        event["action"] = _mustache(name)
    if "eventCategory" in j:
        ct["event_category"] = j.pop("eventCategory")
    aed = j.get("additionalEventData")
    if (event.get("action") == "UserAuthentication" and "name" not in user
            and isinstance(aed, dict) and aed.get("UserName") is not None):
        user["name"] = aed.pop("UserName")
    region = j.get("awsRegion")
    if region is not None and region != "":
        cloud["region"] = region
    _map_source(j, doc, geoip)
    _map_user_agent(j, doc)
    if "errorCode" in j:
        ct["error_code"] = j.pop("errorCode")
    if "errorMessage" in j:
        ct["error_message"] = j.pop("errorMessage")
    keep_flattened = retain is None or any(w in retain for w in ("all", "flattened", "minimal"))
    _map_payloads(j, record, ct, keep_flattened)
    for raw, target in (("requestID", "request_id"), ("eventType", "event_type"),
                        ("apiVersion", "api_version"), ("managementEvent", "management_event"),
                        ("readOnly", "read_only")):
        if raw in j:
            ct[target] = j.pop(raw)
        if raw == "requestID" and "eventID" in j:
            event["id"] = j.pop("eventID")
    flag = ct.get("management_event")
    if pipeline.management_event_string and isinstance(flag, bool):
        ct["management_event"] = "true" if flag else "false"  # String.valueOf, as mapped
    _map_resources(j, ct)
    if "recipientAccountId" in j:
        ct["recipient_account_id"] = j.pop("recipientAccountId")
        rid = ct["recipient_account_id"]
        if "account" not in cloud and rid is not None and rid != "":
            cloud["account"] = {"id": rid}
    if "sharedEventId" in j:  # the pipeline's spelling; AWS writes sharedEventID
        ct["shared_event_id"] = j.pop("sharedEventId")
    if "vpcEndpointId" in j:
        ct["vpc_endpoint_id"] = j.pop("vpcEndpointId")
    _related_from_payloads(j, related)
    _console_login(j, ct)
    _categorize(j, ct, event, pipeline)
    if "awsAccountId" in j and "account" not in cloud:
        cloud["account"] = {"id": j.pop("awsAccountId")}
    _iam_targets(j, doc, user)
    if not keep_flattened:
        j.pop("insightDetails", None)
    if "insightDetails" in j:
        ct.setdefault("flattened", {})["insight_details"] = j.pop("insightDetails")
    _map_tls(j, doc)
    if pipeline.session_name_to_related and session_name is not None:
        _append_unique(related, session_name)
        local, at, domain = session_name.partition("@")
        if local and at and domain:
            _append_unique(related, local)
            user.setdefault("email", session_name)
    uname = user.get("name")
    if "email" not in user and isinstance(uname, str) and uname.find("@") > 0:
        user["email"] = uname
    for value in (user.get("id"), user.get("name"), user.get("changes", {}).get("name")):
        if value is not None:
            _append_unique(related, _mustache(value))
    if pipeline.ecs_enrichment:
        _enrich(doc, ct)
    _retain(ct, retain)
    _tidy(doc)


_MISSING = object()


def _move(source: dict[str, Any], key: str, target: dict[str, Any], name: str) -> None:
    """A rename processor: move ``source[key]`` to ``target[name]`` if present."""
    value = source.pop(key, _MISSING)
    if value is not _MISSING:
        target[name] = value


def _map_identity(j: dict[str, Any], ct: dict[str, Any], user: dict[str, Any],
                  cloud: dict[str, Any], pipeline: Pipeline) -> str | None:
    """The identity renames; returns the STS session name when a later step wants it."""
    _move(j, "eventVersion", ct, "event_version")
    ident = j.get("userIdentity")
    if type(ident) is not dict:
        return None
    ui: dict[str, Any] = {}
    ct["user_identity"] = ui
    _move(ident, "type", ui, "type")
    _move(ident, "userName", user, "name")
    if pipeline.user_id_is_arn:
        _move(ident, "principalId", ui, "principal_id")
        if "arn" in ident:
            user["id"] = ident["arn"]
    else:
        _move(ident, "principalId", user, "id")
    _move(ident, "arn", ui, "arn")
    account = ident.pop("accountId", _MISSING)
    if account is not _MISSING:
        cloud["account"] = {"id": account}
    _move(ident, "accessKeyId", ui, "access_key_id")
    session = ident.get("sessionContext")
    if type(session) is not dict:
        session = {}
    attributes = session.get("attributes")
    if type(attributes) is not dict:
        attributes = {}
    issuer = session.get("sessionIssuer")
    if type(issuer) is not dict:
        issuer = {}
    sc: dict[str, Any] = {}
    if pipeline.user_id_is_arn:
        _move(session, "ec2RoleDelivery", sc, "ec2_role_delivery")
    _move(attributes, "mfaAuthenticated", sc, "mfa_authenticated")
    created = _parse_date(attributes.get("creationDate"))
    if created is not None:
        sc["creation_date"] = created
    si: dict[str, Any] = {}
    _move(issuer, "type", si, "type")
    kind = ui.get("type")
    role_like = kind == "AssumedRole" or kind == "FederatedUser"
    if role_like:
        _move(issuer, "userName", user, "name")
    _move(issuer, "principalId", si, "principal_id")
    arn = ui.get("arn")
    session_name: str | None = None
    if role_like and arn is not None:
        grok = (_STS_SESSION_ANY_PARTITION if pipeline.session_name_to_related
                else _STS_SESSION)
        if not isinstance(arn, str) or not (m := grok.search(arn)):
            raise _PipelineFailure("grok", "extract_user_name_from_arn",
                                   f"Provided Grok expressions do not match field value: [{arn}]")
        if m.group(1) and pipeline.session_name_to_related:
            session_name = m.group(1)
        elif m.group(1):  # an empty capture would be pruned at the end anyway
            user.setdefault("changes", {})["name"] = m.group(1)
    if kind == "IdentityCenterUser" and "id" not in user:
        on_behalf = ident.get("onBehalfOf")
        if type(on_behalf) is dict:
            _move(on_behalf, "userId", user, "id")
    _move(issuer, "arn", si, "arn")
    _move(issuer, "accountId", si, "account_id")
    if si:
        sc["session_issuer"] = si
    if sc:
        ui["session_context"] = sc
    return session_name


def _cloud_service(provider: Any, cloud: dict[str, Any]) -> None:
    """#20403's ``cloud.provider`` and ``cloud.service.name`` (the event source's first label)."""
    cloud["provider"] = "aws"
    if isinstance(provider, str) and (m := _SERVICE_HOST.match(provider)):
        cloud["service"] = {"name": m.group(1)}


def _enrich(doc: dict[str, Any], ct: dict[str, Any]) -> None:
    """#20403's ``related.ip`` (the source IP) and ``service.name`` (an AWS service caller)."""
    cloud = doc["cloud"]
    cloud.setdefault("provider", "aws")
    ip = doc.get("source", {}).get("ip")
    if ip is not None:
        doc["related"]["ip"] = [ip]
    ui = ct.get("user_identity")
    if isinstance(ui, dict) and ui.get("type") == "AWSService" and ui.get("invoked_by"):
        doc.setdefault("service", {})["name"] = ui["invoked_by"]


_IP_CACHE: dict[str, bool] = {}


def _is_ip(text: str) -> bool:
    known = _IP_CACHE.get(text)
    if known is None:
        try:
            ipaddress.ip_address(text)
            known = True
        except ValueError:
            known = False
        if len(_IP_CACHE) < 65536:
            _IP_CACHE[text] = known
    return known


def _map_source(j: dict[str, Any], doc: dict[str, Any], geoip: GeoIp | None) -> None:
    if "sourceIPAddress" not in j:
        return
    address = j.pop("sourceIPAddress")
    source: dict[str, Any] = {"address": address}
    if isinstance(address, str) and _is_ip(address):
        source["ip"] = address
        if geoip is not None:
            geo, asn = geoip.lookup(address)
            if geo is not None:
                source["geo"] = geo
            if asn is not None:
                source["as"] = asn
    doc["source"] = source


def _map_user_agent(j: dict[str, Any], doc: dict[str, Any]) -> None:
    if "userAgent" not in j:
        return
    agent = j["userAgent"]
    if isinstance(agent, str):
        doc["user_agent"] = parse_user_agent(agent)
    else:  # the processor fails on non-strings; on_failure renames the raw value
        doc["user_agent"] = {"original": j.pop("userAgent")}


def _map_payloads(j: dict[str, Any], record: Mapping[str, Any], ct: dict[str, Any],
                  keep_flattened: bool) -> None:
    flattened: dict[str, Any] = {}
    for raw, target in _PAYLOADS:
        if j.get(raw) is None:
            continue
        # The json processor's HashMap was sized by every parsed key; the prune script then
        # removed the empty ones, which never shrinks a HashMap. So the order comes from the
        # unpruned payload, and pruning that ordered copy keeps the survivors' relative order.
        ordered = _prune_value(to_java_order(record[raw]))
        text = ordered_to_string(ordered)
        ct[target] = text
        if keep_flattened and len(text) < MAX_FLATTENED_SOURCE:
            flattened[target] = ordered
    if keep_flattened:
        ct["flattened"] = flattened


def _map_resources(j: dict[str, Any], ct: dict[str, Any]) -> None:
    resources = j.get("resources")
    if isinstance(resources, list):
        unique: dict[str, dict[str, Any]] = {}
        for original in resources:
            if not isinstance(original, dict):
                continue
            resource = dict(original)
            if "ARN" in resource:
                resource["arn"] = resource.pop("ARN")
            if "accountId" in resource:
                resource["account_id"] = resource.pop("accountId")
            key = "_".join(_mustache(resource.get(k, "")) for k in ("arn", "account_id", "type"))
            unique[key] = resource
        # The dedupe map is a Painless HashMap: its values come back in hash order.
        order = hashmap_order(unique) if len(unique) > 1 else unique
        j["resources"] = [unique[k] for k in order]
    if "resources" in j:
        ct["resources"] = j.pop("resources")


def _related_from_payloads(j: dict[str, Any], related: list[Any]) -> None:
    request = j.get("requestParameters")
    response = j.get("responseElements")
    candidates: list[Any] = []
    if isinstance(request, dict):
        candidates += [request.get("userName"), request.get("newUserName")]
    if isinstance(response, dict) and isinstance(response.get("user"), dict):
        candidates.append(response["user"].get("userId"))
    for value in candidates:
        if value is not None:
            _append_unique(related, _mustache(value))


def _console_login(j: dict[str, Any], ct: dict[str, Any]) -> None:
    if j.get("eventName") != "ConsoleLogin":
        return
    aed = j.get("additionalEventData")
    aed = aed if isinstance(aed, dict) else {}
    flags: dict[str, Any] = {}
    if aed.get("MobileVersion") is not None:
        flags["mobile_version"] = aed["MobileVersion"] != "No"
    if aed.get("LoginTo") is not None:
        flags["login_to"] = aed["LoginTo"]
    if aed.get("MFAUsed") is not None:
        flags["mfa_used"] = aed["MFAUsed"] != "No"
    if flags:
        ct["console_login"] = {"additional_eventdata": flags}


def _categorize(j: dict[str, Any], ct: dict[str, Any], event: dict[str, Any],
                pipeline: Pipeline) -> None:
    event["kind"] = "event"
    event["type"] = ["info"]
    failed = ct.get("error_code") is not None or ct.get("error_message") is not None
    event["outcome"] = "failure" if failed else "success"
    action = event.get("action")
    if action is None:
        return
    response = j.get("responseElements")
    if (action == "ConsoleLogin" and isinstance(response, dict)
            and isinstance(response.get("ConsoleLogin"), str)):
        event["outcome"] = response["ConsoleLogin"].lower()
    entry = CATEGORIES.get(action)
    if entry is not None:
        event["category"] = list(entry[0])
        event["type"] = list(entry[1])
        if pipeline.newer_categories and action in _NEWER_TYPES:
            event["type"] = list(_NEWER_TYPES[action])


def _iam_targets(j: dict[str, Any], doc: dict[str, Any], user: dict[str, Any]) -> None:
    request = j.get("requestParameters")
    request = request if isinstance(request, dict) else {}
    response = j.get("responseElements")
    response = response if isinstance(response, dict) else {}
    group = response.get("group")
    resp_user = response.get("user")
    copies = (
        (("group", "id"), group.get("groupId") if isinstance(group, dict) else None),
        (("user", "target", "id"),
         resp_user.get("userId") if isinstance(resp_user, dict) else None),
        (("user", "changes", "name"), request.get("newUserName")),
        (("group", "name"), request.get("groupName")),
        (("user", "target", "name"), request.get("userName")),
    )
    for path, value in copies:
        if value is None or value == "":
            continue
        if path[0] == "user":
            _put(user, list(path[1:]), value)
        else:
            _put(doc, list(path), value)


def _map_tls(j: dict[str, Any], doc: dict[str, Any]) -> None:
    details = j.get("tlsDetails")
    if not isinstance(details, dict):
        return
    if details.get("tlsVersion") == "tlsVersion":
        j.pop("tlsDetails")
        return
    tls: dict[str, Any] = {}
    version = details.get("tlsVersion")
    if version is not None:
        if isinstance(version, str) and "v" in version:
            protocol, _, number = version.partition("v")
            if protocol:
                tls["version_protocol"] = protocol.lower()
            if number:
                tls["version"] = number
        else:
            tls["version"] = details.pop("tlsVersion")
    if "cipherSuite" in details:
        tls["cipher"] = details.pop("cipherSuite")
    if "clientProvidedHostHeader" in details:
        tls["client"] = {"server_name": details.pop("clientProvidedHostHeader")}
    if tls:
        doc["tls"] = tls


def _retain(ct: dict[str, Any], retain: str | None) -> None:
    if retain == "minimal" and isinstance(ct.get("flattened"), dict):
        kept: dict[str, Any] = {}
        for path in RETAIN_MINIMAL_FIELDS:
            head, _, leaf = path.partition(".")
            source = ct["flattened"].get(head)
            if isinstance(source, dict) and source.get(leaf) is not None:
                kept.setdefault(head, {})[leaf] = source[leaf]
        ct["flattened"] = kept
    if retain not in (None, "", "all", "keyword", "minimal"):
        for key in ("response_elements", "request_parameters", "additional_eventdata"):
            ct.pop(key, None)


def _prune_first(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the record without null, ``""``, ``"-"`` and ``"none"`` values, nor the maps and
    lists that become empty: the pipeline's first remove-nulls script (it runs before anything
    is renamed or stringified, so it shapes every payload string)."""
    return _prune_map(record if isinstance(record, dict) else dict(record))


def _prune_value(value: Any) -> Any:
    """One value through the first prune (the caller knows it does not prune to nothing)."""
    if type(value) is dict:
        return _prune_map(value)
    if type(value) is list:
        return _prune_list(value)
    return value


def _prune_map(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        t = type(v)
        if t is str:
            if v and v != "-" and v != "none":
                out[k] = v
        elif t is dict:
            v = _prune_map(v)
            if v:
                out[k] = v
        elif t is list:
            v = _prune_list(v)
            if v:
                out[k] = v
        elif v is not None:
            if isinstance(v, Mapping):
                v = _prune_map(dict(v))
                if not v:
                    continue
            out[k] = v
    return out


def _prune_list(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in items:
        t = type(v)
        if t is str:
            if v and v != "-" and v != "none":
                out.append(v)
        elif t is dict:
            v = _prune_map(v)
            if v:
                out.append(v)
        elif t is list:
            v = _prune_list(v)
            if v:
                out.append(v)
        elif v is not None:
            out.append(v)
    return out


def _is_empty(value: Any) -> bool:
    # Falsiness first: nearly every value is truthy, and no truthy value is empty.
    return not value and (value is None or value == "" or type(value) in (dict, list))


def _tidy(doc: dict[str, Any]) -> None:
    """The closing remove-nulls script (null, ``""``, empty maps and lists), made targeted.

    Every value taken from the record already passed the stricter first prune, and the values
    this module generates are never empty, so the only candidates are the containers the
    pipeline creates up front (and payload copies emptied by a rename): only those are checked.
    """
    ct = doc.get("aws", {}).get("cloudtrail")
    if isinstance(ct, dict):
        for key in ("user_identity", "flattened"):
            inner = ct.get(key)
            if isinstance(inner, dict):
                for k in [k for k, v in inner.items() if not v and _is_empty(v)]:
                    del inner[k]
        for k in [k for k, v in ct.items() if not v and _is_empty(v)]:
            del ct[k]
        if not ct:
            del doc["aws"]
    event = doc.get("event")
    if isinstance(event, dict) and event.get("type") == []:
        del event["type"]
    related = doc.get("related")
    if isinstance(related, dict):
        if related.get("user") == []:
            del related["user"]
        if not related:
            del doc["related"]
    for key in ("user", "cloud"):
        if doc.get(key) == {}:
            del doc[key]


def _put(root: dict[str, Any], path: list[str], value: Any) -> None:
    node = root
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _append_unique(values: list[Any], value: Any) -> None:
    if value not in values:
        values.append(value)


def _mustache(value: Any) -> str:
    """How an ingest template renders a value: strings as-is, others via Java toString."""
    return value if isinstance(value, str) else java_to_string(value)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_CLOUDTRAIL_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ")
_DATE_CACHE: dict[str, str | None] = {}


def _parse_date(value: Any) -> str | None:
    """The date processor's ISO8601 parse, formatted ``yyyy-MM-dd'T'HH:mm:ss.SSSXXX``."""
    if not isinstance(value, str):
        return None
    if len(value) == 20 and _CLOUDTRAIL_TIME.fullmatch(value):
        return value[:19] + ".000Z"  # the form CloudTrail always writes
    cached = _DATE_CACHE.get(value, "")
    if cached != "":
        return cached
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        result = None
    else:
        result = _format_date(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc),
                              keep_offset=True)
    if len(_DATE_CACHE) < 65536:
        _DATE_CACHE[value] = result
    return result


_FORMATTED: dict[datetime, str] = {}
_WHOLE: dict[datetime, str] = {}


def _whole_seconds(moment: datetime) -> str:
    """Fleet's ``event.ingested``: the ingest time cut to whole seconds."""
    text = _WHOLE.get(moment)
    if text is None:
        if len(_WHOLE) > 4096:
            _WHOLE.clear()
        text = _WHOLE[moment] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


def _format_date(moment: datetime, *, keep_offset: bool = False) -> str:
    if not keep_offset:
        text = _FORMATTED.get(moment)
        if text is None:
            if len(_FORMATTED) > 4096:
                _FORMATTED.clear()
            text = _FORMATTED[moment] = _format_moment(moment, keep_offset=False)
        return text
    return _format_moment(moment, keep_offset=True)


def _format_moment(moment: datetime, *, keep_offset: bool) -> str:
    if not keep_offset or moment.utcoffset() == timezone.utc.utcoffset(None):
        moment = _utc(moment)
        zone = "Z"
    else:
        offset = moment.utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}{zone}"
