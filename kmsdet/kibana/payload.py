"""Rule model -> the detection engine's create/import payload, for a given stack version.

Besides the API fields, the payload carries what Kibana has no field for (the [metadata]
table, [transform], the lint suppressions, and which optional keys the TOML spelled out) under
``meta.kmsdet``, so that ``pull`` can write back exactly the file that was deployed. A tag marks
every rule kmsdet deployed; only rules with that tag are ever updated or pruned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from kmsdet.kibana.api_schema import validate_payload
from kmsdet.rules.model import Rule, RuleData

MANAGED_TAG = "Managed By: kmsdet"
META_KEY = "kmsdet"
META_VERSION = 1
LATEST_STACK = (9, 3)
EXCEPTION_NAMESPACE = uuid.UUID("6f1c1c9e-4b0e-4d9a-9a53-6b6d6f6b6d73")

# Keys copied verbatim from [rule] when present; the rest are transformed below.
_VERBATIM = (
    "author", "description", "name", "risk_score", "rule_id", "severity", "type", "language",
    "query", "index", "data_view_id", "filters", "to", "interval", "max_signals",
    "timestamp_override", "timestamp_override_fallback_disabled", "note", "references",
    "false_positives", "license", "building_block_type", "exceptions_list", "actions",
    "response_actions", "risk_score_mapping", "severity_mapping", "rule_name_override",
    "timeline_id", "timeline_title", "version", "namespace", "output_index", "threat_mapping",
    "threat_index", "threat_query", "threat_language", "threat_indicator_path",
    "threat_filters", "concurrent_searches", "items_per_search", "anomaly_threshold",
    "machine_learning_job_id", "event_category_override", "tiebreaker_field", "timestamp_field",
)
# [rule] keys with no API field: kept in meta.kmsdet.extra so pull restores them.
_NOT_IN_API = ("threat_mappings", "revision")
# Fields Kibana only accepts from a given stack version on.
_SINCE: dict[str, tuple[int, int]] = {
    "setup": (8, 3), "related_integrations": (8, 3), "required_fields": (8, 3),
    "investigation_fields": (8, 10), "alert_suppression": (8, 8),
    "timestamp_override_fallback_disabled": (8, 3),
}


@dataclass
class ExceptionList:
    """The rule-default exception list kmsdet creates for a rule's [[kmsdet.exceptions]]."""

    list_id: str
    container: dict[str, Any]
    items: list[dict[str, Any]]

    def reference(self) -> dict[str, Any]:
        return {"id": self.container["id"], "list_id": self.list_id, "type": "rule_default",
                "namespace_type": "single"}


@dataclass
class Payload:
    rule_id: str
    body: dict[str, Any]
    exceptions: ExceptionList | None = None
    enabled_explicit: bool = False
    warnings: list[str] = field(default_factory=list)
    source: str | None = None


def parse_stack_version(text: str) -> tuple[int, int]:
    parts = text.strip().split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        from kmsdet.errors import UsageError

        raise UsageError(f"invalid stack version {text!r}", field="--stack-version",
                         hint="for example 8.15 or 9.0") from None


def build_payload(rule: Rule, *, stack: tuple[int, int] = LATEST_STACK,
                  enabled: bool | None = None, validate: bool = True) -> Payload:
    """The payload for ``rule``; ``enabled`` (--enable/--disable) wins over the rule's own."""
    data = rule.rule
    raw = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    body: dict[str, Any] = {k: raw[k] for k in _VERBATIM if k in raw}
    if data.from_ is not None:
        body["from"] = data.from_
    if data.setup is not None:
        body["setup"] = data.setup
    if data.threat is not None:
        body["threat"] = [t.model_dump(mode="json") for t in data.threat]
    elif data.threat_mappings:
        body["threat"] = _threat_from_mappings(rule)
    if data.related_integrations is not None:
        body["related_integrations"] = data.related_integrations
    if data.required_fields is not None:
        body["required_fields"] = data.required_fields
    if data.investigation_fields is not None:
        names = list(data.investigation_fields.field_names)
        body["investigation_fields"] = names if stack < (8, 11) else {"field_names": names}
    if data.new_terms is not None:
        body["new_terms_fields"] = [data.new_terms.value] if isinstance(
            data.new_terms.value, str) else list(data.new_terms.value)
        if data.new_terms.history_window:
            body["history_window_start"] = data.new_terms.history_window
    if data.threshold is not None:
        body["threshold"] = data.threshold.model_dump(mode="json", exclude_defaults=True)
        body["threshold"]["field"] = data.threshold.fields
    if data.alert_suppression is not None:
        body["alert_suppression"] = data.alert_suppression.model_dump(mode="json",
                                                                      exclude_none=True)
    tags = list(data.tags or [])
    if MANAGED_TAG not in tags:
        tags.append(MANAGED_TAG)
    body["tags"] = tags
    enabled_explicit = enabled is not None or data.enabled is not None
    body["enabled"] = enabled if enabled is not None else (
        data.enabled if data.enabled is not None else True)
    body["meta"] = {**(data.meta or {}), META_KEY: _kmsdet_meta(rule)}

    exceptions = exception_list_for(rule)
    if exceptions is not None:
        refs = [r for r in body.get("exceptions_list", []) if r.get("list_id") !=
                exceptions.list_id]
        body["exceptions_list"] = [*refs, exceptions.reference()]

    warnings = []
    for key, since in _SINCE.items():
        if key in body and stack < since:
            del body[key]
            warnings.append(f"{key} dropped: Kibana {since[0]}.{since[1]}+ only "
                            f"(target is {stack[0]}.{stack[1]})")
    payload = Payload(rule_id=data.rule_id, body=body, exceptions=exceptions,
                      enabled_explicit=enabled_explicit, warnings=warnings,
                      source=str(rule.source.path))
    if validate:
        validate_payload(body, file=str(rule.source.path),
                         line_of=lambda f: rule.source.line_of(("rule", f.split(".")[0])))
    return payload


def _kmsdet_meta(rule: Rule) -> dict[str, Any]:
    data = rule.rule
    keys = sorted(_alias(name) for name in data.model_fields_set
                  if getattr(data, name) is not None)
    meta: dict[str, Any] = {
        "v": META_VERSION,
        "metadata": rule.metadata.model_dump(mode="json", exclude_none=True),
        "keys": keys,
    }
    extra = {k: v for k, v in data.model_dump(mode="json", by_alias=True,
                                              exclude_none=True).items() if k in _NOT_IN_API}
    if extra:
        meta["extra"] = extra
    if data.tags is not None and MANAGED_TAG in data.tags:
        meta["tagged"] = True
    if rule.transform is not None:
        meta["transform"] = rule.transform
    if rule.kmsdet is not None:
        meta["kmsdet"] = rule.kmsdet.model_dump(mode="json", exclude={"exceptions"})
        meta["has_exceptions_table"] = True
    return meta


def _alias(name: str) -> str:
    info = RuleData.model_fields[name]
    return info.alias or name


def _threat_from_mappings(rule: Rule) -> list[dict[str, Any]]:
    mappings = [m for m in rule.rule.threat_mappings or [] if m.framework == "MITRE ATT&CK"]
    if not mappings:
        return []
    newest = max(mappings, key=lambda m: m.version)
    return [t.model_dump(mode="json") for t in newest.threat]


def exception_list_id(rule_id: str) -> str:
    return f"kmsdet-{rule_id}"


def exception_list_for(rule: Rule) -> ExceptionList | None:
    """The rule-default list (container + items) for the rule's exceptions, if it has any."""
    if rule.kmsdet is None or not rule.kmsdet.exceptions:
        return None
    list_id = exception_list_id(rule.rule_id)
    container = {
        "id": str(uuid.uuid5(EXCEPTION_NAMESPACE, list_id)),
        "list_id": list_id,
        "name": f"{rule.name} (kmsdet exceptions)",
        "description": f"Exceptions of rule {rule.rule_id}, managed by kmsdet",
        "type": "rule_default",
        "namespace_type": "single",
        "tags": [MANAGED_TAG],
        "os_types": [],
        "immutable": False,
        "version": 1,
    }
    items = []
    for index, exc in enumerate(rule.kmsdet.exceptions):
        entry: dict[str, Any] = {"field": exc.field, "operator": exc.operator,
                                 "type": exc.type}
        if exc.type != "exists":
            entry["value"] = exc.value
        items.append({
            "item_id": f"{list_id}-{index}",
            "list_id": list_id,
            "name": f"{rule.name} exception {index + 1}",
            "description": "Managed by kmsdet",
            "type": "simple",
            "namespace_type": "single",
            "entries": [entry],
            "os_types": [],
            "tags": [],
            "comments": [],
        })
    return ExceptionList(list_id=list_id, container=container, items=items)


def build_payloads(rules: list[Rule], *, stack: tuple[int, int] = LATEST_STACK,
                   enabled: bool | None = None) -> list[Payload]:
    """Payloads for many rules, refusing duplicate rule_ids (Kibana would keep only one)."""
    from kmsdet.errors import InputError

    seen: dict[str, str] = {}
    payloads = []
    for rule in rules:
        where = str(rule.source.path)
        if rule.rule_id in seen:
            raise InputError(f"rule_id {rule.rule_id} is used twice (also in {seen[rule.rule_id]})",
                             file=where, line=rule.source.line_of(("rule", "rule_id")),
                             field="rule.rule_id", hint="every rule needs its own rule_id")
        seen[rule.rule_id] = where
        check_query_runs(rule)
        payloads.append(build_payload(rule, stack=stack, enabled=enabled))
    return payloads


def check_query_runs(rule: Rule) -> None:
    """Refuse a KQL query that Kibana would fail to run (syntax, or a value Elasticsearch
    rejects for the field's type), naming the rule file and line; lint explains more."""
    if rule.rule.language != "kuery" or not rule.rule.query:
        return
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.kql.matcher import compile_query
    from kmsdet.kql.parser import parse
    from kmsdet.rules.query_errors import located_in_rule

    with located_in_rule(rule):
        compile_query(parse(rule.rule.query), schema_for_indices(tuple(rule.rule.index or ())))
