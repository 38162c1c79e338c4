"""Reading fields of ECS documents that may be nested, dotted, or both, with arrays anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any


def values_at(doc: Any, path: str) -> list[Any]:
    """Every leaf value at ``path`` (``a.b.c``), trying each split between nesting and dots."""
    if isinstance(doc, list):
        out: list[Any] = []
        for item in doc:
            out.extend(values_at(item, path))
        return out
    if not isinstance(doc, Mapping):
        return []
    out = []
    if path in doc:
        out.extend(_leaves(doc[path]))
    parts = path.split(".")
    for i in range(1, len(parts)):
        head = ".".join(parts[:i])
        if head in doc:
            out.extend(values_at(doc[head], ".".join(parts[i:])))
    return out


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            out.extend(_leaves(item))
        return out
    return [] if value is None else [value]


def first_value(doc: Mapping[str, Any], path: str) -> Any:
    found = values_at(doc, path)
    return found[0] if found else None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``Z`` allowed) or epoch milliseconds, as an aware UTC datetime."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
