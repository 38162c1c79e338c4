from __future__ import annotations

from typing import Any

import pytest

from kmsdet.fields.registry import schema_for_indices
from kmsdet.fields.schema import FieldSchema


@pytest.fixture(scope="session")
def cloudtrail_schema() -> FieldSchema:
    return schema_for_indices(("logs-aws.cloudtrail-*",))


def event(minute: float, action: str, user: str = "alice", **extra: Any) -> dict[str, Any]:
    """A small ECS-shaped event at 2024-01-01T00:<minute>."""
    seconds = int(minute * 60)
    doc: dict[str, Any] = {
        "@timestamp": f"2024-01-01T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
                      f"{seconds % 60:02d}.000Z",
        "event": {"action": action, "category": ["iam"], "outcome": "success"},
        "user": {"name": user},
    }
    for key, value in extra.items():
        doc[key.replace("__", ".")] = value
    return doc
