"""A case's events: builder overrides -> raw CloudTrail records -> ECS documents.

Every case goes through the same path as real data (raw record, then the integration's
mapping), so a rule that passes here was tested on the documents production would hold.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kmsdet.cases.model import Case
from kmsdet.errors import InputError
from kmsdet.rules.timing import duration_seconds

DEFAULT_AT = "-1m"
DEFAULT_INGEST_DELAY = "30s"


@dataclass(frozen=True)
class CaseEvent:
    raw: dict[str, Any]
    ingested: datetime


def case_rng(seed: int, *keys: str) -> random.Random:
    """A generator seeded from stable text, so a case builds the same events on every run."""
    return random.Random(zlib.crc32(":".join((str(seed), *keys)).encode()))


def offset(value: str, *, field: str) -> timedelta:
    """``-2m`` / ``+30s`` / ``90s`` as a timedelta; InputError names the option otherwise."""
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    seconds = duration_seconds(text.lstrip("+-"))
    if seconds is None:
        raise InputError(f"{field} '{value}' is not a duration like -2m or 30s", field=field,
                         hint="use an optional sign, a number and one of s m h d")
    return timedelta(seconds=sign * seconds)


def build_case_events(case: Case, *, now: datetime, seed: int, key: str) -> list[CaseEvent]:
    from kmsdet.cloudtrail.builder import build_record

    rng = case_rng(seed, key, case.name)
    events: list[CaseEvent] = []
    for index, spec in enumerate(case.events):
        overrides = {k: v for k, v in spec.items() if not k.startswith("_")}
        unknown = [k for k in spec if k.startswith("_") and k not in ("_at", "_ingest_delay",
                                                                       "_count")]
        if unknown:
            raise InputError(f"case '{case.name}' event {index + 1}: unknown option {unknown[0]}",
                             field=unknown[0], hint="kmsdet options are _at, _ingest_delay, _count")
        at = now + offset(str(spec.get("_at", DEFAULT_AT)), field="_at")
        delay = offset(str(spec.get("_ingest_delay", DEFAULT_INGEST_DELAY)), field="_ingest_delay")
        count = spec.get("_count", 1)
        if not isinstance(count, int) or count < 1:
            raise InputError(f"case '{case.name}': _count must be a positive integer",
                             field="_count")
        for _ in range(count):
            raw = build_record(overrides, rng=rng, at=at)
            events.append(CaseEvent(raw=raw, ingested=at + delay))
    return events


def to_documents(events: list[CaseEvent], *, run_id: str) -> list[dict[str, Any]]:
    from kmsdet.cloudtrail.to_ecs import to_ecs

    return [to_ecs(e.raw, ingested=e.ingested, run_id=run_id) for e in events]


def event_summary(doc: Mapping[str, Any]) -> str:
    """One line that identifies an ECS CloudTrail document in a failure report."""
    event = doc.get("event", {}) if isinstance(doc.get("event"), Mapping) else {}
    ct = doc.get("aws", {}).get("cloudtrail", {}) if isinstance(doc.get("aws"), Mapping) else {}
    identity = ct.get("user_identity", {}) if isinstance(ct, Mapping) else {}
    parts = [
        f"{event.get('provider', '?')} {event.get('action', '?')}",
        f"outcome={event.get('outcome', '?')}",
        f"identity={identity.get('type', '-')}",
    ]
    if ct.get("error_code"):
        parts.append(f"error={ct['error_code']}")
    return " ".join(parts)
