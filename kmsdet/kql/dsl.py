"""KQL AST -> the Elasticsearch DSL Kibana's ``@kbn/es-query`` sends for it.

The detection engine runs a query rule with exactly the DSL ``buildEsQuery`` produces, and the
clause chosen for a value depends on the field's mapping type (``term`` on keyword, ``match``
on text, a ``range`` on dates), so this follows Kibana's ``is``/``range``/``exists``/``and``/
``or``/``not``/``nested`` functions one node at a time, with the configuration the detection
engine passes (``dateFormatTZ: 'Zulu'``, no ``caseInsensitive``, filters in ``filter``).

``schema`` plays the part of the data view the detection engine builds from field_caps: a
field it does not know keeps its name with an unknown type, as Kibana does; constant_keyword
and wildcard fields are of the keyword family there (``term``/``wildcard`` queries), and the
sub-fields of a nested group are untyped (the engine asks field_caps for the group's path).
``None`` is the data view with no fields (Kibana before 8.9
called ``buildEsQuery`` that way), where every value becomes ``match``/``match_phrase``/
``query_string``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.ast import And, Exists, Is, MatchAll, Nested, Node, Not, Or, Range, Value
from kmsdet.kql.errors import KqlTranslationError

__all__ = ["DETECTION_ENGINE_TZ", "build_es_query", "query_string_escape", "to_dsl"]

DSL = dict[str, Any]

# The ``dateFormatTZ`` the detection engine passes to buildEsQuery.
DETECTION_ENGINE_TZ = "Zulu"

_RANGE_KEYS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_DATE_TYPES = frozenset({"date", "date_nanos"})
# Mapping types a data view does not list as fields of their own.
_NOT_IN_DATA_VIEW = frozenset({"object", "nested"})
# Mapping types field_caps reports as the keyword family, as the data view then lists them.
KEYWORD_FAMILY = frozenset({"keyword", "constant_keyword", "wildcard"})
# query_string reserved characters, as Kibana's escapeQueryString escapes them.
_QS_RESERVED = re.compile(r'[+\-=&|><!(){}\[\]^"~*?:\\/]')
_EPOCH = re.compile(r"[0-9]+")
_JSON_LITERALS: dict[str, bool | None] = {"true": True, "false": False, "null": None}


def query_string_escape(piece: str) -> str:
    """Escape one literal piece of a wildcard value for a ``query_string``/``wildcard`` query."""
    return _QS_RESERVED.sub(r"\\\g<0>", piece)


def to_dsl(node: Node, schema: FieldSchema | None = None, *,
           date_format_tz: str | None = DETECTION_ENGINE_TZ) -> DSL:
    """The clause Kibana's ``toElasticsearchQuery`` builds for ``node``.

    Raises ``KqlTranslationError`` where Kibana throws (a nested field queried outside its
    nested group, or a field inside a group whose path is not its own).
    """
    return _Translator(schema, date_format_tz).node(node, None)


def build_es_query(node: Node, schema: FieldSchema | None = None, *,
                   date_format_tz: str | None = DETECTION_ENGINE_TZ) -> DSL:
    """What ``buildEsQuery`` returns for one KQL query and no filters (``match_all`` dropped)."""
    clause = to_dsl(node, schema, date_format_tz=date_format_tz)
    filters = [] if clause == {"match_all": {}} else [clause]
    return {"bool": {"must": [], "filter": filters, "should": [], "must_not": []}}


@dataclass(frozen=True, slots=True)
class _Field:
    """One data-view field a node's field name resolved to."""

    name: str
    type: str | None  # None: not in the data view (Kibana's type '')
    nested_path: str | None


def _json_value(value: Value) -> Any:
    """Kibana's literal value: unquoted true/false/null are JSON, numbers stay strings."""
    if value.wildcard is not None:
        return "*".join(value.wildcard)
    if not value.quoted and value.text in _JSON_LITERALS:
        return _JSON_LITERALS[value.text]
    return value.text


def _pattern(value: Value) -> str:
    assert value.wildcard is not None
    return "*".join(query_string_escape(piece) for piece in value.wildcard)


def _is_lone_wildcard(value: Value) -> bool:
    return value.wildcard == ("", "")


@lru_cache(maxsize=1024)
def _field_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)


class _Translator:
    def __init__(self, schema: FieldSchema | None, date_format_tz: str | None) -> None:
        self.schema = schema
        self.tz = date_format_tz

    def node(self, node: Node, nested: str | None) -> DSL:
        if isinstance(node, Is):
            if node.field is not None and _is_lone_wildcard(node.value):
                return self.exists(node.field, node.field_wildcard, nested)
            return self.is_(node, nested)
        if isinstance(node, Exists):
            return self.exists(node.field, node.field_wildcard, nested)
        if isinstance(node, Range):
            return self.range_(node, nested)
        if isinstance(node, And):
            return {"bool": {"filter": [self.node(item, nested) for item in node.items]}}
        if isinstance(node, Or):
            return {"bool": {"should": [self.node(item, nested) for item in node.items],
                             "minimum_should_match": 1}}
        if isinstance(node, Not):
            return {"bool": {"must_not": self.node(node.item, nested)}}
        if isinstance(node, Nested):
            path = f"{nested}.{node.path}" if nested else node.path
            return {"nested": {"path": path, "query": self.node(node.query, path),
                               "score_mode": "none"}}
        if isinstance(node, MatchAll):
            return {"match_all": {}}
        raise TypeError(f"not a KQL node: {node!r}")

    # -- field resolution (Kibana's getFullFieldNameNode + getFields) --------------------

    def nested_path_of(self, name: str) -> str | None:
        """The closest enclosing field of type ``nested`` (Kibana's subType.nested.path)."""
        assert self.schema is not None
        cut = name.rfind(".")
        while cut > 0:
            parent = self.schema.get(name[:cut])
            if parent is not None and parent.type == "nested":
                return name[:cut]
            cut = name.rfind(".", 0, cut)
        return None

    def fields(self, name: str, wildcard: bool, nested: str | None) -> list[_Field]:
        full = f"{nested}.{name}" if nested else name
        schema = self.schema
        found: list[_Field] = []
        # The detection engine loads field types for the names the query mentions; inside a
        # nested group that is the group's path alone, so its sub-fields stay untyped.
        if schema is not None and nested is None:
            if wildcard:
                regex = _field_regex(full)
                for candidate in sorted(schema.names()):
                    info = schema.get(candidate)
                    if (info is not None and info.type not in _NOT_IN_DATA_VIEW
                            and regex.fullmatch(candidate)):
                        found.append(_Field(candidate, info.type, self.nested_path_of(candidate)))
            else:
                info = schema.get(full)
                if info is not None and info.type not in _NOT_IN_DATA_VIEW:
                    found.append(_Field(full, info.type, self.nested_path_of(full)))
            if not (wildcard and nested is None):
                self.check_nesting(found, nested)
        return found or [_Field(full, None, None)]

    @staticmethod
    def check_nesting(found: list[_Field], nested: str | None) -> None:
        errors: list[str] = []
        for f in found:
            if nested and not f.nested_path:
                errors.append(f'{f.name} is not a nested field but is in nested group "{nested}" '
                              "in the KQL expression.")
            elif f.nested_path and not nested:
                errors.append(f"{f.name} is a nested field, but is not in a nested group in the "
                              "KQL expression.")
            elif f.nested_path != nested:
                errors.append(f"Nested field {f.name} is being queried with the incorrect nested "
                              f"path. The correct path is {f.nested_path}.")
        if errors:
            raise KqlTranslationError(
                "\n".join(errors), field=found[0].name,
                hint="query fields of a nested mapping inside 'path: { ... }' with their own path")

    def wrap(self, clause: DSL, field: _Field, wildcard: bool, nested: str | None) -> DSL:
        """Kibana adds a nested query only for wildcard field names that reach nested fields."""
        if not wildcard or field.nested_path is None or nested:
            return clause
        return {"nested": {"path": field.nested_path, "query": clause, "score_mode": "none"}}

    def tz_for(self, value: Any) -> dict[str, str]:
        if not self.tz or (isinstance(value, str) and _EPOCH.fullmatch(value)):
            return {}
        return {"time_zone": self.tz}

    # -- functions -----------------------------------------------------------------------

    def exists(self, field: str, wildcard: bool, nested: str | None) -> DSL:
        if wildcard and field == "*":
            return {"match_all": {}}
        clauses = [self.wrap({"exists": {"field": f.name}}, f, wildcard, nested)
                   for f in self.fields(field, wildcard, nested)]
        return {"bool": {"should": clauses, "minimum_should_match": 1}}

    def is_(self, node: Is, nested: str | None) -> DSL:
        value = node.value
        field = node.field
        if field is None:
            if nested is None:
                return self.free_text(value)
            field = "null"  # Kibana prefixes the null field name with the nested path
        clauses = []
        for f in self.fields(field, node.field_wildcard, nested):
            clauses.append(self.wrap(self.value_clause(f, value), f, node.field_wildcard, nested))
        return {"bool": {"should": clauses, "minimum_should_match": 1}}

    def free_text(self, value: Value) -> DSL:
        if value.wildcard is not None:
            return {"query_string": {"query": _pattern(value)}}
        return {"multi_match": {"type": "phrase" if value.quoted else "best_fields",
                                "query": _json_value(value), "lenient": True}}

    def value_clause(self, f: _Field, value: Value) -> DSL:
        keyword = f.type in KEYWORD_FAMILY
        if value.wildcard is not None:
            if keyword:
                return {"wildcard": {f.name: {"value": _pattern(value)}}}
            return {"query_string": {"fields": [f.name], "query": _pattern(value)}}
        literal = _json_value(value)
        if f.type in _DATE_TYPES:
            return {"range": {f.name: {"gte": literal, "lte": literal, **self.tz_for(literal)}}}
        if keyword:
            return {"term": {f.name: {"value": literal}}}
        return {"match_phrase" if value.quoted else "match": {f.name: literal}}

    def range_(self, node: Range, nested: str | None) -> DSL:
        literal = _json_value(node.value)
        params = {_RANGE_KEYS[node.op]: literal}
        clauses = []
        for f in self.fields(node.field, node.field_wildcard, nested):
            body = {**params, **self.tz_for(literal)} if f.type in _DATE_TYPES else dict(params)
            clauses.append(self.wrap({"range": {f.name: body}}, f, node.field_wildcard, nested))
        return {"bool": {"should": clauses, "minimum_should_match": 1}}
