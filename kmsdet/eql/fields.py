"""Reading a field for EQL exactly as the KQL matcher reads it (kmsdet.kql.matcher).

Both languages resolve the name against the same field schema, pull the document's values with
the same FieldPath and convert them with the same per-mapping-type family (keyword strings and
ignore_above, numbers at the field's precision, IPv4-mapped addresses, epoch nanos, booleans),
sharing the per-document conversion cache. EQL then compares those indexed values.

EQL-specific: a ``text`` field is read through its keyword multi-field (Elasticsearch uses the
exact sub-field); a text field without one is refused, as Elasticsearch refuses the query.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kmsdet.errors import InputError
from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.matcher import (
    KEYWORD_LIKE,
    TEXT_TYPES,
    _Compiler,
    _Doc,
    _KeyedFlattenedFamily,
)
from kmsdet.kql.values import DATE_TYPES, NUMERIC_TYPES, keyword_string

_IPV4_MAPPED = 0xFFFF << 32


@dataclass
class EqlTypeError(InputError):
    """Elasticsearch would reject the query (type mismatch, text field): the rule run fails."""


@dataclass(frozen=True)
class FieldReader:
    """One field's indexed values for a document: ``kind`` says how to compare them.

    kind: keyword, number, ip, date, boolean, or dynamic (unmapped: each value keeps its JSON
    type, strings read as keyword like the ``logs-*`` dynamic template maps them).
    ``access`` is (cache key, raw reader, converter) when ``read`` is a plain cached
    conversion, so the hottest tests can inline it.
    """

    name: str
    kind: str
    read: Callable[[_Doc], tuple]
    access: tuple[str, Callable[[Any], list[Any]], Callable[[list[Any]], tuple]] | None = None

    def has(self, wanted: Any) -> Callable[[_Doc], bool]:
        """``wanted in values``, the test of ``==`` and of a one-value ``in``."""
        if self.access is None:
            read = self.read
            return lambda d: wanted in read(d)
        key, raw, convert = self.access

        def test(d: _Doc) -> bool:
            cache = d.cache
            values = cache.get(key)
            if values is None:
                values = cache[key] = convert(raw(d.source))
            return wanted in values
        return test

    def has_any(self, wanted: frozenset[Any]) -> Callable[[_Doc], bool]:
        """Some value in ``wanted``: the test of ``in``."""
        if len(wanted) == 1:
            return self.has(next(iter(wanted)))
        if self.access is None:
            read = self.read
            return lambda d: not wanted.isdisjoint(read(d))
        key, raw, convert = self.access

        def test(d: _Doc) -> bool:
            cache = d.cache
            values = cache.get(key)
            if values is None:
                values = cache[key] = convert(raw(d.source))
            return not wanted.isdisjoint(values)
        return test


def field_reader(name: str, schema: FieldSchema | None, compiler: _Compiler) -> FieldReader:
    target = compiler.target(name)
    family = target.family
    if family is None:
        return FieldReader(name, "dynamic", _dynamic_read(compiler, target.source))
    type_name = target.kibana_type or family.type_name
    if isinstance(family, _KeyedFlattenedFamily):
        key = family.key
        base = _cached(compiler, target, family)

        def keyed(d: _Doc) -> tuple:
            return tuple(v for k, v in base(d) if k == key)

        return FieldReader(name, "keyword", keyed)
    if type_name in TEXT_TYPES:
        exact = _keyword_subfield(name, schema)
        if exact is None:
            raise EqlTypeError(
                f"'{name}' is a {type_name} field with no keyword sub-field",
                field=name, hint="Elasticsearch's EQL cannot compare text fields; query a "
                                 "keyword field instead")
        return field_reader(exact, schema, compiler)
    if type_name in KEYWORD_LIKE:
        kind = "keyword"
    elif type_name in NUMERIC_TYPES:
        kind = "number"
    elif type_name in DATE_TYPES:
        kind = "date"
    elif type_name in ("ip", "boolean"):
        kind = type_name
    else:
        raise EqlTypeError(f"'{name}' is a {type_name} field, which EQL cannot compare",
                           field=name, hint="compare one of its leaf fields")
    return FieldReader(name, kind, _cached(compiler, target, family),
                       compiler.accessor(target, family))


def _cached(compiler: _Compiler, target: Any, family: Any) -> Callable[[_Doc], tuple]:
    key, read, convert = compiler.accessor(target, family)

    def values(d: _Doc) -> tuple:
        cache = d.cache
        found = cache.get(key)
        if found is None:
            found = cache[key] = convert(read(d.source))
        return found

    return values


def _dynamic_read(compiler: _Compiler, source: str) -> Callable[[_Doc], tuple]:
    path = compiler.path(source)
    key = f"eql-dynamic|{source}"

    def values(d: _Doc) -> tuple:
        cache = d.cache
        found = cache.get(key)
        if found is None:
            found = cache[key] = tuple(v for v in path.values(d.source)
                                       if isinstance(v, (str, int, float, bool)))
        return found

    return values


def _keyword_subfield(name: str, schema: FieldSchema | None) -> str | None:
    if schema is None:
        return None
    for candidate in (f"{name}.keyword", f"{name}.raw"):
        info = schema.get(candidate)
        if info is not None and info.type in KEYWORD_LIKE:
            return candidate
    for other, info in schema.items():
        if info.parent == name and info.type in KEYWORD_LIKE:
            return other
    return None


def as_scalar(kind: str, value: Any) -> Any:
    """An indexed value as a script sees it (an ip as its text, a keyword as a string)."""
    if kind == "ip" and isinstance(value, int):
        if value >> 32 == 0xFFFF:
            return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
        return str(ipaddress.IPv6Address(value))
    if kind == "dynamic" and not isinstance(value, (str, bool, int, float)):
        return keyword_string(value)
    return value
