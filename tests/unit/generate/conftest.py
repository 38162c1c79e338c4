from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kmsdet.fields.registry import schema_for_indices
from kmsdet.fields.schema import FieldSchema

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def cloudtrail() -> FieldSchema:
    return schema_for_indices(("logs-aws.cloudtrail-*",))


@pytest.fixture(scope="session")
def shared() -> FieldSchema:
    return schema_for_indices(("logs-*",))
