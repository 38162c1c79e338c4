"""The benign baseline: ordinary account activity on which no rule of the pack may fire.

Hand-written cases prove a rule fires and dodges the near misses its author thought of; the
baseline catches the rest, a query that matches far more than intended. Every rule runs once
over the same stream, timed inside every rule's look-back, and must raise no alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kmsdet.backends.base import Execution
from kmsdet.backends.documents import parse_time
from kmsdet.cases.model import Case
from kmsdet.rules.model import Rule

# Inside the shortest sensible look-back (now-5m) and before the run, so a rule that matches
# these events cannot escape by its window.
SPAN_START = timedelta(minutes=-4, seconds=-30)
SPAN = timedelta(minutes=4)
INGEST_DELAY = timedelta(seconds=20)
HISTORY_SHIFT = timedelta(days=-1)


def baseline_case(count: int) -> Case:
    """A result slot that reads like any case in reports: a name and zero expected alerts."""
    return Case.model_construct(name=f"benign baseline ({count} events)", expect=0,
                                description="ordinary CloudTrail activity", events=[])


def baseline_documents(count: int, *, seed: int, now: datetime, run_id: str,
                       history: bool = False) -> list[dict[str, Any]]:
    """``count`` benign documents inside the look-back; with ``history``, also the same
    activity one day earlier, so that new_terms rules see the account's usual principals
    as known (a normal day looks like the day before)."""
    from kmsdet.cloudtrail.baseline import benign_baseline
    from kmsdet.cloudtrail.to_ecs import to_ecs

    docs = []
    for record in benign_baseline(count, seed=seed, start=now + SPAN_START, span=SPAN):
        when = parse_time(record["eventTime"]) or now
        docs.append(to_ecs(record, ingested=when + INGEST_DELAY, run_id=run_id))
    if history:
        docs.extend([_shifted(doc, HISTORY_SHIFT) for doc in docs])
    return docs


def _shifted(doc: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """A copy of ``doc`` moved in time; only the fields that carry time are copied."""
    copy = dict(doc)
    copy["@timestamp"] = _shift_text(doc["@timestamp"], delta)
    event = dict(doc["event"])
    for key in ("created", "ingested"):
        if key in event:
            event[key] = _shift_text(event[key], delta)
    copy["event"] = event
    return copy


def _shift_text(text: str, delta: timedelta) -> str:
    moved = (parse_time(text) or datetime.fromisoformat(text)) + delta
    millis = f".{moved.microsecond // 1000:03d}Z" if "." in text else "Z"
    return moved.strftime("%Y-%m-%dT%H:%M:%S") + millis


def baseline_executions(rules: Sequence[Rule], documents: Sequence[dict[str, Any]], *,
                        now: datetime, run_id: str) -> list[Execution]:
    """One execution per rule over the same documents (seeded once by service backends)."""
    return [Execution(rule=r, documents=documents, now=now, run_id=run_id) for r in rules]
