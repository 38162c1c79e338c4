"""Decide in memory whether a document matches a KQL query, exactly as Elasticsearch would.

The embedded backend must raise the same alerts as a real cluster, so a query is not evaluated
"the obvious way": each clause is first translated the way Kibana translates it for the field's
mapping type (``term``/``wildcard`` on keyword, ``match``/``match_phrase``/``query_string`` on
everything else, ``range`` for ``is`` on dates; see reference/kql.md section A), and the
document side is converted the way Elasticsearch indexes it (keyword strings and ignore_above,
standard-analyzer tokens, numbers at the field's precision, IPv4-mapped addresses, epoch
instants, flattened leaves). The query is compiled once into closures over precomputed field
accessors, so matching a document never walks the AST.

Document shape: nested objects, dotted keys (``{"event.action": ...}``) or any mix of the two,
with arrays at any level. Arrays of objects are flattened as Elasticsearch does for ``object``
mappings; only a ``path: { ... }`` query keeps array elements apart. ``null`` and ``[]`` are
missing values.

Decisions worth knowing (each mirrors Elasticsearch unless stated):

* Fields the schema does not know (and every field when ``schema`` is None) are treated as
  Elasticsearch's default dynamic mapping would have mapped the document's value, value by
  value: strings -> ``text`` with a ``.keyword`` sub-field (ignore_above 256), or ``keyword``
  (ignore_above 1024) with ``dynamic="keyword"`` (what the ``ecs@mappings`` template of
  ``logs-*-*`` data streams does); strings in ``strict_date_optional_time`` form -> ``date``
  (date detection); integers -> ``long``; other numbers -> ``float``; booleans -> ``boolean``.
  Kibana then queries the field as that type. Conversion errors on such values mean "no
  match" rather than a failed search.
* Type errors Elasticsearch would raise for the whole search (``source.ip: foo``, a wildcard on
  a number, an ``is`` on geo_point, a nested query on a non-nested path) raise
  ``KqlTypeError`` at compile time: the rule would fail in Kibana, it must not silently pass.
* ``is`` on a date is ``range gte/lte`` with Elasticsearch's rounding: missing time components
  of the upper bound are filled with 23:59:59.999, so ``@timestamp: 2024-01-01`` covers the
  whole day; ``now``-based date math is evaluated against the injectable ``now`` (UTC, the
  detection engine's ``Zulu`` time zone).
* ``constant_keyword`` with a mapped ``value`` matches (and "exists") for every document,
  whether or not the document carries the field; without a mapped value the document's own
  value stands in for the index's first value.
* Free text (no field) is a ``multi_match`` over ``index.query.default_field: *`` with
  ``lenient: true``: it matches when any field of the document (multi-fields included, like
  ``user.name.text``) matches the value with its own type's semantics; a lone ``*`` matches all.
* ``query_string`` (a wildcard value on a non-keyword field) splits the value on whitespace into
  terms joined by OR; wildcard terms on text are lowercased and must match one token; its
  uppercase AND/OR/NOT operators (only reachable through escaped KQL keywords) are not emulated.
* A wildcard field name (``aws.*: x``) expands over the schema; a field whose type rejects the
  value is skipped instead of failing the search.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from kmsdet.errors import InputError
from kmsdet.fields.schema import FieldInfo, FieldSchema
from kmsdet.kql.analysis import analyze
from kmsdet.kql.ast import And, Exists, Is, MatchAll, Nested, Node, Not, Or, Range, Span, Value
from kmsdet.kql.dsl import KEYWORD_FAMILY
from kmsdet.kql.values import (
    DATE_TYPES,
    NANOS_PER_MILLI,
    NUMERIC_TYPES,
    CoercionError,
    datetime_to_nanos,
    doc_bool,
    doc_date_nanos,
    doc_ip,
    doc_number,
    keyword_string,
    query_bool,
    query_ip,
    query_ip_or_cidr,
    query_number,
    resolve_date_nanos,
)

Matcher = Callable[[Mapping[str, Any]], bool]
Dynamic = Literal["text", "keyword"]
Test = Callable[[tuple], bool]

KEYWORD_LIKE = frozenset({"keyword", "constant_keyword", "wildcard", "flattened"})
TEXT_TYPES = frozenset({"text", "match_only_text"})
_DYNAMIC_KEYWORD_IGNORE_ABOVE = {"text": 256, "keyword": 1024}
_NEVER: Test = lambda values: False  # noqa: E731


@dataclass
class KqlTypeError(InputError):
    """Elasticsearch would reject the query built for this clause, so the rule run would fail.

    ``span`` locates the clause in the query text so callers can map it to a file position.
    """

    span: Span | None = None


# =============================================================== document access


class _Doc:
    """One document being matched, with the per-field conversions already computed for it.

    The cache is shared by every clause (and, in a ``MatcherSet``, every rule), so a field is
    extracted and converted once per document however often queries mention it.
    """

    __slots__ = ("source", "cache")

    def __init__(self, source: Any) -> None:
        self.source = source
        self.cache: dict[str, tuple] = {}


class FieldPath:
    """Reads one dotted field from a document however its name is split into keys."""

    __slots__ = ("name", "_steps", "_rest", "_n")

    def __init__(self, name: str) -> None:
        parts = name.split(".") if name else []
        self.name = name
        self._n = len(parts)
        self._steps = [
            tuple((j, ".".join(parts[i:j])) for j in range(i + 1, self._n + 1))
            for i in range(self._n)
        ]
        self._rest = [".".join(parts[i:]) + "." for i in range(self._n)]

    def values(self, source: Any) -> list[Any]:
        """Non-null values at exactly this path (arrays flattened; objects kept as dicts)."""
        out: list[Any] = []
        self._collect(source, 0, out)
        return out

    def _collect(self, obj: Any, i: int, out: list[Any]) -> None:
        kind = type(obj)  # exact type checks first: this is the matcher's hottest loop
        if kind is list:
            for item in obj:
                self._collect(item, i, out)
        elif i == self._n:
            if obj is not None:
                out.append(obj)
        elif kind is dict or isinstance(obj, Mapping):
            for j, key in self._steps[i]:
                if key in obj:
                    if j == self._n and type(obj[key]) is str:
                        out.append(obj[key])
                    else:
                        self._collect(obj[key], j, out)
        elif isinstance(obj, list):
            for item in obj:
                self._collect(item, i, out)

    def leaves(self, source: Any) -> list[Any]:
        """Every scalar at or below this path (for objects, flattened roots and exists)."""
        out: list[Any] = []
        self._collect_below(source, 0, out)
        return out

    def _collect_below(self, obj: Any, i: int, out: list[Any]) -> None:
        if isinstance(obj, list):
            for item in obj:
                self._collect_below(item, i, out)
        elif i == self._n:
            _all_leaves(obj, out)
        elif isinstance(obj, Mapping):
            for j, key in self._steps[i]:
                if key in obj:
                    self._collect_below(obj[key], j, out)
            prefix = self._rest[i]
            for key, value in obj.items():
                if isinstance(key, str) and key.startswith(prefix):
                    _all_leaves(value, out)


def _all_leaves(obj: Any, out: list[Any]) -> None:
    if isinstance(obj, Mapping):
        for value in obj.values():
            _all_leaves(value, out)
    elif isinstance(obj, list):
        for value in obj:
            _all_leaves(value, out)
    elif obj is not None:
        out.append(obj)


def _flatten(obj: Any, prefix: str, out: list[tuple[str, Any]]) -> None:
    """(dotted path, scalar) pairs of a whole document, for free-text search."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(obj, list):
        for value in obj:
            _flatten(value, prefix, out)
    elif obj is not None:
        out.append((prefix, obj))


# =============================================================== per-type semantics


def _wildcard_regex(pieces: Sequence[str], lower: bool = False) -> re.Pattern[str]:
    body = ".*".join(re.escape(p.lower() if lower else p) for p in pieces)
    return re.compile(body, re.DOTALL)


def _qs_terms(value: Value) -> list[tuple[str, ...]]:
    """The query_string terms of a wildcard value: whitespace splits it, ``*`` stays a wildcard.

    Each term is given as its literal pieces between wildcards (one piece: no wildcard).
    """
    pieces = value.wildcard if value.wildcard is not None else (value.text,)
    terms: list[tuple[str, ...]] = []
    current: list[str] = [""]
    for index, piece in enumerate(pieces):
        if index:
            current.append("")  # a wildcard between two pieces
        for ch in piece:
            if ch.isspace():
                if current != [""]:
                    terms.append(tuple(current))
                current = [""]
            else:
                current[-1] += ch
    if current != [""]:
        terms.append(tuple(current))
    return terms


class _Family:
    """How one mapping type indexes values and answers each kind of query Kibana sends it.

    ``convert`` turns raw document values into the indexed form; each query method returns a
    test over that converted tuple, or raises ``CoercionError`` when Elasticsearch would fail.
    """

    type_name = "object"
    below = False  # read every leaf under the path (objects, flattened roots)

    def cache_id(self) -> str:
        return self.type_name

    def convert(self, raw: list[Any]) -> tuple:
        return tuple(raw)

    def exists(self) -> Test:
        return bool

    def term(self, text: str) -> Test:
        return _NEVER

    def phrase(self, text: str) -> Test:
        return self.term(text)

    def wildcard(self, pieces: Sequence[str]) -> Test:
        return self.query_string([tuple(pieces)])

    def query_string(self, terms: Sequence[tuple[str, ...]]) -> Test:
        tests = [self.exists() if t == ("", "") else self._qs_term(t) for t in terms]
        if len(tests) == 1:
            return tests[0]
        return lambda values: any(test(values) for test in tests)

    def _qs_term(self, term: tuple[str, ...]) -> Test:
        if len(term) > 1:
            raise CoercionError(
                f"a wildcard cannot be used on a {self.type_name} field",
                "Elasticsearch only runs wildcard queries on keyword and text fields",
            )
        return self.term(term[0])

    def range(self, op: str, text: str) -> Test:
        return _NEVER


class _ObjectFamily(_Family):
    """An object (or nested) field: only ``exists`` means something; values never match."""

    below = True


class _KeywordFamily(_Family):
    type_name = "keyword"

    def __init__(self, ignore_above: int | None = None, type_name: str = "keyword") -> None:
        self.ignore_above = ignore_above
        self.type_name = type_name

    def cache_id(self) -> str:
        return f"{self.type_name}:{self.ignore_above}"

    def convert(self, raw: list[Any]) -> tuple:
        limit = self.ignore_above
        out = []
        for value in raw:
            text = keyword_string(value)
            if text is not None and (limit is None or len(text) <= limit):
                out.append(text)
        return tuple(out)

    def term(self, text: str) -> Test:
        return lambda values: text in values

    def wildcard(self, pieces: Sequence[str]) -> Test:
        fullmatch = _wildcard_regex(pieces).fullmatch
        return lambda values: any(fullmatch(v) for v in values)

    def _qs_term(self, term: tuple[str, ...]) -> Test:
        return self.wildcard(term) if len(term) > 1 else self.term(term[0])

    def range(self, op: str, text: str) -> Test:
        return _compare(op, text)


class _FlattenedFamily(_KeywordFamily):
    """A flattened root (``below``: every leaf) or one of its keys (leaves exactly there)."""

    def __init__(self, below: bool) -> None:
        super().__init__(None, "flattened")
        self.below = below

    def cache_id(self) -> str:
        return f"flattened:{self.below}"

    def convert(self, raw: list[Any]) -> tuple:
        return tuple(t for t in map(keyword_string, raw) if t is not None)


class _KeyedFlattenedFamily(_Family):
    """One key of a flattened field, read as Elasticsearch indexes it: ``key\0value`` terms.

    Exact values, ranges and prefix patterns (a single trailing ``*``) are confined to the key.
    Any other wildcard pattern becomes an automaton over the keyed terms *without* the key
    prefix (seen on Elasticsearch 8.19): a leading ``*`` then also matches the values of other
    keys of the same object, and a pattern that starts with a literal never matches at all.
    The matcher reproduces that, so a rule relying on such a pattern fails here as it would in
    Kibana instead of passing falsely.
    """

    type_name = "flattened"

    def __init__(self, root: str, key: str) -> None:
        self.root = root  # relative to the current document (nested groups shift it)
        self.key = key

    def cache_id(self) -> str:
        return f"flattened-keys:{self.root}"  # every key of one root shares the conversion

    def convert(self, raw: list[Any]) -> tuple:
        """(key, value) of every leaf under the root, whether the document nests or dots it."""
        pairs: list[tuple[str, Any]] = []
        for item in raw:
            _flatten(item, "", pairs)
        start = self.root + "."
        cut = len(start)
        return tuple((name[cut:], text) for name, value in pairs
                     if name.startswith(start) and (text := keyword_string(value)) is not None)

    def exists(self) -> Test:
        key = self.key
        return lambda values: any(k == key for k, _ in values)

    def term(self, text: str) -> Test:
        wanted = (self.key, text)
        return lambda values: wanted in values

    def wildcard(self, pieces: Sequence[str]) -> Test:
        return self._qs_term(tuple(pieces))

    def _qs_term(self, term: tuple[str, ...]) -> Test:
        if len(term) == 1:
            return self.term(term[0])
        if len(term) == 2 and term[1] == "":
            key, prefix = self.key, term[0]
            return lambda values: any(k == key and v.startswith(prefix) for k, v in values)
        fullmatch = _wildcard_regex(term).fullmatch
        return lambda values: any(fullmatch(f"{k}\0{v}") for k, v in values)

    def range(self, op: str, text: str) -> Test:
        compare = _compare(op, text)
        key = self.key
        return lambda values: compare(tuple(v for k, v in values if k == key))


class _DynamicKeywordFamily(_KeywordFamily):
    """The ``.keyword`` sub-field dynamic mapping adds to a string field (never to dates)."""

    def cache_id(self) -> str:
        return f"dynamic-keyword:{self.ignore_above}"

    def convert(self, raw: list[Any]) -> tuple:
        strings = [v for v in raw if isinstance(v, str) and not _looks_like_date(v)]
        return super().convert(strings)


class _ConstantFamily(_KeywordFamily):
    def __init__(self, value: str | None) -> None:
        super().__init__(None, "constant_keyword")
        self.value = value

    def cache_id(self) -> str:
        return f"constant_keyword:{self.value!r}"

    def convert(self, raw: list[Any]) -> tuple:
        if self.value is not None:
            return (self.value,)
        return super().convert(raw[:1])


class _TextFamily(_Family):
    """Analysed text: one token tuple per value (phrases never span two array values)."""

    type_name = "text"

    def convert(self, raw: list[Any]) -> tuple:
        out = []
        for value in raw:
            text = keyword_string(value)
            if text is not None:
                out.append(analyze(text))
        return tuple(out)

    def term(self, text: str) -> Test:
        wanted = frozenset(analyze(text))
        if not wanted:
            return _NEVER  # zero_terms_query: none
        return lambda values: any(not wanted.isdisjoint(tokens) for tokens in values)

    def phrase(self, text: str) -> Test:
        wanted = analyze(text)
        if not wanted:
            return _NEVER
        size = len(wanted)
        if size == 1:
            return self.term(text)

        def test(values: tuple) -> bool:
            for tokens in values:
                for start in range(len(tokens) - size + 1):
                    if tokens[start:start + size] == wanted:
                        return True
            return False

        return test

    def _qs_term(self, term: tuple[str, ...]) -> Test:
        if len(term) == 1:
            return self.term(term[0])
        fullmatch = _wildcard_regex(term, lower=True).fullmatch
        return lambda values: any(fullmatch(t) for tokens in values for t in tokens)

    def range(self, op: str, text: str) -> Test:
        compare = _compare(op, text)
        return lambda values: any(compare(tokens) for tokens in values)


def _compare(op: str, bound: Any) -> Test:
    if op == "<":
        return lambda values: any(v < bound for v in values)
    if op == "<=":
        return lambda values: any(v <= bound for v in values)
    if op == ">":
        return lambda values: any(v > bound for v in values)
    return lambda values: any(v >= bound for v in values)


def _between(low: Any, high: Any) -> Test:
    return lambda values: any(low <= v <= high for v in values)


class _NumberFamily(_Family):
    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def convert(self, raw: list[Any]) -> tuple:
        type_name = self.type_name
        return tuple(n for n in (doc_number(v, type_name) for v in raw) if n is not None)

    def term(self, text: str) -> Test:
        number = query_number(text, self.type_name)
        return lambda values: number in values

    def range(self, op: str, text: str) -> Test:
        return _compare(op, query_number(text, self.type_name))


class _IpFamily(_Family):
    type_name = "ip"

    def convert(self, raw: list[Any]) -> tuple:
        return tuple(a for a in map(doc_ip, raw) if a is not None)

    def term(self, text: str) -> Test:
        low, high = query_ip_or_cidr(text)
        if low == high:
            return lambda values: low in values
        return _between(low, high)

    def range(self, op: str, text: str) -> Test:
        return _compare(op, query_ip(text))


class _BoolFamily(_Family):
    type_name = "boolean"

    def convert(self, raw: list[Any]) -> tuple:
        return tuple(b for b in map(doc_bool, raw) if b is not None)

    def term(self, text: str) -> Test:
        wanted = query_bool(text)
        return lambda values: wanted in values

    def range(self, op: str, text: str) -> Test:
        return _compare(op, query_bool(text))


class _DateFamily(_Family):
    """Dates as epoch nanos; ``date`` keeps millisecond resolution like its index does."""

    def __init__(self, type_name: str, now_nanos: int) -> None:
        self.type_name = type_name
        self.now = now_nanos
        self.millis = type_name == "date"

    def _res(self, nanos: int) -> int:
        return nanos - nanos % NANOS_PER_MILLI if self.millis else nanos

    def convert(self, raw: list[Any]) -> tuple:
        out = []
        for value in raw:
            nanos = doc_date_nanos(value)
            if nanos is not None:
                out.append(self._res(nanos))
        return tuple(out)

    def _bound(self, text: str, round_up: bool) -> int:
        return self._res(resolve_date_nanos(text, self.now, round_up))

    def term(self, text: str) -> Test:
        # Kibana sends range gte/lte for ``is``; a date's term query is the same range.
        return _between(self._bound(text, False), self._bound(text, True))

    def range(self, op: str, text: str) -> Test:
        step = 1 if not self.millis else NANOS_PER_MILLI
        if op == ">=":
            return _compare(">=", self._bound(text, False))
        if op == ">":
            return _compare(">=", self._bound(text, True) + step)
        if op == "<=":
            return _compare("<=", self._bound(text, True))
        return _compare("<=", self._bound(text, False) - step)


class _GeoFamily(_Family):
    type_name = "geo_point"

    def term(self, text: str) -> Test:
        raise CoercionError(
            "a geo_point field only supports exists queries (field: *)",
            "Elasticsearch rejects term, match and range queries on geo_point fields",
        )

    def range(self, op: str, text: str) -> Test:
        return self.term(text)


class _UnsearchableFamily(_Family):
    """index: false and doc_values: false: nothing can be searched (exists is false)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def exists(self) -> Test:
        return _NEVER

    def term(self, text: str) -> Test:
        raise CoercionError(
            "the field is not searchable (its mapping sets index: false and doc_values: false)",
            "query another field that carries the same value",
        )

    def range(self, op: str, text: str) -> Test:
        return self.term(text)

    def _qs_term(self, term: tuple[str, ...]) -> Test:
        return self.term("")


def _family_for(info: FieldInfo, now_nanos: int) -> _Family:
    type_name = info.type
    if not info.index and not info.doc_values:
        return _UnsearchableFamily(type_name)
    if type_name in ("keyword", "wildcard"):
        return _KeywordFamily(info.ignore_above, type_name)
    if type_name == "constant_keyword":
        return _ConstantFamily(info.value)
    if type_name == "flattened":
        return _FlattenedFamily(below=True)
    if type_name in TEXT_TYPES:
        return _TextFamily()
    if type_name in NUMERIC_TYPES:
        return _NumberFamily(type_name)
    if type_name in DATE_TYPES:
        return _DateFamily(type_name, now_nanos)
    if type_name == "ip":
        return _IpFamily()
    if type_name == "boolean":
        return _BoolFamily()
    if type_name == "geo_point":
        return _GeoFamily()
    return _ObjectFamily()


# =============================================================== clause translation


def _is_test(family: _Family, value: Value, kibana_type: str) -> Test:
    """The test for ``field: value``, following Kibana's choice of query for the field type."""
    if value.wildcard is not None:
        if kibana_type == "keyword":
            return family.wildcard(value.wildcard)
        return family.query_string(_qs_terms(value))
    if kibana_type in DATE_TYPES or kibana_type == "keyword":
        return family.term(value.text)
    return family.phrase(value.text) if value.quoted else family.term(value.text)


def _dynamic_type(raw: Any, policy: Dynamic) -> str:
    """The type Elasticsearch's dynamic mapping gives a field first seen with ``raw``."""
    if isinstance(raw, bool):
        return "boolean"
    if isinstance(raw, int):
        return "long"
    if isinstance(raw, float):
        return "float"
    if isinstance(raw, str):
        if not raw.isdigit() and _looks_like_date(raw):
            return "date"
        return policy
    return "object"


_DATE_DETECT = re.compile(r"^\d{4}-\d{2}(?:-\d{2}(?:T.*)?)?$")


def _looks_like_date(text: str) -> bool:
    if not _DATE_DETECT.match(text):
        return False
    return doc_date_nanos(text) is not None


@dataclass(frozen=True)
class _Target:
    """One concrete field a clause reads: where its values live and how they are typed."""

    name: str  # absolute field name as queried
    source: str  # path relative to the current document (the parent of a multi-field)
    family: _Family | None  # None: dynamically mapped, typed value by value
    kibana_type: str  # the type Kibana's data view reports ("" when unknown)
    kind: str  # "mapped", "flattened key", "dynamic keyword" or "dynamic"


# =============================================================== the compiler


class _Compiler:
    def __init__(self, schema: FieldSchema | None, now_nanos: int, dynamic: Dynamic,
                 prefix: str = "", lenient: bool = False) -> None:
        self.schema = schema
        self.now = now_nanos
        self.dynamic = dynamic
        self.prefix = prefix
        self.lenient = lenient
        self.paths: dict[str, FieldPath] = {}

    def scoped(self, path: str) -> _Compiler:
        inner = _Compiler(self.schema, self.now, self.dynamic, self.prefix + path + ".")
        inner.paths = self.paths
        return inner

    # ----------------------------------------------------------- field resolution

    def path(self, name: str) -> FieldPath:
        found = self.paths.get(name)
        if found is None:
            found = self.paths[name] = FieldPath(name)
        return found

    def _relative(self, absolute: str) -> str:
        return absolute[len(self.prefix):] if absolute.startswith(self.prefix) else absolute

    def targets(self, field: str, wildcard_name: bool) -> list[_Target]:
        absolute = self.prefix + field
        if wildcard_name:
            names = self.schema.expand(absolute) if self.schema is not None else []
            return [self.target(n) for n in names]
        return [self.target(absolute)]

    def target(self, absolute: str) -> _Target:
        schema = self.schema
        info = schema.get(absolute) if schema is not None else None
        if info is not None:
            source = self._relative(info.parent or absolute)
            family = _family_for(info, self.now)
            return _Target(absolute, source, family, self._kibana_type(info.type), "mapped")
        root = schema.flattened_root(absolute) if schema is not None else None
        if root is not None:
            family = _KeyedFlattenedFamily(self._relative(root.name), absolute[len(root.name) + 1:])
            return _Target(absolute, "", family, "", "flattened key")
        if absolute.endswith(".keyword") and self.dynamic == "text":
            parent = absolute[: -len(".keyword")]
            if schema is None or schema.get(parent) is None:
                family = _DynamicKeywordFamily(_DYNAMIC_KEYWORD_IGNORE_ABOVE["text"])
                return _Target(absolute, self._relative(parent), family, "keyword",
                               "dynamic keyword")
        return _Target(absolute, self._relative(absolute), None, "", "dynamic")

    def _kibana_type(self, type_name: str) -> str:
        """The type the detection engine's data view gives a field (see kmsdet.kql.dsl)."""
        if self.prefix:
            return ""  # a nested group's sub-fields are untyped there
        return "keyword" if type_name in KEYWORD_FAMILY else type_name

    # ----------------------------------------------------------- leaves

    def leaf(self, target: _Target, build: Callable[[_Family, str], Test],
             node: Node) -> Callable[[_Doc], bool]:
        """A clause over one target: extract + convert (cached per document), then test."""
        if target.family is None:
            return self._dynamic_leaf(target, build)
        family = target.family
        try:
            test = build(family, target.kibana_type)
        except CoercionError as exc:
            if self.lenient:
                return lambda d: False
            raise self._error(exc, node, target.name) from None
        key, read, convert = self.accessor(target, family)

        def leaf(d: _Doc) -> bool:
            cache = d.cache
            values = cache.get(key)
            if values is None:
                values = cache[key] = convert(read(d.source))
            return test(values)

        return leaf

    def accessor(self, target: _Target, family: _Family
                 ) -> tuple[str, Callable[[Any], list[Any]], Callable[[list[Any]], tuple]]:
        """(per-document cache key, raw reader, converter) of a typed target's values."""
        path = self.path(target.source)
        read = path.leaves if family.below else path.values
        return f"{family.cache_id()}|{family.below}|{target.source}", read, family.convert

    def _dynamic_leaf(self, target: _Target, build: Callable[[_Family, str], Test]
                      ) -> Callable[[_Doc], bool]:
        """A clause on a field no schema maps: type each value as dynamic mapping would."""
        path = self.path(target.source)
        policy = self.dynamic
        tests: dict[str, tuple[_Family, Test]] = {}

        def typed(type_name: str) -> tuple[_Family, Test]:
            if type_name not in tests:
                ignore_above = _DYNAMIC_KEYWORD_IGNORE_ABOVE["keyword"]
                info = FieldInfo(target.name, type_name,
                                 ignore_above=ignore_above if type_name == "keyword" else None)
                family = _family_for(info, self.now)
                try:
                    test = build(family, type_name)
                except CoercionError:
                    test = _NEVER
                tests[type_name] = (family, test)
            return tests[type_name]

        def leaf(d: _Doc) -> bool:
            raw = path.values(d.source)
            if not raw:
                return False
            groups: dict[str, list[Any]] = {}
            for value in raw:
                groups.setdefault(_dynamic_type(value, policy), []).append(value)
            for type_name, values in groups.items():
                if type_name == "object":
                    continue
                family, test = typed(type_name)
                if test(family.convert(values)):
                    return True
            return False

        return leaf

    def _error(self, exc: CoercionError, node: Node, field: str | None) -> KqlTypeError:
        # The field is rendered by KmsdetError.location(); the message need not repeat it.
        return KqlTypeError(exc.message, field=field, hint=exc.hint,
                            span=getattr(node, "span", None))

    # ----------------------------------------------------------- nodes

    def compile(self, node: Node) -> Callable[[_Doc], bool]:
        if isinstance(node, And):
            return _all([self.compile(item) for item in node.items])
        if isinstance(node, Or):
            return _any([self.compile(item) for item in node.items])
        if isinstance(node, Not):
            inner = self.compile(node.item)
            return lambda d: not inner(d)
        if isinstance(node, MatchAll):
            return lambda d: True
        if isinstance(node, Exists):
            return self.exists(node)
        if isinstance(node, Is):
            return self.is_(node)
        if isinstance(node, Range):
            return self.range(node)
        if isinstance(node, Nested):
            return self.nested(node)
        raise TypeError(f"not a KQL node: {node!r}")

    def exists(self, node: Exists) -> Callable[[_Doc], bool]:
        if node.field == "*":
            return lambda d: True
        if node.field_wildcard:
            targets = self.targets(node.field, True)
            if not targets:
                return self._exists_by_pattern(self.prefix + node.field)
        else:
            targets = self.targets(node.field, False)
        return _any([self._exists_leaf(t, node) for t in targets])

    def _exists_leaf(self, target: _Target, node: Node) -> Callable[[_Doc], bool]:
        if target.family is None:
            path = self.path(target.source)
            return lambda d: bool(path.leaves(d.source))
        return self.leaf(target, lambda family, _t: family.exists(), node)

    def _exists_by_pattern(self, pattern: str) -> Callable[[_Doc], bool]:
        def leaf(d: _Doc) -> bool:
            pairs: list[tuple[str, Any]] = []
            _flatten(d.source, "", pairs)
            return any(fnmatch.fnmatchcase(self.prefix + name, pattern) for name, _ in pairs)

        return leaf

    def is_(self, node: Is) -> Callable[[_Doc], bool]:
        value = node.value
        if node.field is None:
            return self.free_text(node)
        if value.wildcard == ("", ""):
            return self.exists(Exists(node.field, node.span, node.field_wildcard))
        if not value.quoted and value.text == "null" and value.wildcard is None:
            raise KqlTypeError(
                "an unquoted null is sent as JSON null, which Elasticsearch rejects",
                field=node.field, hint='quote it ("null") to match the text null',
                span=node.span)

        def build(family: _Family, kibana_type: str) -> Test:
            return _is_test(family, value, kibana_type)

        if node.field_wildcard:
            lenient = _Compiler(self.schema, self.now, self.dynamic, self.prefix, lenient=True)
            lenient.paths = self.paths
            targets = self.targets(node.field, True)
            return _any([lenient.leaf(t, build, node) for t in targets])
        target = self.target(self.prefix + node.field)
        return self.leaf(target, build, node)

    def range(self, node: Range) -> Callable[[_Doc], bool]:
        value = node.value
        if not value.quoted and value.text == "null":
            # An absent bound: the range is open, so any value of the field matches.
            return self.exists(Exists(node.field, node.span, node.field_wildcard))

        def build(family: _Family, kibana_type: str) -> Test:
            return family.range(node.op, value.text)

        compiler = self
        if node.field_wildcard:
            compiler = _Compiler(self.schema, self.now, self.dynamic, self.prefix, lenient=True)
            compiler.paths = self.paths
        targets = self.targets(node.field, node.field_wildcard)
        return _any([compiler.leaf(t, build, node) for t in targets])

    def nested(self, node: Nested) -> Callable[[_Doc], bool]:
        absolute = self.prefix + node.path
        if self.schema is not None:
            info = self.schema.get(absolute)
            if info is None or info.type != "nested":
                mapped = f"mapped as {info.type}" if info else "not mapped"
                raise KqlTypeError(
                    f"`{absolute}` is {mapped}, so Elasticsearch rejects a nested query on it",
                    field=absolute, span=node.span,
                    hint=f"write the conditions without `{node.path}: {{ ... }}`; they then may "
                         "match across different array elements")
        inner = self.scoped(node.path).compile(node.query)
        path = self.path(self._relative(absolute))

        def leaf(d: _Doc) -> bool:
            return any(inner(_Doc(element)) for element in path.values(d.source)
                       if isinstance(element, Mapping))

        return leaf

    # ----------------------------------------------------------- free text

    def free_text(self, node: Is) -> Callable[[_Doc], bool]:
        value = node.value
        if value.wildcard == ("", ""):
            return lambda d: True
        lenient = _Compiler(self.schema, self.now, self.dynamic, self.prefix, lenient=True)
        multi_fields = _multi_fields(self.schema)
        tests: dict[tuple[str, str], Test] = {}

        def build(family: _Family, kibana_type: str) -> Test:
            if value.wildcard is not None:
                return family.query_string(_qs_terms(value))
            return family.phrase(value.text) if value.quoted else family.term(value.text)

        def test_for(target: _Target) -> Test | None:
            """A test over raw values of the target; None for fields free text skips."""
            family = target.family
            key = (target.name, target.kind)
            if key not in tests:
                if family is None:
                    leaf = lenient._dynamic_leaf(target, build)
                    tests[key] = lambda raw: leaf(_Doc({target.source: list(raw)}))
                elif isinstance(family, (_GeoFamily, _UnsearchableFamily, _ObjectFamily)):
                    tests[key] = _NEVER
                else:
                    try:
                        test = build(family, target.kibana_type)
                    except CoercionError:
                        test = _NEVER
                    tests[key] = lambda raw, f=family, t=test: t(f.convert(list(raw)))
            return tests[key]

        if self._constant_matches(build):
            # A constant_keyword with a mapped value holds it in every document of the index.
            return lambda d: True

        def leaf(d: _Doc) -> bool:
            pairs: list[tuple[str, Any]] = []
            _flatten(d.source, "", pairs)
            by_field: dict[str, list[Any]] = {}
            for name, raw in pairs:
                by_field.setdefault(self.prefix + name, []).append(raw)
            for name, raws in by_field.items():
                for target in self._free_text_targets(name, multi_fields):
                    test = test_for(target)
                    if test is not None and test(raws):
                        return True
            return False

        return leaf

    def _constant_matches(self, build: Callable[[_Family, str], Test]) -> bool:
        """Whether a mapped constant_keyword value satisfies a free-text query."""
        for name in self.schema.names() if self.schema is not None else ():
            info = self.schema.get(name) if self.schema is not None else None
            if info is None or info.type != "constant_keyword" or info.value is None:
                continue
            try:
                if build(_ConstantFamily(info.value), "constant_keyword")((info.value,)):
                    return True
            except CoercionError:
                continue
        return False

    def _free_text_targets(self, name: str, multi_fields: Mapping[str, list[str]]
                           ) -> list[_Target]:
        schema = self.schema
        if schema is not None and schema.get(name) is None:
            owner = _typed_owner(schema, name)
            if owner is not None:
                if owner.type == "flattened":
                    return [_Target(owner.name, name, _FlattenedFamily(below=False), "",
                                    "flattened key")]
                return []  # geo_point {lat, lon} and the like
        targets = [self.target(name)]
        for sub in multi_fields.get(name, ()):
            targets.append(self.target(sub))
        if targets[0].family is None and self.dynamic == "text":
            targets.append(self.target(name + ".keyword"))
        return targets


def _typed_owner(schema: FieldSchema, name: str) -> FieldInfo | None:
    """A leaf-typed field (flattened, geo_point) that ``name`` lies inside."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        info = schema.get(".".join(parts[:i]))
        if info is not None and info.type in ("flattened", "geo_point"):
            return info
    return None


def _multi_fields(schema: FieldSchema | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if schema is None:
        return out
    for name in schema.names():
        info = schema.get(name)
        if info is not None and info.parent:
            out.setdefault(info.parent, []).append(name)
    return out


def _all(preds: list[Callable[[_Doc], bool]]) -> Callable[[_Doc], bool]:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda d: a(d) and b(d)
    if len(preds) == 3:
        a, b, c = preds
        return lambda d: a(d) and b(d) and c(d)
    return lambda d: all(p(d) for p in preds)


def _any(preds: list[Callable[[_Doc], bool]]) -> Callable[[_Doc], bool]:
    if not preds:
        return lambda d: False
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda d: a(d) or b(d)
    return lambda d: any(p(d) for p in preds)


def _now_nanos(now: datetime | None) -> int:
    return datetime_to_nanos(now if now is not None else datetime.now(timezone.utc))


# =============================================================== public API


class CompiledQuery:
    """A query compiled for one schema; call it with a document to get True/False."""

    def __init__(self, node: Node, predicate: Callable[[_Doc], bool],
                 compiler: _Compiler) -> None:
        self.node = node
        self._predicate = predicate
        self._compiler = compiler

    def __call__(self, doc: Mapping[str, Any]) -> bool:
        return self._predicate(_Doc(doc))

    def _match(self, d: _Doc) -> bool:
        return self._predicate(d)


def compile_query(node: Node, schema: FieldSchema | None = None, *,
                  now: datetime | None = None, dynamic: Dynamic = "text") -> CompiledQuery:
    """Compile ``node`` once; the result answers ``matcher(doc) -> bool`` for many documents.

    ``now`` anchors date math (``now-6m``); it defaults to the current time. ``dynamic`` says
    how fields missing from ``schema`` are mapped (see the module docstring). Raises
    ``KqlTypeError`` when Elasticsearch would reject the query Kibana builds, and
    ``KqlTranslationError`` when Kibana would refuse to build it.
    """
    if schema is not None:
        # Kibana itself refuses some queries (a nested field outside its ``path: { }`` group);
        # the DSL translator knows those rules, and the rule would fail before any search.
        from kmsdet.kql.dsl import to_dsl

        to_dsl(node, schema)
    compiler = _Compiler(schema, _now_nanos(now), dynamic)
    return CompiledQuery(node, compiler.compile(node), compiler)


# ----------------------------------------------------------------- many rules at once


@dataclass(frozen=True)
class _Requirement:
    """The query cannot match unless this keyword field holds one of ``values``."""

    key: str
    read: Callable[[Any], list[Any]]
    convert: Callable[[list[Any]], tuple]
    values: frozenset[str]


def _requirements(node: Node, compiler: _Compiler) -> list[_Requirement]:
    """Necessary exact-keyword conditions of ``node`` (conservative: may return none)."""
    if isinstance(node, Is):
        if node.field is None or node.field_wildcard or node.value.wildcard is not None:
            return []
        target = compiler.target(compiler.prefix + node.field)
        family = target.family
        if target.kibana_type != "keyword" or type(family) is not _KeywordFamily:
            return []
        key, read, convert = compiler.accessor(target, family)
        return [_Requirement(key, read, convert, frozenset((node.value.text,)))]
    if isinstance(node, And):
        return [r for item in node.items for r in _requirements(item, compiler)]
    if isinstance(node, Or):
        per_item = [_requirements(item, compiler) for item in node.items]
        if not per_item or any(not reqs for reqs in per_item):
            return []
        common = set.intersection(*({r.key for r in reqs} for reqs in per_item))
        merged = []
        for key in sorted(common):
            values: frozenset[str] = frozenset()
            first = None
            for reqs in per_item:
                # Any of the item's requirements on this key is necessary for the item.
                options = [r for r in reqs if r.key == key]
                best = min(options, key=lambda r: len(r.values))
                values |= best.values
                first = first or best
            assert first is not None
            merged.append(_Requirement(key, first.read, first.convert, values))
        return merged
    return []


class MatcherSet:
    """Many compiled queries evaluated together: which of them match a document?

    Each query is indexed by one necessary exact keyword condition (``event.action`` values,
    typically), so a document is only run through the queries it could possibly match, and
    field conversions are shared by every query through one per-document cache. The answer is
    always identical to calling each query on its own.
    """

    def __init__(self, queries: Sequence[CompiledQuery]) -> None:
        self.queries = list(queries)
        chosen: list[_Requirement | None] = []
        popularity: dict[tuple[str, str], int] = {}
        all_reqs = [_requirements(q.node, q._compiler) for q in self.queries]
        for reqs in all_reqs:
            for req in reqs:
                for value in req.values:
                    popularity[(req.key, value)] = popularity.get((req.key, value), 0) + 1
        for reqs in all_reqs:
            best = min(reqs, default=None,
                       key=lambda r: sum(popularity[(r.key, v)] for v in r.values))
            chosen.append(best)
        self._always = [i for i, req in enumerate(chosen) if req is None]
        self._fields: dict[str, tuple[_Requirement, dict[str, list[int]]]] = {}
        for i, req in enumerate(chosen):
            if req is None:
                continue
            _, table = self._fields.setdefault(req.key, (req, {}))
            for value in req.values:
                table.setdefault(value, []).append(i)

    def __len__(self) -> int:
        return len(self.queries)

    def matches(self, doc: Mapping[str, Any]) -> list[int]:
        """Indices of the queries matching ``doc``, ascending."""
        d = _Doc(doc)
        candidates = list(self._always)
        cache = d.cache
        for key, (req, table) in self._fields.items():
            values = cache.get(key)
            if values is None:
                values = cache[key] = req.convert(req.read(doc))
            for value in set(values):
                hit = table.get(value)
                if hit:
                    candidates.extend(hit)
        if len(self._fields) > 0:
            candidates = sorted(set(candidates))
        queries = self.queries
        return [i for i in candidates if queries[i]._match(d)]


def compile_many(nodes: Sequence[Node], schema: FieldSchema | None = None, *,
                 now: datetime | None = None, dynamic: Dynamic = "text") -> MatcherSet:
    """Compile several queries against one schema into a ``MatcherSet``."""
    return MatcherSet([compile_query(n, schema, now=now, dynamic=dynamic) for n in nodes])


# ----------------------------------------------------------------- explain


@dataclass(frozen=True)
class Explanation:
    """Whether each clause of the query held on one document, as a tree shaped like the AST.

    Iterating yields readable lines (``[x]`` held, ``[ ]`` did not), which is what a test
    report prints under a failed case.
    """

    node: Node
    matched: bool
    children: tuple[Explanation, ...] = ()
    # For a field clause: the document's values at that field, as in _source (() = missing).
    values: tuple[Any, ...] | None = None

    def leaves(self) -> Iterator[Explanation]:
        """The leaf clauses (field conditions), in query order."""
        if not self.children and not isinstance(self.node, (And, Or, Not, Nested)):
            yield self
        for child in self.children:
            yield from child.leaves()

    def lines(self, indent: int = 0) -> list[str]:
        mark = "[x]" if self.matched else "[ ]"
        line = f"{'  ' * indent}{mark} {describe(self.node)}"
        if self.values is not None:
            line += f"    (document: {_render_doc_values(self.values)})"
        out = [line]
        for child in self.children:
            out.extend(child.lines(indent + 1))
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines())


def _render_doc_values(values: tuple[Any, ...], limit: int = 80) -> str:
    if not values:
        return "missing"
    text = ", ".join(json.dumps(v, ensure_ascii=False, default=str) for v in values)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(node: Node) -> str:
    """A short KQL-like rendering of one node (the clause, not its children)."""
    if isinstance(node, And):
        return "and"
    if isinstance(node, Or):
        return "or"
    if isinstance(node, Not):
        return "not"
    if isinstance(node, MatchAll):
        return "(empty query: matches everything)"
    if isinstance(node, Nested):
        return f"{node.path}: {{ ... }}"
    if isinstance(node, Exists):
        return f"{node.field}: *"
    if isinstance(node, Range):
        return f"{node.field} {node.op} {_render_value(node.value)}"
    if node.field is None:
        return _render_value(node.value)
    return f"{node.field}: {_render_value(node.value)}"


def _render_value(value: Value) -> str:
    if value.quoted:
        return '"' + value.text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value.wildcard is not None:
        return "*".join(value.wildcard)
    return value.text


def explain(node: Node, schema: FieldSchema | None, doc: Mapping[str, Any], *,
            now: datetime | None = None, dynamic: Dynamic = "text") -> Explanation:
    """Evaluate every clause of ``node`` on ``doc`` with the matcher's semantics.

    Inside ``path: { ... }`` the clauses are shown for the first array element that satisfies
    the whole group or, when none does, for the element that satisfies the most leaf clauses.
    """
    compiler = _Compiler(schema, _now_nanos(now), dynamic)
    return _explain(node, compiler, _Doc(doc))


def _explain(node: Node, compiler: _Compiler, d: _Doc) -> Explanation:
    if isinstance(node, (And, Or)):
        children = tuple(_explain(item, compiler, d) for item in node.items)
        combine = all if isinstance(node, And) else any
        return Explanation(node, combine(c.matched for c in children), children)
    if isinstance(node, Not):
        child = _explain(node.item, compiler, d)
        return Explanation(node, not child.matched, (child,))
    if isinstance(node, Nested):
        matched = compiler.compile(node)(d)
        inner = compiler.scoped(node.path)
        path = compiler.path(compiler._relative(compiler.prefix + node.path))
        elements = [e for e in path.values(d.source) if isinstance(e, Mapping)]
        options = [_explain(node.query, inner, _Doc(e)) for e in elements]
        if not options:
            return Explanation(node, matched, ())
        best = max(options, key=lambda e: (e.matched, sum(x.matched for x in e.leaves())))
        return Explanation(node, matched, (best,))
    values: tuple[Any, ...] | None = None
    field = getattr(node, "field", None)
    if field is not None and field != "*" and not getattr(node, "field_wildcard", False):
        target = compiler.target(compiler.prefix + field)
        values = tuple(compiler.path(target.source).values(d.source))
    return Explanation(node, compiler.compile(node)(d), (), values)
