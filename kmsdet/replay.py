"""Replaying real logs through the rules as if each rule had run on its schedule.

Kibana runs a rule every ``interval`` over ``from``..``to``; look-backs overlap, and an event
seen by two runs yields one alert because the alert id is derived from the source document.
Replay walks the events' whole time span with that schedule, so its answer is the set of
alerts the detection engine would have raised had the rules been live when the events arrived.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kmsdet.backends.documents import parse_time
from kmsdet.backtest.engine import ReplayAlert, backtest_documents
from kmsdet.errors import UsageError
from kmsdet.rules.model import Rule

__all__ = ["ReplayAlert", "case_events", "convert_records", "load_documents", "replay_rules"]


def load_documents(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """ECS documents from raw CloudTrail (mapped as the integration does) or ECS inputs.

    A raw record's ``event.ingested`` is its eventTime: replay asks what the rules would have
    seen had the events arrived as they happened.
    """
    from kmsdet.cloudtrail.readers import read_events
    from kmsdet.cloudtrail.to_ecs import to_ecs

    documents: list[dict[str, Any]] = []
    for path in paths:
        for kind, obj in read_events(path):
            if kind == "ecs":
                documents.append(obj)
            else:
                documents.append(to_ecs(obj, ingested=parse_time(obj.get("eventTime"))))
    return documents


def convert_records(path: Path) -> Iterator[dict[str, Any]]:
    """Raw CloudTrail from ``path`` as ECS documents, in input order (``kmsdet events --from``)."""
    from kmsdet.cloudtrail.readers import read_records
    from kmsdet.cloudtrail.to_ecs import to_ecs

    for record in read_records(path):
        yield to_ecs(record, ingested=parse_time(record.get("eventTime")))


def case_events(rule_path: Path, *, case: str | None, ecs: bool, seed: int,
                now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The events of a rule's cases (or of one case), raw or as ECS documents."""
    from kmsdet.cases.events import build_case_events, to_documents
    from kmsdet.cases.loader import load_cases
    from kmsdet.rules.loader import load_rule

    rule = load_rule(rule_path)
    loaded = load_cases(rule_path)
    cases = loaded.cases if loaded else []
    if case is not None:
        cases = [c for c in cases if c.name == case]
        if not cases:
            names = ", ".join(repr(c.name) for c in (loaded.cases if loaded else []))
            raise UsageError(f"no case named {case!r} for {rule_path}", file=str(rule_path),
                             hint=f"cases: {names or 'none'}")
    when = now or datetime.now(timezone.utc).replace(microsecond=0)
    for item in cases:
        built = build_case_events(item, now=when, seed=seed, key=rule.rule_id)
        if ecs:
            yield from to_documents(built, run_id=f"events-{rule.rule_id}")
        else:
            yield from (e.raw for e in built)


def replay_rules(rules: Sequence[Rule],
                 documents: Sequence[Mapping[str, Any]]) -> list[ReplayAlert]:
    """The alerts each rule would have raised running on its schedule over ECS documents
    already in memory (the streaming engine of kmsdet.backtest)."""
    return backtest_documents(rules, (("ecs", d) for d in documents)).alerts
