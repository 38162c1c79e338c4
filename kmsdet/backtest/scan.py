"""Reading every record once, mapping and matching it against all rules together.

What leaves a scan is small whatever the input: the documents some rule matched (as
:class:`~kmsdet.backends.streaming.Hit`), the earliest and latest time each rule could range
on (the schedule starts at the first event, as the reference replay does), and counts. Files
are scanned in worker processes (fork, one per CPU), each returning only that; results are
merged in file order, so the output does not depend on the number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from sys import intern
from typing import Any

from kmsdet.backends.documents import parse_time
from kmsdet.backends.embedded import EmbeddedBackend, _sort_time, _usable_cpus, rule_time
from kmsdet.backends.streaming import Hit
from kmsdet.backtest.prefilter import RawPrefilter, build_prefilter, necessary_clause
from kmsdet.errors import InputError
from kmsdet.kql.ast import MatchAll, Span
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import time_field

Slot = tuple[str, bool]  # the range field and whether @timestamp stands in when it is missing
# Range fields whose value a raw record determines without mapping (for rejected records).
RAW_TIMED = ("@timestamp", "event.ingested")


@dataclass(frozen=True)
class Source:
    """One input: a file, or standard input (``path`` None)."""

    path: Path | None
    label: str


@dataclass
class Skipped:
    """What --keep-going passed over in one source: the whole file, or some records."""

    label: str
    reason: str
    records: int = 0
    whole_file: bool = False


@dataclass
class ScanPlan:
    """Everything a worker needs, built once in the parent and inherited by forked workers."""

    rules: list[Rule]
    groups: list[tuple[Any, list[int]]]  # (MatcherSet, rule indices), one per field schema
    slots: list[Slot]
    rule_slot: list[int]
    prefilter: RawPrefilter | None
    # queries with date math: re-matched at every run, so their hits keep whole documents
    date_rules: frozenset[int]
    eql: list[tuple[int, Any]]  # (rule index, EqlProgram): matched by the EQL engine
    kept_fields: tuple[str, ...]  # what other hits keep of their documents...
    eql_fields: dict[int, tuple[str, ...]]  # ...and EQL rules' hits: what their queries read
    since: datetime | None = None
    until: datetime | None = None

    def fields_kept(self, index: int) -> tuple[str, ...] | None:
        """What a hit of rule ``index`` keeps of its document (None: the whole document)."""
        if index in self.date_rules:
            return None
        return self.eql_fields.get(index, self.kept_fields)


@dataclass
class ScanResult:
    hits: list[list[Hit]]
    bounds: list[tuple[datetime, datetime] | None]  # per slot
    events: int = 0
    mapped: int = 0
    skipped: list[Skipped] = field(default_factory=list)


@dataclass
class _Part:
    """One source's share of a scan, as a worker returns it."""

    hits: list[tuple[int, Hit]] = field(default_factory=list)
    bounds: list[tuple[datetime, datetime] | None] = field(default_factory=list)
    events: int = 0
    mapped: int = 0
    bad_records: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None


def build_plan(rules: Sequence[Rule], *, since: datetime | None = None,
               until: datetime | None = None) -> ScanPlan:
    from kmsdet.backends.base import EQL_TYPE, require_supported
    from kmsdet.eql.rule import program_for
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.kql.matcher import compile_many

    backend = EmbeddedBackend()
    for rule in rules:
        require_supported(rule, "embedded", eql=True)
    is_eql = [r.rule.type == EQL_TYPE for r in rules]
    nodes = [None if eql else backend.query_node(rule) for rule, eql in zip(rules, is_eql,
                                                                              strict=True)]
    eql_programs = [(i, program_for(r)) for i, r in enumerate(rules) if is_eql[i]]
    date_rules = frozenset(i for i, r in enumerate(rules)
                           if not is_eql[i] and "now" in (r.rule.query or "").lower())
    slots: list[Slot] = []
    rule_slot = []
    for rule in rules:
        slot = time_field(rule.rule.timestamp_override,
                          rule.rule.timestamp_override_fallback_disabled)
        if slot not in slots:
            slots.append(slot)
        rule_slot.append(slots.index(slot))
    members: dict[tuple[str, ...], list[int]] = {}
    for index, rule in enumerate(rules):
        if is_eql[index]:
            continue  # matched by their own programs
        members.setdefault(tuple(rule.rule.index or ()), []).append(index)
    groups = []
    for indices, group in members.items():
        # A query with date math matches differently at every run: the scan keeps what its
        # time-independent part matches, and each run re-matches (kmsdet.backtest.engine).
        scanned = [(necessary_clause(node) if i in date_rules else node) or MatchAll(Span(0, 0))
                   for i in group if (node := nodes[i]) is not None]
        groups.append((compile_many(scanned, schema_for_indices(indices)), group))
    prefilter = (build_prefilter(rules, nodes)
                 if all(slot[0] in RAW_TIMED for slot in slots) else None)
    kept = kept_fields(rules, slots)
    eql_kept = {i: tuple(dict.fromkeys([*kept, *eql_read_fields(rules[i], program)]))
                for i, program in eql_programs}
    return ScanPlan(list(rules), groups, slots, rule_slot, prefilter, date_rules, eql_programs,
                    kept, eql_kept, since, until)


def eql_read_fields(rule: Rule, program: Any) -> list[str]:
    """Every field an EQL rule's run reads: the fields its queries name (conditions, join keys,
    function arguments), its timestamp, tiebreaker and category fields, its exceptions'."""
    import dataclasses

    found: list[str] = []
    stack: list[Any] = [program.query]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            if type(node).__name__ == "Field" and isinstance(getattr(node, "path", None), str):
                found.append(node.path)
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
    data = rule.rule
    found += [data.timestamp_field or "@timestamp", program.category_field]
    if data.tiebreaker_field:
        found.append(data.tiebreaker_field)
    found += [item.field for item in (rule.kmsdet.exceptions if rule.kmsdet else [])]
    return found


def kept_fields(rules: Sequence[Rule], slots: Sequence[Slot]) -> tuple[str, ...]:
    """The fields the schedule and the report read from a matched document: its times and id,
    the threshold and new_terms fields, the principal and the source address. A hit keeps
    only these, so memory grows by a few hundred bytes per match, not by a whole document."""
    from kmsdet.backtest.report_fields import REPORT_FIELDS

    fields = ["@timestamp", "event.id", *(primary for primary, _ in slots), *REPORT_FIELDS]
    for rule in rules:
        spec = rule.rule.threshold
        if spec is not None:
            fields += spec.fields + [c.field for c in spec.cardinality or []]
        if rule.rule.new_terms is not None:
            fields += rule.rule.new_terms.value
    return tuple(dict.fromkeys(fields))


def project(doc: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``doc`` cut down to ``fields`` (dotted keys; the matcher's field access reads them as it
    reads the original)."""
    from kmsdet.backends.documents import values_at

    out: dict[str, Any] = {}
    for name in fields:
        values = [intern(v) if type(v) is str else v for v in values_at(doc, name)]
        if values:
            out[name] = values[0] if len(values) == 1 else values
    return out


def discover(paths: Iterable[Path | str]) -> list[Source]:
    """Sources in the order given, folders expanded (sorted); ``-`` is standard input."""
    from kmsdet.cloudtrail.readers import event_files

    sources: list[Source] = []
    for raw in paths:
        if str(raw) == "-":
            sources.append(Source(None, "-"))
            continue
        sources.extend(Source(p, str(p)) for p in event_files(Path(raw)))
    return sources


def scan(plan: ScanPlan, sources: Sequence[Source], *, workers: int | None = None,
         keep_going: bool = False,
         on_progress: Callable[[int, int, int], None] | None = None) -> ScanResult:
    """Scan ``sources``; ``on_progress(files_done, files, records)`` after each source."""
    result = ScanResult(hits=[[] for _ in plan.rules], bounds=[None] * len(plan.slots))
    if on_progress is not None:
        on_progress(0, len(sources), 0)  # the total is known before the first file is read
    for index, part in _parts(plan, sources, workers):
        source = sources[index]
        if part.error is not None:
            error = InputError(**part.error)
            if not keep_going:
                raise error
            result.skipped.append(Skipped(source.label, error.render().splitlines()[0],
                                          records=part.events, whole_file=True))
        else:
            if part.bad_records:
                if not keep_going:
                    raise InputError(part.bad_records[0], file=source.label,
                                     hint="pass --keep-going to skip such records")
                result.skipped.append(Skipped(source.label, part.bad_records[0],
                                              records=len(part.bad_records)))
            _merge(result, part)
        if on_progress is not None:
            on_progress(index + 1, len(sources), result.events)
    return result


def scan_documents(plan: ScanPlan, items: Iterable[tuple[str, Mapping[str, Any]]]) -> ScanResult:
    """Scan records or documents already in memory (``("raw"|"ecs", obj)`` pairs)."""
    part = _Part(bounds=[None] * len(plan.slots))
    _scan_items(plan, ((kind, obj, i) for i, (kind, obj) in enumerate(items)), part, 0, "-")
    if part.bad_records:
        raise InputError(part.bad_records[0])
    result = ScanResult(hits=[[] for _ in plan.rules], bounds=[None] * len(plan.slots))
    _merge(result, part)
    return result


def _merge(result: ScanResult, part: _Part) -> None:
    result.events += part.events
    result.mapped += part.mapped
    for rule_index, hit in part.hits:
        result.hits[rule_index].append(hit)
    for slot, bound in enumerate(part.bounds):
        result.bounds[slot] = widen(result.bounds[slot], bound)


def widen(a: tuple[datetime, datetime] | None,
           b: tuple[datetime, datetime] | None) -> tuple[datetime, datetime] | None:
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), max(a[1], b[1]))


_PLAN: ScanPlan | None = None  # what forked workers inherit
_SOURCES: Sequence[Source] = ()


def _parts(plan: ScanPlan, sources: Sequence[Source],
           workers: int | None) -> Iterator[tuple[int, _Part]]:
    global _PLAN, _SOURCES
    count = min(workers or _usable_cpus(), len(sources))
    files_only = all(s.path is not None for s in sources)
    if count <= 1 or not files_only or "fork" not in multiprocessing.get_all_start_methods():
        for index, source in enumerate(sources):
            yield index, _scan_source(plan, source, index)
        return
    _PLAN, _SOURCES = plan, sources
    try:
        with multiprocessing.get_context("fork").Pool(count, initializer=gc.disable) as pool:
            yield from enumerate(pool.imap(_forked_scan, range(len(sources)), chunksize=1))
    finally:
        _PLAN, _SOURCES = None, ()


def _forked_scan(index: int) -> _Part:
    assert _PLAN is not None, "workers are forked after the plan is set"
    return _scan_source(_PLAN, _SOURCES[index], index)


def _scan_source(plan: ScanPlan, source: Source, number: int) -> _Part:
    from kmsdet.cloudtrail.readers import stream_events

    part = _Part(bounds=[None] * len(plan.slots))
    try:
        _scan_items(plan, stream_events(source.path, source.label), part, number, source.label)
    except InputError as exc:
        part.hits.clear()
        part.error = {"message": exc.message, "file": exc.file or source.label,
                      "line": exc.line, "column": exc.column, "field": exc.field,
                      "hint": exc.hint}
    return part


def _scan_items(plan: ScanPlan, items: Iterable[tuple[str, Mapping[str, Any], int]],
                part: _Part, number: int, label: str) -> None:
    from kmsdet.cloudtrail.to_ecs import to_ecs

    slots, rule_slot, groups, eql = plan.slots, plan.rule_slot, plan.groups, plan.eql
    since, until, prefilter = plan.since, plan.until, plan.prefilter
    lows: list[datetime | None] = [b[0] if b else None for b in part.bounds]
    highs: list[datetime | None] = [b[1] if b else None for b in part.bounds]
    hits = part.hits
    for kind, obj, index in items:
        part.events += 1
        if kind == "raw":
            when = _event_time(obj)
            if when is None:
                part.bad_records.append(f"record {index} has no valid eventTime")
                continue
            if prefilter is not None and not prefilter.keep(obj):
                times = [_raw_slot_time(slot[0], obj, when) for slot in slots]
                _bound(times, lows, highs, since, until)
                continue
            doc = to_ecs(obj, ingested=when)
            part.mapped += 1
        else:
            doc = obj
        times = [rule_time(doc, primary, fallback) for primary, fallback in slots]
        _bound(times, lows, highs, since, until)
        sort_time = None
        kept = None
        matched = [members[p] for matchers, members in groups for p in matchers.matches(doc)]
        if eql:
            matched += [position for position, program in eql if program.prefilter(doc)]
        for rule_index in matched:
            moment = times[rule_slot[rule_index]]
            if not _inside(moment, since, until):
                continue
            if sort_time is None:
                sort_time = _sort_time(doc)
            fields = plan.fields_kept(rule_index)
            if fields is plan.kept_fields:  # the common cut, made once for every rule
                kept = kept if kept is not None else project(doc, fields)
                source = kept
            else:
                source = doc if fields is None else project(doc, fields)
            hits.append((rule_index, Hit(moment, sort_time, (number, index), source)))
    part.bounds = [(lo, hi) if lo is not None and hi is not None else None
                   for lo, hi in zip(lows, highs, strict=True)]


def _bound(times: list[datetime | None], lows: list[datetime | None],
           highs: list[datetime | None], since: datetime | None,
           until: datetime | None) -> None:
    for slot, moment in enumerate(times):
        if not _inside(moment, since, until):
            continue
        assert moment is not None
        low, high = lows[slot], highs[slot]
        if low is None or moment < low:
            lows[slot] = moment
        if high is None or moment > high:
            highs[slot] = moment


def _inside(moment: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """Whether ``moment`` falls within --since/--until (a document without a time never does)."""
    return moment is not None and (since is None or moment >= since) and (
        until is None or moment <= until)


def _event_time(record: Mapping[str, Any]) -> datetime | None:
    """When the record's event happened; replay treats it as ingested then, too."""
    value = record.get("eventTime")
    return parse_time(value) if isinstance(value, str) else None


def _raw_slot_time(primary: str, record: Mapping[str, Any], when: datetime) -> datetime | None:
    """What ``primary`` would hold once the record is mapped (replay ingests at eventTime):
    the pipeline's date parse for @timestamp, Fleet's whole-second cut for event.ingested."""
    from kmsdet.cloudtrail.to_ecs import _parse_date

    if primary == "event.ingested":
        return when.replace(microsecond=0)
    parsed = parse_time(_parse_date(record.get("eventTime")))
    # no parse: the pipeline keeps @timestamp as the read time, which replay sets to eventTime
    return parsed or when.replace(microsecond=when.microsecond // 1000 * 1000)
