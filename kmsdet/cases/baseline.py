"""The benign baseline: ordinary account activity on which no rule of the pack may fire.

Hand-written cases prove a rule fires and dodges the near misses its author thought of; the
baseline catches the rest, a query that matches far more than intended. Every rule runs once
over the same stream, timed inside every rule's look-back, and must raise no alert.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, overload

from kmsdet.backends.base import Execution
from kmsdet.backends.documents import parse_time
from kmsdet.backends.embedded import Derived
from kmsdet.cases.model import Case
from kmsdet.errors import UsageError
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


CHUNK_SIZE = 4000
"""Records per independently built chunk: fixed, so a seed gives the same events whatever the
number of processes that build them."""
TIME_FIELDS = frozenset({"@timestamp", "event.created", "event.ingested"})
"""The only fields the one-day-earlier history copy changes (see :func:`_shifted`)."""


class BaselineDocuments(Sequence[Mapping[str, Any]]):
    """The baseline's documents, built lazily in chunks.

    The embedded backend never materialises them: it builds and matches chunks in worker
    processes (kmsdet.backends.embedded.ChunkedDocuments) and keeps only the hits. Service
    backends iterate it like a list, which builds every document once and keeps them. The
    order is every chunk's documents, then (with ``history``) their shifted copies in the same
    order, exactly the list :func:`baseline_documents` returns.
    """

    def __init__(self, count: int, *, seed: int, now: datetime, run_id: str,
                 history: bool = False, chunk_size: int = CHUNK_SIZE) -> None:
        if count < 0:
            raise UsageError(f"the baseline needs zero or more events, not {count}",
                             field="baseline")
        self.count, self.seed, self.now, self.run_id = count, seed, now, run_id
        self.chunk_size = chunk_size
        self.chunk_count = -(-count // chunk_size)
        self.derived: tuple[Derived, ...] = (
            (Derived(make=lambda doc: _shifted(doc, HISTORY_SHIFT), fields=TIME_FIELDS),)
            if history else ())
        self._all: list[Mapping[str, Any]] | None = None

    def chunk(self, index: int) -> list[dict[str, Any]]:
        """The original (unshifted) documents of chunk ``index``, in time order."""
        from kmsdet.cloudtrail.baseline import benign_baseline_chunk
        from kmsdet.cloudtrail.to_ecs import to_ecs

        now, run_id = self.now, self.run_id
        docs = []
        for record in benign_baseline_chunk(self.count, chunk=index, chunk_size=self.chunk_size,
                                            seed=self.seed, start=now + SPAN_START, span=SPAN):
            when = parse_time(record["eventTime"]) or now
            docs.append(to_ecs(record, ingested=when + INGEST_DELAY, run_id=run_id))
        return docs

    def materialize(self) -> list[Mapping[str, Any]]:
        """Every document, built once and kept (what a service backend seeds)."""
        if self._all is None:
            originals: list[Mapping[str, Any]] = []
            for index in range(self.chunk_count):
                originals.extend(self.chunk(index))
            docs = list(originals)
            for derived in self.derived:
                docs.extend(derived.make(doc) for doc in originals)
            self._all = docs
        return self._all

    def __len__(self) -> int:
        return self.count * (1 + len(self.derived))

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self.materialize()[index]

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.materialize())


def baseline_documents(count: int, *, seed: int, now: datetime, run_id: str,
                       history: bool = False) -> BaselineDocuments:
    """``count`` benign documents inside the look-back; with ``history``, also the same
    activity one day earlier, so that new_terms rules see the account's usual principals
    as known (a normal day looks like the day before). Built lazily: see BaselineDocuments."""
    return BaselineDocuments(count, seed=seed, now=now, run_id=run_id, history=history)


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
