"""Which field schema applies to a rule: picked from the rule's index patterns.

A rule searches whatever its index patterns match, so the fields it may query are those mapped
in those indices. kmsdet knows two field sources (``kmsdet/fields/data``):

* ``ecs.json``: every ECS field, generated from the npm package @elastic/ecs by
  ``scripts/gen_ecs_fields.mjs``; Fleet data streams get these through ``ecs@mappings``.
* ``aws_cloudtrail.json``: the aws.cloudtrail integration's own fields and the ECS fields it
  defines differently (``event.dataset`` is a constant_keyword there), maintained by hand from
  the integration's field definitions (see ``scripts/README.md``).

Each index pattern falls in one of four groups:

===========  ==========================================  ===================================
group        patterns                                    fields
===========  ==========================================  ===================================
cloudtrail   only ever match the CloudTrail data stream  ECS + integration (integration
             (``logs-aws.cloudtrail-*``, ``...-prod``)    wins, constant values kept)
shared       also match it, among other indices          ECS + integration, where the two
             (``logs-*``, ``logs-aws*``, ``*``)           disagree the ECS definition wins
filebeat     ``filebeat-*``: Filebeat's aws module       ECS + the integration's non-ECS
             indexes CloudTrail there with the same      fields (``aws.cloudtrail.*``...)
             ``aws.cloudtrail.*`` names, not the data
             stream's constant_keyword fields
other        anything else                               ECS only
===========  ==========================================  ===================================

Integration data streams with a generated field table (``integrations.json``, written by
``scripts/gen_integration_fields.py`` from the integrations' field definitions, each package's
version recorded) add their fields to every pattern that may reach them (``logs-*`` included):
ECS keeps its definition where both define a field, unless every pattern lies inside such
streams (or the CloudTrail stream), where the stream's definitions hold (its constant
``event.dataset``, an ECS leaf it maps as an object). Such a table makes fields known and
typed, but never makes the schema complete: it is one package version, and a field another
version adds must not become an error. A field of an integration without a table is never
judged at all.

A rule's schema is the union over its patterns; a field defined differently in two groups
gets the definition that holds in both (ECS wins on a type clash, a constant's value is kept
only when every group agrees), so "nothing can match" checks never fire on data that one of
the searched indices could hold. The schema is ``complete`` (unknown fields are errors, not
warnings) only when every pattern is in the cloudtrail group. No index patterns means
Kibana's default security indices (``DEFAULT_SECURITY_INDICES``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from kmsdet.errors import EnvironmentProblem
from kmsdet.fields.schema import FieldInfo, FieldSchema

Group = Literal["cloudtrail", "shared", "filebeat", "other"]

#: Concrete index names the CloudTrail data stream writes (the stream and its backing indices).
CLOUDTRAIL_INDEX_GLOBS: tuple[str, ...] = ("logs-aws.cloudtrail-*", ".ds-logs-aws.cloudtrail-*")
FILEBEAT_INDEX_GLOBS: tuple[str, ...] = ("filebeat-*", ".ds-filebeat-*")
#: Kibana's ``securitySolution:defaultIndex``, used by rules that name no index.
DEFAULT_SECURITY_INDICES: tuple[str, ...] = (
    "apm-*-transaction*", "auditbeat-*", "endgame-*", "filebeat-*", "logs-*", "packetbeat-*",
    "traces-apm*", "winlogbeat-*", "-*elastic-cloud-logs-*",
)

_FIELD_KEYS = frozenset(f.name for f in dataclasses.fields(FieldInfo)) - {"name"}


@dataclass(frozen=True)
class _Source:
    """One data file, parsed once: FieldInfo per name plus the raw attributes for merging."""

    meta: Mapping[str, Any]
    raw: Mapping[str, Mapping[str, Any]]
    fields: Mapping[str, FieldInfo]
    object_types: Mapping[str, str]
    raw_names: Mapping[str, str]


def _read(filename: str) -> dict[str, Any]:
    try:
        text = resources.files("kmsdet.fields.data").joinpath(filename).read_text("utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(
            f"cannot read the bundled field table {filename}: {exc}",
            file=f"kmsdet/fields/data/{filename}",
            hint="reinstall kmsdet; the package data is missing or damaged",
        ) from exc
    return data


def _build(data: Mapping[str, Any]) -> _Source:
    raw: dict[str, dict[str, Any]] = data["fields"]
    fields: dict[str, FieldInfo] = {}
    object_types: dict[str, str] = {}
    for name, attrs in raw.items():
        if "object_type" in attrs:
            object_types[name] = attrs["object_type"]
        fields[name] = FieldInfo(name, **{k: v for k, v in attrs.items() if k in _FIELD_KEYS})
    return _Source(data["source"], raw, fields, object_types, data.get("raw_names", {}))


@lru_cache(maxsize=1)
def _ecs() -> _Source:
    return _build(_read("ecs.json"))


@lru_cache(maxsize=1)
def _cloudtrail_file() -> _Source:
    return _build(_read("aws_cloudtrail.json"))


@lru_cache(maxsize=1)
def _cloudtrail_fields() -> dict[str, FieldInfo]:
    """ECS as the CloudTrail data stream maps it: the integration's definitions win.

    Where the integration gives the same type as ECS it usually states only the type, so the
    ECS mapping options (ignore_above, multi-fields) still apply.
    """
    ecs, ct = _ecs(), _cloudtrail_file()
    out = dict(ecs.fields)
    for name, attrs in ct.raw.items():
        base = ecs.raw.get(name)
        if base is not None and base.get("type") == attrs.get("type"):
            merged = {**base, **attrs}
            out[name] = FieldInfo(name, **{k: v for k, v in merged.items() if k in _FIELD_KEYS})
        else:
            out[name] = ct.fields[name]
    return out


@lru_cache(maxsize=1)
def _filebeat_fields() -> dict[str, FieldInfo]:
    ecs, ct = _ecs(), _cloudtrail_file()
    out = dict(ecs.fields)
    out.update((n, f) for n, f in ct.fields.items() if n not in ecs.fields)
    return out


@lru_cache(maxsize=4)
def _group_fields(group: Group) -> Mapping[str, FieldInfo]:
    if group == "cloudtrail":
        return _cloudtrail_fields()
    if group == "filebeat":
        return _filebeat_fields()
    if group == "shared":
        return _merge([_ecs().fields, _cloudtrail_fields()])
    return _ecs().fields


def _merge_one(name: str, infos: list[FieldInfo]) -> FieldInfo:
    """One definition that stays true for every index group that maps ``name``."""
    first = infos[0]
    if all(i == first for i in infos):
        return first
    if len({i.type for i in infos}) > 1:
        ecs = _ecs().fields.get(name)
        return ecs if ecs is not None else first
    values = {i.value for i in infos}
    limits = [i.ignore_above for i in infos]
    return dataclasses.replace(
        first,
        value=first.value if len(values) == 1 else None,
        ignore_above=None if None in limits else max(x for x in limits if x is not None),
        index=any(i.index for i in infos),
        doc_values=any(i.doc_values for i in infos),
    )


def _merge(groups: Sequence[Mapping[str, FieldInfo]]) -> dict[str, FieldInfo]:
    if len(groups) == 1:
        return dict(groups[0])
    names: dict[str, None] = {}
    for fields in groups:
        names.update(dict.fromkeys(fields))
    out: dict[str, FieldInfo] = {}
    for name in names:
        infos = [g[name] for g in groups if name in g]
        out[name] = infos[0] if len(infos) == 1 else _merge_one(name, infos)
    return out


def globs_overlap(a: str, b: str) -> bool:
    """True when some index name matches both ``*``-globs ``a`` and ``b``."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and meet(i + 1, j + 1)

    return meet(0, 0)


def _within(pattern: str, glob: str) -> bool:
    """True when every name ``pattern`` matches also matches ``glob`` (a ``prefix*`` glob)."""
    return pattern.split("*", 1)[0].startswith(glob[:-1])


def classify_pattern(pattern: str) -> Group:
    """The group of one index pattern; see the module docstring."""
    if any(_within(pattern, g) for g in CLOUDTRAIL_INDEX_GLOBS):
        return "cloudtrail"
    if any(globs_overlap(pattern, g) for g in CLOUDTRAIL_INDEX_GLOBS):
        return "shared"
    if any(globs_overlap(pattern, g) for g in FILEBEAT_INDEX_GLOBS):
        return "filebeat"
    return "other"


def _normalise(patterns: Sequence[str]) -> list[str]:
    """Split comma lists, drop exclusions (``-x*``) and remote-cluster prefixes (``c:x*``)."""
    out: list[str] = []
    for entry in patterns:
        for part in entry.split(","):
            part = part.strip()
            if not part or part.startswith("-"):
                continue
            out.append(part.rsplit(":", 1)[-1])
    return out


def schema_for_indices(patterns: Sequence[str]) -> FieldSchema:
    """The field schema for a rule searching ``patterns`` (built once per distinct tuple)."""
    return _schema_for(tuple(patterns))


@lru_cache(maxsize=256)
def _schema_for(patterns: tuple[str, ...]) -> FieldSchema:
    names = _normalise(patterns or DEFAULT_SECURITY_INDICES) or ["*"]
    groups = sorted({classify_pattern(p) for p in names}, key=_GROUP_ORDER.index)
    fields = _merge([_group_fields(g) for g in groups])
    has_ct = any(g != "other" for g in groups)
    streams = [s for s in _streams() if any(globs_overlap(p, s.index) for p in names)]
    # Only these streams (and CloudTrail) are searched: their definitions hold.
    only_streams = all(classify_pattern(p) == "cloudtrail"
                       or any(_within(p, s.index) for s in streams) for p in names)
    object_types = dict(_ecs().object_types)
    for stream in streams:
        object_types.update(stream.object_types)
        if only_streams:
            own = _over_ecs(stream)
            for name in _parents_of(own):  # an ECS leaf the stream maps as an object
                if name in fields and name not in own:
                    del fields[name]
            fields.update(own)
        else:  # other indices too: add what ECS lacks, keep ECS where both define a field
            fields.update((n, f) for n, f in stream.fields.items() if n not in fields)
    source = _describe(groups)
    if streams:
        source += "; " + ", ".join(f"{s.dataset} ({s.package} {s.version})" for s in streams)
    return FieldSchema(
        fields,
        source=source,
        object_types=object_types,
        raw_names=_cloudtrail_file().raw_names if has_ct else None,
        # Integration tables are snapshots of one package version; a field a newer version
        # adds must not become an error, so only the hand-kept CloudTrail list is complete.
        complete=groups == ["cloudtrail"],
    )


def _parents_of(fields: Mapping[str, FieldInfo]) -> set[str]:
    parents: set[str] = set()
    for name in fields:
        cut = name.rfind(".")
        while cut > 0:
            parents.add(name[:cut])
            cut = name.rfind(".", 0, cut)
    return parents


@dataclass(frozen=True)
class _Stream:
    """One integration data stream with a generated field table (integrations.json)."""

    package: str
    version: str
    dataset: str
    index: str
    fields: Mapping[str, FieldInfo]
    raw: Mapping[str, Mapping[str, Any]]
    object_types: Mapping[str, str]


@lru_cache(maxsize=1)
def _streams() -> tuple[_Stream, ...]:
    data = _read("integrations.json")
    out = []
    for package, pkg in data["packages"].items():
        for dataset, stream in pkg["data_streams"].items():
            built = _build({"source": {}, "fields": stream["fields"]})
            out.append(_Stream(package, pkg["version"], dataset, stream["index"], built.fields,
                               built.raw, built.object_types))
    return tuple(out)


def _over_ecs(stream: _Stream) -> dict[str, FieldInfo]:
    """The stream's fields, keeping ECS mapping options where it restates an ECS type."""
    ecs = _ecs()
    out: dict[str, FieldInfo] = {}
    for name, attrs in stream.raw.items():
        base = ecs.raw.get(name)
        if base is not None and base.get("type") == attrs.get("type"):
            merged = {**base, **attrs}
            out[name] = FieldInfo(name, **{k: v for k, v in merged.items() if k in _FIELD_KEYS})
        else:
            out[name] = stream.fields[name]
    return out


_GROUP_ORDER: list[Group] = ["cloudtrail", "shared", "filebeat", "other"]


def _describe(groups: Sequence[Group]) -> str:
    ecs = f"ECS {_ecs().meta['ecs_version']}"
    labels = {
        "cloudtrail": f"{ecs} + aws.cloudtrail data stream",
        "shared": f"{ecs} + aws.cloudtrail (shared indices)",
        "filebeat": f"{ecs} + aws.cloudtrail (filebeat)",
        "other": ecs,
    }
    return "; ".join(labels[g] for g in groups)


def schema_versions() -> dict[str, dict[str, Any]]:
    """Where the field data comes from, for reports (``{"ecs": {...}, "aws.cloudtrail": ...}``)."""
    return {
        "ecs": dict(_ecs().meta),
        "aws.cloudtrail": dict(_cloudtrail_file().meta),
        "integrations": {s.package: {"version": s.version} for s in _streams()},
    }
