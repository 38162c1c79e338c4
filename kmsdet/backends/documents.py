"""Reading fields of ECS documents that may be nested, dotted, or both, with arrays anywhere.

Field access is the matcher's (kmsdet.kql.matcher.FieldPath), so that the backends read a
document exactly as the query sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from kmsdet.kql.matcher import FieldPath


@lru_cache(maxsize=1024)
def _path(name: str) -> FieldPath:
    return FieldPath(name)


def values_at(doc: Any, path: str) -> list[Any]:
    """Every scalar value at ``path`` (``a.b.c``), however the document splits the name."""
    return [v for v in _path(path).values(doc) if not isinstance(v, Mapping)]


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
