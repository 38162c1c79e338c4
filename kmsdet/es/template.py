"""kmsdet's own index template for the CloudTrail data stream, built from the field schema.

On a real stack with Fleet's AWS integration the integration's templates already define
``logs-aws.cloudtrail-*`` and kmsdet leaves them alone. Everywhere else (a bare cluster, the
minimal test distribution) kmsdet installs a template with the same mappings, so that rules
see the field types they will see in production. Some of those types live in optional modules
(constant_keyword and wildcard in x-pack, match_only_text and scaled_float in mapper-extras);
the cluster is asked which ones it has, and each missing one is replaced by its nearest core
type with a warning, never silently: a query may behave differently on the substitute
(``wildcard`` on a keyword is case-sensitive in the same way, but ``constant_keyword`` loses
its fixed value).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from kmsdet.backends.base import RUN_ID_FIELD
from kmsdet.errors import UsageError
from kmsdet.fields.schema import FieldInfo, FieldSchema

INTEGRATION_TEMPLATE = "logs-aws.cloudtrail"
TEMPLATE_NAME = "kmsdet-logs-aws.cloudtrail"
INDEX_PATTERN = "logs-aws.cloudtrail-*"
# Above the stack's built-in logs-*-* (100), below Fleet's integration templates (200).
PRIORITY = 150

#: Types that need an optional module, and the core type each degrades to without it.
DEGRADED_TYPES: Mapping[str, str] = {
    "constant_keyword": "keyword",
    "wildcard": "keyword",
    "match_only_text": "text",
    "scaled_float": "double",
    "unsigned_long": "long",
    "version": "keyword",
}
_CONTAINERS = frozenset({"object", "nested"})
_NO_DOC_VALUES_PARAM = frozenset({"text", "match_only_text", "constant_keyword", "flattened"})
_NO_INDEX_PARAM = frozenset({"match_only_text", "constant_keyword"})
_NAMESPACE = re.compile(r"^[a-z0-9_]{1,100}$")

Warn = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Degradation:
    """One field mapped with a core type because the cluster lacks the integration's type."""

    field: str
    wanted: str
    used: str


@dataclass
class TemplatePlan:
    """The template kmsdet installs, and which fields it had to map with substitute types."""

    name: str
    body: dict[str, Any]
    degradations: list[Degradation] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """One line per missing type, naming the fields it affects."""
        by_type: dict[tuple[str, str], list[str]] = {}
        for d in self.degradations:
            by_type.setdefault((d.wanted, d.used), []).append(d.field)
        lines = []
        for (wanted, used), fields in sorted(by_type.items()):
            shown = ", ".join(fields[:4]) + (f" and {len(fields) - 4} more" if len(fields) > 4
                                             else "")
            lines.append(f"this Elasticsearch has no '{wanted}' field type: mapping "
                         f"{len(fields)} field(s) as '{used}' instead ({shown})")
        return lines


def data_stream_name(namespace: str) -> str:
    """``logs-aws.cloudtrail-<namespace>``, after checking the namespace is a legal one."""
    if not _NAMESPACE.match(namespace):
        raise UsageError(f"invalid data stream namespace {namespace!r}", field="--namespace",
                         hint="lowercase letters, digits and '_' only (no '-')")
    return f"logs-aws.cloudtrail-{namespace}"


def supported_types(client: Elasticsearch, types: Iterable[str]) -> dict[str, bool]:
    """Which of ``types`` the cluster can map, asked with a simulated template (nothing made)."""
    answer: dict[str, bool] = {}
    for mapping_type in sorted(set(types)):
        probe: dict[str, Any] = {"type": mapping_type}
        if mapping_type == "scaled_float":
            probe["scaling_factor"] = 1000
        try:
            client.indices.simulate_template(
                index_patterns=["kmsdet-type-probe-*"],
                template={"mappings": {"properties": {"probe": probe}}},
            )
        except BadRequestError:
            answer[mapping_type] = False
        else:
            answer[mapping_type] = True
    return answer


def build_mappings(schema: FieldSchema, supported: Collection[str] | Callable[[str], bool],
                   ) -> tuple[dict[str, Any], list[Degradation]]:
    """Index mappings for every field of ``schema``, plus the fields given substitute types.

    ``supported`` says which optional types the cluster has (a set of names or a predicate);
    any other type in :data:`DEGRADED_TYPES` is replaced by its core type. Usable for any
    index, e.g. a scratch index whose mappings must equal a test's schema.
    """
    has = supported if callable(supported) else (lambda t: t in supported)
    degradations: list[Degradation] = []

    def usable(field_name: str, wanted: str) -> str:
        if wanted in DEGRADED_TYPES and not has(wanted):
            used = DEGRADED_TYPES[wanted]
            degradations.append(Degradation(field_name, wanted, used))
            return used
        return wanted

    properties = _properties(schema, usable)
    _ensure(properties, "@timestamp", {"type": "date"})
    dynamic = [
        {f"{root}_subkeys": {"path_match": f"{root}.*",
                             "mapping": _leaf(FieldInfo(f"{root}.*", kind),
                                              usable(f"{root}.*", kind))}}
        for root in sorted(n for n, i in schema.items() if i.type == "object")
        if (kind := schema.object_type(root)) is not None
    ]
    # Like ecs@mappings: a string field the schema does not know is a keyword, not text.
    dynamic.append({"strings_as_keyword": {"match_mapping_type": "string",
                                           "mapping": {"type": "keyword",
                                                       "ignore_above": 1024}}})
    return {"dynamic_templates": dynamic, "properties": properties}, degradations


def build_template(schema: FieldSchema, supported: Collection[str] | Callable[[str], bool],
                   *, name: str = TEMPLATE_NAME) -> TemplatePlan:
    """The composable template body for ``logs-aws.cloudtrail-*`` (a data stream), with the
    run id field kmsdet's backends filter on mapped as a keyword."""
    mappings, degradations = build_mappings(schema, supported)
    _ensure(mappings["properties"], RUN_ID_FIELD, {"type": "keyword"})
    body: dict[str, Any] = {
        "index_patterns": [INDEX_PATTERN],
        "data_stream": {},
        "priority": PRIORITY,
        "template": {
            "settings": {
                "index.number_of_shards": 1,
                "index.auto_expand_replicas": "0-1",
                # The whole ECS schema is mapped up front (Fleet maps it lazily instead).
                "index.mapping.total_fields.limit": 10000,
            },
            "mappings": mappings,
        },
        "_meta": {"managed_by": "kmsdet", "schema": schema.source,
                  "degraded": {d.field: d.used for d in degradations}},
    }
    return TemplatePlan(name=name, body=body, degradations=degradations)


def integration_installed(client: Elasticsearch) -> bool:
    """True when Fleet's AWS integration has put its CloudTrail template in the cluster."""
    return bool(client.indices.exists_index_template(name=INTEGRATION_TEMPLATE))


def ensure_template(client: Elasticsearch, schema: FieldSchema, *,
                    warn: Warn | None = None) -> TemplatePlan | None:
    """Install (or update) kmsdet's template unless the integration's is there; warn on
    each degraded type. Returns None when the integration's templates are used."""
    if integration_installed(client):
        return None
    optional = {i.type for _, i in schema.items() if i.type in DEGRADED_TYPES}
    optional.update(t for n, i in schema.items() if i.type == "object"
                    and (t := schema.object_type(n)) in DEGRADED_TYPES)
    found = supported_types(client, optional)
    plan = build_template(schema, {t for t, ok in found.items() if ok})
    for line in plan.warnings():
        (warn or log.warning)(line)
    client.indices.put_index_template(name=plan.name, **plan.body)
    return plan


# --------------------------------------------------------------------------- mapping tree

def _properties(schema: FieldSchema, usable: Callable[[str, str], str]) -> dict[str, Any]:
    """Nested ``properties`` for every field; multi-fields go under their parent's ``fields``."""
    root: dict[str, Any] = {}
    infos = sorted(schema.items(), key=lambda item: item[0])
    for name, info in infos:
        if info.parent is not None:
            continue
        if info.type in _CONTAINERS:
            _container(root, name, info.type)
            continue
        mapping = _leaf(info, usable(name, info.type))
        if not _place(root, name, mapping):
            log.debug("skipping %s: it clashes with another field's mapping", name)
    for name, info in infos:
        if info.parent is None:
            continue
        parent = _find(root, info.parent)
        if parent is None or parent.get("type") in _CONTAINERS:
            continue
        sub = name[len(info.parent) + 1:]
        parent.setdefault("fields", {})[sub] = _leaf(info, usable(name, info.type))
    return root


def _leaf(info: FieldInfo, used: str) -> dict[str, Any]:
    mapping: dict[str, Any] = {"type": used}
    if used == "keyword" and info.ignore_above:
        mapping["ignore_above"] = info.ignore_above
    if used == "constant_keyword" and info.value is not None:
        mapping["value"] = info.value
    if used == "scaled_float":
        mapping["scaling_factor"] = 1000
    if not info.index and used not in _NO_INDEX_PARAM:
        mapping["index"] = False
    if not info.doc_values and used not in _NO_DOC_VALUES_PARAM:
        mapping["doc_values"] = False
    return mapping


def _container(root: dict[str, Any], name: str, kind: str) -> None:
    node = _walk(root, name.split("."), create=True)
    if node is None:
        return
    if kind == "nested":
        node["type"] = "nested"
    node.setdefault("properties", {})


def _place(root: dict[str, Any], name: str, mapping: dict[str, Any]) -> bool:
    parts = name.split(".")
    parent = _walk(root, parts[:-1], create=True)
    if parent is None:
        return False
    props = parent.setdefault("properties", {}) if parent is not root else root
    existing = props.get(parts[-1])
    if existing is not None and "properties" in existing:
        return False  # an object already lives here
    props[parts[-1]] = mapping
    return True


def _walk(root: dict[str, Any], parts: list[str], *, create: bool) -> dict[str, Any] | None:
    """The mapping node at ``parts`` (``root`` for none), creating objects on the way."""
    node = root
    props = root
    for part in parts:
        child = props.get(part)
        if child is None:
            if not create:
                return None
            child = props[part] = {"properties": {}}
        elif "properties" not in child:
            if child.get("type") not in (None, "object", "nested"):
                return None  # a leaf: cannot hold sub-fields
            child["properties"] = {}
        node = child
        props = child["properties"]
    return node


def _find(root: dict[str, Any], name: str) -> dict[str, Any] | None:
    node = _walk(root, name.split(".")[:-1], create=False)
    if node is None:
        return None
    props = node if node is root else node.get("properties", {})
    found = props.get(name.split(".")[-1])
    return found if isinstance(found, dict) else None


def _ensure(properties: dict[str, Any], name: str, mapping: dict[str, Any]) -> None:
    if _find(properties, name) is None:
        _place(properties, name, mapping)
