"""Field schema: the Elasticsearch mapping type of every field a rule may query.

KQL means different things on different mapping types (``term`` on keyword, ``match`` on text,
ranges on dates), so the DSL generator, the in-memory matcher and lint all need the same
answer to "what is this field?". This module is that answer; the data behind it (ECS plus the
aws.cloudtrail integration fields) lives in ``kmsdet/fields/data`` and is selected by a rule's
index patterns in ``kmsdet.fields.registry``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One mapped field.

    ``type`` is the Elasticsearch mapping type (keyword, constant_keyword, wildcard, text,
    match_only_text, ip, date, date_nanos, long, integer, short, byte, double, float,
    half_float, scaled_float, unsigned_long, boolean, flattened, geo_point, object, nested).
    ``parent`` names the field a multi-field belongs to (``user.name`` for ``user.name.text``).
    ``value`` is a constant_keyword's fixed value when the mapping sets one.
    """

    name: str
    type: str
    ignore_above: int | None = None
    value: str | None = None
    parent: str | None = None
    index: bool = True
    doc_values: bool = True


class FieldSchema:
    """A set of mapped fields with exact lookup, flattened-subkey lookup and pattern expansion."""

    def __init__(
        self,
        fields: Mapping[str, FieldInfo],
        source: str = "custom",
        *,
        object_types: Mapping[str, str] | None = None,
        raw_names: Mapping[str, str] | None = None,
        complete: bool = True,
    ) -> None:
        """``object_types`` maps an ``object`` field whose sub-keys are mapped dynamically to the
        type they get (ECS ``labels`` -> keyword); ``raw_names`` maps names users are likely to
        type by mistake (raw CloudTrail names) to the indexed name, for did-you-mean hints
        (``requestParameters.*`` -> ``aws.cloudtrail.flattened.request_parameters.*``);
        ``complete`` says the schema describes every field the searched indices can hold, so
        an unknown field is a mistake rather than possibly a custom field.
        """
        self._fields = dict(fields)
        self.source = source
        self.complete = complete
        self._object_types = dict(object_types or {})
        self._raw_names = dict(raw_names or {})
        self._flattened_roots = sorted(
            (n for n, f in self._fields.items() if f.type == "flattened"), key=len, reverse=True)
        self._object_roots: list[str] | None = None
        self._parents: frozenset[str] | None = None
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._suggestions: dict[str, list[str]] = {}
        self._children: dict[str, set[str]] | None = None

    @classmethod
    def from_types(cls, types: Mapping[str, str], source: str = "custom") -> FieldSchema:
        """A schema from ``{name: type}``; handy in tests and for user-supplied overrides."""
        return cls({n: FieldInfo(n, t) for n, t in types.items()}, source)

    def get(self, name: str) -> FieldInfo | None:
        """The field mapped exactly under ``name`` (multi-fields included), else None."""
        return self._fields.get(name)

    def flattened_root(self, name: str) -> FieldInfo | None:
        """The flattened field that ``name`` is a sub-key of (``root.a.b`` -> ``root``)."""
        for root in self._flattened_roots:
            if name.startswith(root + "."):
                return self._fields[root]
        return None

    def expand(self, pattern: str) -> list[str]:
        """Field names matching a KQL wildcard field name (``aws.cloudtrail.*``), sorted.

        Only ``*`` is a wildcard, as in Kibana: ``?`` and ``[`` are ordinary characters there.
        """
        compiled = self._patterns.get(pattern)
        if compiled is None:
            compiled = re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.S)
            self._patterns[pattern] = compiled
        return sorted(n for n in self._fields if compiled.fullmatch(n))

    def object_root(self, name: str) -> FieldInfo | None:
        """The free-form ``object`` field ``name`` lies under (``labels.env`` -> ``labels``).

        Free-form means the schema lists no sub-field for it: such objects take arbitrary
        sub-keys (dynamic mapping), so a sub-key is not a typo. An object whose sub-fields are
        listed (``threat.enrichments.indicator``) is structure, and a name under it that is
        not listed is unknown.
        """
        if self._object_roots is None:
            self._object_roots = sorted(
                (n for n, f in self._fields.items()
                 if f.type == "object" and not self.has_children(n)),
                key=len, reverse=True)
        for root in self._object_roots:
            if name.startswith(root + "."):
                return self._fields[root]
        return None

    def object_type(self, name: str) -> str | None:
        """The mapping type the sub-keys of object field ``name`` get, when the schema says."""
        return self._object_types.get(name)

    def has_children(self, name: str) -> bool:
        """True when fields are mapped below ``name`` (``user`` for ``user.name``).

        Such a name is an object in Elasticsearch even when no mapping entry names it.
        """
        if self._parents is None:
            parents: set[str] = set()
            for field_name in self._fields:
                cut = field_name.rfind(".")
                while cut > 0:
                    prefix = field_name[:cut]
                    if prefix in parents:
                        break
                    parents.add(prefix)
                    cut = field_name.rfind(".", 0, cut)
            self._parents = frozenset(parents)
        return name in self._parents

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Likely intended field names for an unknown ``name``, best first.

        A known alias (a raw CloudTrail name) comes first, then close spellings. Spellings are
        corrected one dotted segment at a time against the names that exist at that level,
        which costs microseconds; only when that finds nothing is the whole name compared with
        every field (milliseconds), so linting thousands of rules with typos stays fast.
        """
        cached = self._suggestions.get(name)
        if cached is not None:
            return cached[:limit]
        found: list[str] = []
        alias = self._raw_names.get(name)
        if alias is None:
            for raw, target in self._raw_names.items():
                if raw.endswith(".*") and name.startswith(raw[:-1]):
                    alias = target[:-1] + name[len(raw) - 1:]
                    break
        if alias is not None:
            found.append(alias)
        spelled = self._suggest_by_segment(name) or difflib.get_close_matches(
            name, self._fields.keys(), n=3, cutoff=0.75)
        found.extend(c for c in spelled if c not in found)
        self._suggestions[name] = found
        return found[:limit]

    def _suggest_by_segment(self, name: str) -> list[str]:
        if self._children is None:
            children: dict[str, set[str]] = {}
            for field_name in self._fields:
                parent = ""
                for segment in field_name.split("."):
                    children.setdefault(parent, set()).add(segment)
                    parent = f"{parent}.{segment}" if parent else segment
            self._children = children
        paths = [""]
        segments = name.split(".")
        for index, segment in enumerate(segments):
            step: list[str] = []
            for path in paths:
                kids = self._children.get(path, set())
                picks = [segment] if segment in kids else (
                    [k for k in kids if k.lower() == segment.lower()]
                    or difflib.get_close_matches(segment, kids, n=2, cutoff=0.6))
                if not picks and path in self._fields and self._fields[path].type in (
                        "flattened", "object"):
                    step.append(".".join([path, *segments[index:]]))  # free-form sub-keys
                step.extend(f"{path}.{p}" if path else p for p in picks)
            paths = step[:3]
            if not paths:
                return []
        return [p for p in paths if p != name and (
            p in self._fields or self.flattened_root(p) or self.object_root(p))]

    def raw_names(self) -> Mapping[str, str]:
        """The alias table behind ``suggest`` (raw source name -> indexed name)."""
        return self._raw_names

    def names(self) -> Iterable[str]:
        return self._fields.keys()

    def items(self) -> Iterable[tuple[str, FieldInfo]]:
        return self._fields.items()

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __len__(self) -> int:
        return len(self._fields)
