"""What a deploy would change: per rule create / update (field-level diff) / unchanged / delete.

Both sides are normalised first (server-only fields removed, Kibana's defaults filled in,
computed sub-fields such as required_fields[].ecs stripped, exception-list references compared
by list id), so that a rule deployed and untouched compares equal and a re-run changes nothing.
Rules without kmsdet's marker tag are never updated or deleted: a local rule whose rule_id
belongs to such a rule is reported as a conflict instead.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kmsdet.kibana.client import KibanaClient
from kmsdet.kibana.defaults import SERVER_FIELDS, defaults_for
from kmsdet.kibana.payload import MANAGED_TAG, Payload, exception_list_id

CREATE, UPDATE, UNCHANGED, DELETE, CONFLICT = "create", "update", "unchanged", "delete", "conflict"
EXCEPTIONS_FIELD = "exceptions (items)"


@dataclass
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass
class PlanItem:
    rule_id: str
    name: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)
    payload: Payload | None = None
    remote_id: str | None = None
    reason: str | None = None

    @property
    def writes(self) -> bool:
        return self.action in (CREATE, UPDATE, DELETE)

    @property
    def exceptions_changed(self) -> bool:
        return self.payload is not None and self.payload.exceptions is not None and (
            self.action == CREATE or any(c.field in (EXCEPTIONS_FIELD, "exceptions_list")
                                         for c in self.changes))


@dataclass
class Plan:
    items: list[PlanItem]
    space: str = "default"
    prune: bool = False

    def by_action(self, action: str) -> list[PlanItem]:
        return [i for i in self.items if i.action == action]

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in (CREATE, UPDATE, UNCHANGED, DELETE, CONFLICT)}
        for item in self.items:
            out[item.action] += 1
        return out

    @property
    def has_changes(self) -> bool:
        return any(i.writes for i in self.items)


def is_managed(remote: Mapping[str, Any]) -> bool:
    return MANAGED_TAG in (remote.get("tags") or [])


def normalise(body: Mapping[str, Any]) -> dict[str, Any]:
    """A payload or a rule response reduced to what the user controls, defaults made explicit."""
    out = {k: copy.deepcopy(v) for k, v in body.items() if k not in SERVER_FIELDS}
    for key, value in defaults_for(out.get("type")).items():
        if out.get(key) is None:
            out[key] = copy.deepcopy(value)
    out["required_fields"] = [{k: v for k, v in f.items() if k != "ecs"}
                              for f in out.get("required_fields") or []]
    out["exceptions_list"] = sorted(
        ({k: r.get(k) for k in ("list_id", "type", "namespace_type")}
         for r in out.get("exceptions_list") or []), key=lambda r: str(r["list_id"]))
    out["threat"] = [_drop_empty_lists(t) for t in out.get("threat") or []]
    if isinstance(out.get("investigation_fields"), dict) and not out["investigation_fields"].get(
            "field_names"):
        del out["investigation_fields"]
    return {k: v for k, v in out.items() if v is not None}


def _drop_empty_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty_lists(v) for k, v in value.items() if v != []}
    if isinstance(value, list):
        return [_drop_empty_lists(v) for v in value]
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            changes.append(FieldChange(key, before.get(key), after.get(key)))
    return changes


def exception_entries(items: Iterable[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """Exception items reduced to their entries, in item_id order, for comparison."""
    ordered = sorted(items, key=lambda i: str(i.get("item_id", "")))
    return [[{k: e.get(k) for k in ("field", "operator", "type", "value") if k in e}
             for e in item.get("entries") or []] for item in ordered]


def make_plan(payloads: Sequence[Payload], remote_rules: Iterable[Mapping[str, Any]], *,
              remote_items: Mapping[str, list[dict[str, Any]]] | None = None,
              prune: bool = False, space: str = "default") -> Plan:
    """Pure comparison of local payloads with the deployed rules of one space."""
    remote_by_id = {str(r.get("rule_id")): r for r in remote_rules}
    remote_items = remote_items or {}
    items: list[PlanItem] = []
    local_ids = set()
    for payload in payloads:
        local_ids.add(payload.rule_id)
        name = str(payload.body.get("name", ""))
        remote = remote_by_id.get(payload.rule_id)
        if remote is None:
            items.append(PlanItem(payload.rule_id, name, CREATE, payload=payload))
            continue
        remote_id = str(remote.get("id")) if remote.get("id") else None
        if not is_managed(remote) or remote.get("immutable") or (
                (remote.get("rule_source") or {}).get("type") == "external"):
            items.append(PlanItem(payload.rule_id, name, CONFLICT, payload=payload,
                                  remote_id=remote_id,
                                  reason="a rule with this rule_id exists in Kibana but is not "
                                         f"managed by kmsdet (no '{MANAGED_TAG}' tag)"))
            continue
        if not payload.enabled_explicit and "enabled" in remote:
            payload.body["enabled"] = bool(remote["enabled"])
        changes = diff(normalise(remote), normalise(payload.body))
        if payload.exceptions is not None:
            local_entries = exception_entries(payload.exceptions.items)
            deployed = exception_entries(remote_items.get(payload.exceptions.list_id, []))
            if local_entries != deployed:
                changes.append(FieldChange(EXCEPTIONS_FIELD, deployed, local_entries))
        items.append(PlanItem(payload.rule_id, name, UPDATE if changes else UNCHANGED,
                              changes=changes, payload=payload, remote_id=remote_id))
    if prune:
        for rule_id, remote in sorted(remote_by_id.items()):
            if rule_id not in local_ids and is_managed(remote):
                items.append(PlanItem(rule_id, str(remote.get("name", "")), DELETE,
                                      remote_id=str(remote.get("id"))))
    return Plan(items=items, space=space, prune=prune)


def fetch_remote(client: KibanaClient, payloads: Sequence[Payload]) -> tuple[
        list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Deployed rules of the space, and the items of kmsdet's exception lists among them."""
    remote = list(client.find_rules())
    list_ids = sorted({p.exceptions.list_id for p in payloads if p.exceptions} |
                      {ref["list_id"] for r in remote if is_managed(r)
                       for ref in r.get("exceptions_list") or []
                       if ref.get("list_id") == exception_list_id(str(r.get("rule_id")))})
    items: dict[str, list[dict[str, Any]]] = {}
    if list_ids:
        for item in client.exception_items(list_ids):
            items.setdefault(str(item.get("list_id")), []).append(item)
    return remote, items


def plan_deploy(client: KibanaClient, payloads: Sequence[Payload], *,
                prune: bool = False) -> Plan:
    remote, items = fetch_remote(client, payloads)
    return make_plan(payloads, remote, remote_items=items, prune=prune,
                     space=client.target.space)

