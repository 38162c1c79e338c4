"""Kibana rules -> TOML files in the project's format, so UI edits come back into git.

The inverse of payload.build_payload. Rules kmsdet deployed carry ``meta.kmsdet`` (the
[metadata] table, the keys the file spelled out, fields Kibana has no place for), which makes
``pull(deploy(rules)) == rules`` exact. For other rules, keys holding Kibana's defaults are left
out and [metadata] is made from the rule's timestamps.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from kmsdet.errors import InputError
from kmsdet.kibana.client import KibanaClient
from kmsdet.kibana.defaults import SERVER_FIELDS, defaults_for
from kmsdet.kibana.payload import MANAGED_TAG, META_KEY, META_VERSION, exception_list_id
from kmsdet.rules.loader import find_rule_files, load_file
from kmsdet.rules.model import Rule, RuleData

_RULE_KEYS = {info.alias or name for name, info in RuleData.model_fields.items()}
# API fields that become a different [rule] key (inverse of the payload's special cases).
_API_ONLY = {"new_terms_fields", "history_window_start"}
# [rule] keys the project's format requires even when Kibana holds its default for them.
_REQUIRED = {info.alias or name for name, info in RuleData.model_fields.items()
             if info.is_required()}


@dataclass
class PullResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def rule_from_kibana(response: Mapping[str, Any],
                     exception_items: list[Mapping[str, Any]] | None = None) -> Rule:
    """Rebuild the Rule model from a rule as Kibana returns it."""
    body = {k: copy.deepcopy(v) for k, v in response.items() if k not in SERVER_FIELDS}
    meta = dict(body.pop("meta", None) or {})
    ours = meta.pop(META_KEY, None)
    if not (isinstance(ours, dict) and ours.get("v") == META_VERSION):
        ours = None
    rule_type = body.get("type")
    defaults = defaults_for(rule_type if isinstance(rule_type, str) else None)
    keys = set(ours.get("keys", [])) if ours else set()

    data: dict[str, Any] = {}
    if meta:
        data["meta"] = meta
    tags = [t for t in body.pop("tags", None) or [] if t != MANAGED_TAG or (
        ours and ours.get("tagged"))]
    if tags or "tags" in keys:
        data["tags"] = tags
    own_list = exception_list_id(str(body.get("rule_id")))
    refs = [r for r in body.pop("exceptions_list", None) or [] if r.get("list_id") != own_list]
    if refs or "exceptions_list" in keys:
        data["exceptions_list"] = refs
    if "required_fields" in body:
        body["required_fields"] = [{k: v for k, v in f.items() if k != "ecs"}
                                   for f in body["required_fields"] or []]
    if isinstance(body.get("investigation_fields"), list):
        body["investigation_fields"] = {"field_names": body["investigation_fields"]}
    if "new_terms_fields" in body:
        terms: dict[str, Any] = {"field": "new_terms_fields",
                                 "value": body.pop("new_terms_fields")}
        if body.get("history_window_start"):
            terms["history_window_start"] = [{"field": "history_window_start",
                                              "value": body.pop("history_window_start")}]
        data["new_terms"] = terms
    body.pop("history_window_start", None)
    if "enabled" not in keys and body.get("enabled") is True:
        body.pop("enabled")
    for key, value in body.items():
        if key not in _RULE_KEYS or key in _API_ONLY:
            continue
        if key in keys or key in _REQUIRED or key not in defaults or value != defaults[key]:
            data[key] = value
    if "author" not in data:
        data["author"] = []
    if "threat" in data and not data["threat"] and "threat" not in keys:
        del data["threat"]
    if ours and ours.get("extra"):
        data.update(ours["extra"])

    document: dict[str, Any] = {
        "metadata": ours["metadata"] if ours else _metadata_from(response),
        "rule": data,
    }
    if ours and "transform" in ours:
        document["transform"] = ours["transform"]
    options = dict(ours.get("kmsdet") or {}) if ours else {}
    exceptions = [_exception_from(item) for item in sorted(
        exception_items or [], key=lambda i: str(i.get("item_id", "")))]
    exceptions = [e for e in exceptions if e is not None]
    if exceptions:
        options["exceptions"] = exceptions
    if options or (ours and ours.get("has_exceptions_table")):
        document["kmsdet"] = options
    try:
        return Rule.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"rule {response.get('rule_id')} from Kibana does not fit kmsdet's "
                         f"rule format: {'.'.join(map(str, first['loc']))}: {first['msg']}",
                         field="rule_id", hint="fix the rule in Kibana or pull it by hand"
                         ) from None


def _metadata_from(response: Mapping[str, Any]) -> dict[str, Any]:
    def day(value: Any) -> str:
        text = str(value or "")
        return text[:10].replace("-", "/") if re.match(r"\d{4}-\d{2}-\d{2}", text) else \
            "1970/01/01"

    return {"creation_date": day(response.get("created_at")),
            "updated_date": day(response.get("updated_at"))}


def _exception_from(item: Mapping[str, Any]) -> dict[str, Any] | None:
    entries = item.get("entries") or []
    if len(entries) != 1:
        return None
    entry = entries[0]
    out = {"field": entry.get("field"), "operator": entry.get("operator", "included"),
           "type": entry.get("type", "match")}
    out["value"] = entry.get("value", "")
    return out


def rule_to_toml(rule: Rule) -> str:
    """The rule as a TOML file laid out like the project's rules ([metadata] then [rule])."""
    document = rule.model_dump(mode="json", by_alias=True, exclude_none=True,
                               exclude_unset=False)
    data = document["rule"]
    # Keep only keys the model holds explicitly, in a stable, readable order.
    ordered: dict[str, Any] = {}
    scalars = sorted(k for k, v in data.items() if not _is_table(v) and k != "query")
    for key in scalars:
        ordered[key] = data[key]
    if "query" in data:
        ordered["query"] = data["query"]
    for key in sorted(k for k, v in data.items() if _is_table(v)):
        ordered[key] = data[key]
    document["rule"] = _drop_empty_defaults(rule, ordered)
    out: dict[str, Any] = {"metadata": document["metadata"], "rule": document["rule"]}
    for key in ("transform", "kmsdet"):
        if document.get(key) is not None:
            out[key] = document[key]
    return tomli_w.dumps(out, multiline_strings=True)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and bool(value) and
                                       all(isinstance(v, dict) for v in value))


def _drop_empty_defaults(rule: Rule, data: dict[str, Any]) -> dict[str, Any]:
    """Drop list fields the model defaulted (e.g. technique = []) unless the rule set them."""
    explicit = {RuleData.model_fields[n].alias or n for n in rule.rule.model_fields_set}
    return {k: v for k, v in data.items() if k in explicit or v not in ([], {})}


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return text[:120] or "rule"


def existing_files(out_dir: Path) -> dict[str, Path]:
    """rule_id -> file for the rules already in ``out_dir`` (pull updates them in place)."""
    found: dict[str, Path] = {}
    if not out_dir.is_dir():
        return found
    for path in find_rule_files([out_dir]):
        result = load_file(path)
        rule_id = (result.data or {}).get("rule", {}).get("rule_id")
        if isinstance(rule_id, str):
            found[rule_id] = path
    return found


def pull(client: KibanaClient, out_dir: Path, *, tag: str | None = None,
         rule_id: str | None = None) -> PullResult:
    """Write the space's rules (all, by tag, or one rule_id) as TOML files under ``out_dir``."""
    if rule_id:
        one = client.get_rule(rule_id)
        if one is None:
            raise InputError(f"no rule with rule_id {rule_id} in space "
                             f"'{client.target.space}'", field="--rule-id")
        responses = [one]
    else:
        kql = f'alert.attributes.tags:"{_kql_escape(tag)}"' if tag else None
        responses = list(client.find_rules(kql_filter=kql))
    list_ids = [exception_list_id(str(r.get("rule_id"))) for r in responses
                if any(ref.get("list_id") == exception_list_id(str(r.get("rule_id")))
                       for ref in r.get("exceptions_list") or [])]
    items: dict[str, list[dict[str, Any]]] = {}
    for item in client.exception_items(list_ids) if list_ids else []:
        items.setdefault(str(item.get("list_id")), []).append(item)
    known = existing_files(out_dir)
    result = PullResult()
    used: set[Path] = set(known.values())
    for response in responses:
        rid = str(response.get("rule_id"))
        rule = rule_from_kibana(response, items.get(exception_list_id(rid)))
        text = rule_to_toml(rule)
        path = known.get(rid)
        if path is None:
            path = out_dir / f"{slug(rule.name)}.toml"
            if path in used:
                path = out_dir / f"{slug(rule.name)}_{rid[:8]}.toml"
        used.add(path)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            result.unchanged.append(path)
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror}", file=str(path),
                             field="--output") from exc
        result.written.append(path)
    return result


def _kql_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
