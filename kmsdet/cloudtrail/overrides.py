"""Short overrides of the record builder's defaults, as a test case writes them.

A case names only what matters to it (``eventName``, ``userIdentity.type``) and the builder
fills in the rest. Overrides are nested like the record itself; dotted top-level keys
(``"userIdentity.type"``) are accepted too. TOML has no null, so two marker strings stand in:

* ``"<absent>"`` (:data:`ABSENT`) deletes the key from the record;
* ``"<null>"`` (:data:`NULL`) writes JSON ``null`` (a Python ``None`` does the same).

Both also work inside lists (an ``"<absent>"`` element is dropped). TOML datetimes become
CloudTrail's ``2024-01-02T03:04:05Z`` form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from kmsdet.cloudtrail.values import cloudtrail_time
from kmsdet.errors import InputError

ABSENT = "<absent>"
NULL = "<null>"
MARKERS = frozenset({ABSENT, NULL})

_HINT = f'use "{ABSENT}" to delete a key and "{NULL}" for JSON null'


def is_marker(value: object) -> bool:
    return isinstance(value, str) and value in MARKERS


def normalize_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Overrides as nested plain JSON values; bad shapes raise InputError naming the key."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise InputError("record overrides must be a table of keys, not "
                         f"{type(overrides).__name__}",
                         hint="write overrides like eventName = \"DisableKey\"")
    result: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"override key {key!r} is not a non-empty string", field=str(key))
        parts = key.split(".")
        if any(not p for p in parts):
            raise InputError(f"override key '{key}' has an empty part", field=key,
                             hint="write nested keys like userIdentity.type")
        node = result
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise InputError(f"override '{key}' goes inside '{'.'.join(parts[:depth + 1])}', "
                                 "which is also set to a plain value", field=key)
            node = child
        converted = _convert(value, key)
        last = parts[-1]
        if last not in node:
            node[last] = converted
        elif isinstance(converted, dict) and isinstance(node[last], dict):
            node[last] = _combine(node[last], converted, key)
        else:
            raise InputError(f"override '{key}' is set twice, once as a table and once as a "
                             "value", field=key, hint="set it in one place")
    return result


def _combine(first: dict[str, Any], second: dict[str, Any], key: str) -> dict[str, Any]:
    """Two override tables for the same key, markers kept for the record merge."""
    out = dict(first)
    for k, v in second.items():
        if k not in out:
            out[k] = v
        elif isinstance(v, dict) and isinstance(out[k], dict):
            out[k] = _combine(out[k], v, f"{key}.{k}")
        else:
            raise InputError(f"override '{key}.{k}' is set twice", field=f"{key}.{k}",
                             hint="set it in one place")
    return out


def _convert(value: Any, path: str) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return cloudtrail_time(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"override key {k!r} under '{path}' is not a string",
                                 field=path)
            out[k] = _convert(v, f"{path}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [_convert(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InputError(f"override '{path}' has a value of type {type(value).__name__}, which a "
                     "CloudTrail record cannot hold", field=path, hint=_HINT)


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` deep-merged in: objects merge, everything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if value == ABSENT:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = materialize(value)
    return out


def materialize(value: Any) -> Any:
    """A fresh copy of an override value with its markers resolved."""
    if value is None or value == NULL:
        return None
    if isinstance(value, Mapping):
        return {k: materialize(v) for k, v in value.items() if v != ABSENT}
    if isinstance(value, list):
        return [materialize(v) for v in value if v != ABSENT]
    return value


def text_value(value: object) -> str | None:
    """A plain (non-marker) string override, else None."""
    return value if isinstance(value, str) and value not in MARKERS else None
