"""Sequence and sample matching as Elasticsearch's EQL executes them on one window of events.

Elasticsearch keeps, per join key and per step, the pending sequences in the order of their
latest event, and processes the window step by step. An event of step ``s`` takes the LATEST
pending sequence of step ``s-1`` (same key) whose last event precedes it, and discards that one
and every older pending sequence of the same key and step ("the most recent sequence
overwrites the older one"). The extended sequence is then rejected if it exceeds ``maxspan``
(measured from its first event, inclusive) or if an ``until`` event of the same key falls
between its last event (included) and the new one (excluded). Completed sequences are
counted in the order they complete and the search stops at ``size``; they are returned
ordered by their first event.

Missing-event steps (``![...]``) do not advance sequences; a completed sequence is dropped when
an event of a missing step (same key) lies between its neighbouring positive events, or, for a
leading or trailing missing step, within ``maxspan`` of the sequence's events.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Ordinal = tuple[int, Any, int]  # (timestamp nanos, tiebreaker, position)
Key = tuple[Any, ...]


class Hit(NamedTuple):
    ordinal: Ordinal
    key: Key
    event: Any


@dataclass
class _Pending:
    start: Ordinal
    last: Ordinal
    events: list[Any] = field(default_factory=list)


def match_sequences(stage_hits: Seq[list[Hit]], missing: Seq[bool], maxspan: int | None,
                    until: list[Hit], size: int) -> list[list[Any]]:
    """Completed sequences (their positive events) for hits given per step, ordinal order."""
    positive = [i for i, m in enumerate(missing) if not m]
    if not positive:
        return []
    until_by_key: dict[Key, list[Ordinal]] = {}
    for hit in until:
        until_by_key.setdefault(hit.key, []).append(hit.ordinal)
    missing_by_stage = {i: _by_key(stage_hits[i]) for i, m in enumerate(missing) if m}
    completed: list[_Pending] = []
    last_stage = positive[-1]

    def complete(seq: _Pending) -> bool:
        if missing_by_stage and _has_missing(seq, positive, missing, missing_by_stage, maxspan):
            return False
        completed.append(seq)
        return len(completed) >= size

    groups: dict[Key, list[_Pending]] = {}
    for hit in stage_hits[positive[0]]:
        seq = _Pending(hit.ordinal, hit.ordinal, [hit])
        if len(positive) == 1:
            if complete(seq):
                return _ordered(completed)
        else:
            groups.setdefault(hit.key, []).append(seq)
    for stage in positive[1:]:
        advanced: dict[Key, list[_Pending]] = {}
        for hit in stage_hits[stage]:
            group = groups.get(hit.key)
            if not group:
                continue
            index = _latest_before(group, hit.ordinal)
            if index < 0:
                continue
            seq = group[index]
            del group[:index + 1]
            if maxspan is not None and hit.ordinal[0] - seq.start[0] > maxspan:
                continue
            if _until_between(until_by_key.get(hit.key), seq.last, hit.ordinal):
                continue
            extended = _Pending(seq.start, hit.ordinal, seq.events + [hit])
            if stage == last_stage:
                if complete(extended):
                    return _ordered(completed)
            else:
                advanced.setdefault(hit.key, []).append(extended)
        groups = advanced
    return _ordered(completed)


def _ordered(completed: list[_Pending]) -> list[list[Any]]:
    completed.sort(key=lambda seq: seq.start)
    return [[hit.event for hit in seq.events] for seq in completed]


def _latest_before(group: list[_Pending], ordinal: Ordinal) -> int:
    found = -1
    for index, seq in enumerate(group):
        if seq.last < ordinal:
            found = index
        else:
            break
    return found


def _until_between(markers: list[Ordinal] | None, low: Ordinal, high: Ordinal) -> bool:
    """An until event at or after the sequence's last event and before the new one (so the
    sequence's own last event expires it when it is also an until event; the new one does
    not: Elasticsearch looks for until events strictly before the event being added)."""
    return bool(markers) and any(low <= m < high for m in markers)  # type: ignore[union-attr]


def _by_key(hits: list[Hit]) -> dict[Key, list[Ordinal]]:
    out: dict[Key, list[Ordinal]] = {}
    for hit in hits:
        out.setdefault(hit.key, []).append(hit.ordinal)
    return out


def _has_missing(seq: _Pending, positive: list[int], missing: Seq[bool],
                 missing_by_stage: dict[int, dict[Key, list[Ordinal]]],
                 maxspan: int | None) -> bool:
    key = seq.events[0].key
    ordinals = {stage: hit.ordinal for stage, hit in zip(positive, seq.events, strict=True)}
    first_ts, last_ts = seq.start[0], seq.last[0]
    span = maxspan or 0
    for stage, is_missing in enumerate(missing):
        if not is_missing:
            continue
        markers = missing_by_stage[stage].get(key)
        if not markers:
            continue
        before = [ordinals[p] for p in positive if p < stage]
        after = [ordinals[p] for p in positive if p > stage]
        for marker in markers:
            low_ok = marker > before[-1] if before else marker[0] >= last_ts - span
            high_ok = marker < after[0] if after else marker[0] <= first_ts + span
            if low_ok and high_ok:
                return True
    return False


def match_samples(stage_hits: Seq[list[Hit]], size: int) -> list[list[Any]]:
    """One sample per join key present in every step: each step's earliest event not already
    taken by an earlier step, keys in ascending order (Elasticsearch's composite key order)."""
    per_stage = [_hits_by_key(hits) for hits in stage_hits]
    common = set(per_stage[0])
    for table in per_stage[1:]:
        common &= set(table)
    samples: list[list[Any]] = []
    for key in sorted(common, key=_key_order):
        used: set[int] = set()
        chosen = []
        for table in per_stage:
            pick = next((h for h in table[key] if id(h.event) not in used), None)
            if pick is None:
                break
            used.add(id(pick.event))
            chosen.append(pick.event)
        else:
            samples.append(chosen)
            if len(samples) >= size:
                break
    return samples


def _hits_by_key(hits: list[Hit]) -> dict[Key, list[Hit]]:
    out: dict[Key, list[Hit]] = {}
    for hit in hits:
        out.setdefault(hit.key, []).append(hit)
    return out


def _key_order(key: Key) -> tuple:
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in key)
