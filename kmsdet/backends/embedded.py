"""The embedded backend: Kibana's rule execution, in memory, with no services.

It reproduces what the detection engine does on each run: search the rule's window
(``from``..``to`` evaluated at the run time) on ``timestamp_override`` with the fallback to
``@timestamp`` for documents that lack the override field, apply the query with Elasticsearch
semantics (kmsdet.kql.matcher) and the rule's exceptions, then raise alerts by rule type:
query (one per event, time ascending), threshold (one per group whose count, and distinct
count if set, reaches the threshold) and new_terms (one per term absent from the history
window), stopping at ``max_signals``.

A large document source that can be built in independent chunks (:class:`ChunkedDocuments`,
the benign baseline) is never materialised here: worker processes (fork, one per CPU) each
build chunks, match every rule on them and send back only the hits, which the parent merges in
document order before applying the same alert logic. Shipping documents between processes
costs more than building them, so only hits travel.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from kmsdet.backends.base import EQL_TYPE, Alert, Backend, Execution, require_supported
from kmsdet.backends.documents import first_value, parse_time, values_at
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_MAX_SIGNALS, resolve, time_field, window

ALERTS_MAX = 1000  # xpack.alerting.rules.run.alerts.max default
Matcher = Callable[[Mapping[str, Any]], bool]
Hit = tuple[datetime, Mapping[str, Any]]


@dataclass(frozen=True)
class Derived:
    """A copy of every original document, appended after all of them, that differs from its
    original only in ``fields``: a query that reads none of them matches both alike."""

    make: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    fields: frozenset[str]


@runtime_checkable
class ChunkedDocuments(Protocol):
    """Documents that can be built chunk by chunk, each chunk on its own (in any process).

    The document order is: the originals of chunk 0, 1, ... then, for each ``derived`` entry,
    its copies of all originals in that same order.
    """

    chunk_count: int
    derived: tuple[Derived, ...]

    def chunk(self, index: int) -> Sequence[Mapping[str, Any]]: ...


class EmbeddedBackend(Backend):
    name = "embedded"
    runs_eql = True

    def __init__(self, workers: int | None = None) -> None:
        """``workers``: processes for chunked sources (default: the CPUs this process may use;
        1 evaluates them in this process)."""
        self._matchers: dict[tuple[str, str, datetime | None], Matcher] = {}
        self.workers = workers if workers is not None else _usable_cpus()

    def execute(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        """Executions that share one document list (a baseline) are evaluated together."""
        results: list[list[Alert]] = [[] for _ in executions]
        groups: dict[int, list[int]] = {}
        materialised: dict[int, Sequence[Mapping[str, Any]]] = {}
        for index, execution in enumerate(executions):
            if execution.rule.rule.type == EQL_TYPE:  # kmsdet.eql: one rule at a time
                source = execution.documents
                if id(source) not in materialised:
                    materialised[id(source)] = _materialised(source)
                results[index] = self.run(execution.rule, materialised[id(source)],
                                          execution.now)
                continue
            groups.setdefault(id(execution.documents), []).append(index)
        for indices in groups.values():
            batch = [executions[i] for i in indices]
            if isinstance(batch[0].documents, ChunkedDocuments):
                alerts = self.run_chunked(batch)
            elif len(batch) > 1:
                alerts = self.run_batch(batch)
            else:
                alerts = [self.run(batch[0].rule, batch[0].documents, batch[0].now)]
            for index, found in zip(indices, alerts, strict=True):
                results[index] = found
        return results

    def run(self, rule: Rule, documents: Sequence[Mapping[str, Any]],
            now: datetime) -> list[Alert]:
        """Alerts that one run of ``rule`` at ``now`` raises on ``documents``."""
        plan = _RunPlan(rule, now)
        matcher = plan.eql.prefilter if plan.eql is not None else self.matcher(rule, now)
        for doc in documents:
            when = rule_time(doc, plan.primary, plan.fallback)
            if when is not None and plan.low <= when <= plan.end and matcher(doc):
                plan.hits.append((when, doc))
        return plan.alerts()

    def run_batch(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        """Several rules over the same documents: each document is matched once for all of
        them (kmsdet.kql.matcher.MatcherSet) and its timestamps are read once."""
        from kmsdet.fields.registry import schema_for_indices
        from kmsdet.kql.matcher import compile_many

        plans = [_RunPlan(e.rule, e.now) for e in executions]
        groups: dict[tuple[tuple[str, ...], datetime], list[int]] = {}
        for index, execution in enumerate(executions):
            key = (tuple(execution.rule.rule.index or ()), execution.now)
            groups.setdefault(key, []).append(index)
        documents = executions[0].documents
        for (indices_key, now), members in groups.items():
            nodes = [self.query_node(plans[i].rule) for i in members]
            matchers = compile_many(nodes, schema_for_indices(indices_key), now=now)
            for doc in documents:
                times: dict[tuple[str, bool], datetime | None] = {}
                for position in matchers.matches(doc):
                    plan = plans[members[position]]
                    slot = (plan.primary, plan.fallback)
                    if slot not in times:
                        times[slot] = rule_time(doc, plan.primary, plan.fallback)
                    when = times[slot]
                    if when is not None and plan.low <= when <= plan.end:
                        plan.hits.append((when, doc))
        return [plan.alerts() for plan in plans]

    def run_chunked(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        """Several rules over one :class:`ChunkedDocuments` source: the alerts
        :meth:`run_batch` gives on the materialised documents, without materialising them."""
        from kmsdet.fields.registry import schema_for_indices
        from kmsdet.kql.matcher import compile_many

        source = executions[0].documents
        assert isinstance(source, ChunkedDocuments)
        plans = [_RunPlan(e.rule, e.now) for e in executions]
        members: dict[tuple[tuple[str, ...], datetime], list[int]] = {}
        for index, execution in enumerate(executions):
            key = (tuple(execution.rule.rule.index or ()), execution.now)
            members.setdefault(key, []).append(index)
        groups = []
        for (indices_key, now), group in members.items():
            nodes = [self.query_node(plans[i].rule) for i in group]
            reuse = [not any(_reads_any(n, d.fields) for n in nodes) for d in source.derived]
            groups.append(_ChunkGroup([plans[i] for i in group], group,
                                      compile_many(nodes, schema_for_indices(indices_key),
                                                   now=now), reuse))
        job = _ChunkJob(source, groups)
        found: list[list[tuple[tuple[int, int, int], Hit]]] = [[] for _ in plans]
        for chunk_hits in _map_chunks(job, self.workers):
            for plan_index, order, hit in chunk_hits:
                found[plan_index].append((order, hit))
        for plan, hits in zip(plans, found, strict=True):
            hits.sort(key=lambda item: item[0])
            plan.hits = [hit for _, hit in hits]
        return [plan.alerts() for plan in plans]

    def query_node(self, rule: Rule):  # noqa: ANN201 - kmsdet.kql.ast.Node
        """The rule's parsed query with its exceptions, as every engine must apply them."""
        from kmsdet.backends.exceptions import with_exceptions
        from kmsdet.kql.parser import parse
        from kmsdet.rules.query_errors import located_in_rule

        with located_in_rule(rule):
            return with_exceptions(parse(rule.rule.query or ""), rule)

    def matcher(self, rule: Rule, now: datetime | None = None) -> Matcher:
        """The compiled query, compiled once per rule and query text (and run time, when the
        query uses date math, which the matcher resolves against it)."""
        query = rule.rule.query or ""
        when = now if "now" in query.lower() else None
        key = (rule.rule_id, query, when)
        if key not in self._matchers:
            from kmsdet.fields.registry import schema_for_indices
            from kmsdet.kql.matcher import compile_query
            from kmsdet.rules.query_errors import located_in_rule

            schema = schema_for_indices(tuple(rule.rule.index or ()))
            node = self.query_node(rule)
            with located_in_rule(rule):
                self._matchers[key] = compile_query(node, schema, now=when)
        return self._matchers[key]


def _materialised(documents: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """A chunked source as one list in its document order (EQL rules need whole windows)."""
    if not isinstance(documents, ChunkedDocuments) or isinstance(documents, Sequence):
        return documents  # a sequence iterates in that order itself
    originals = [doc for index in range(documents.chunk_count) for doc in documents.chunk(index)]
    return originals + [copy.make(doc) for copy in documents.derived for doc in originals]


@dataclass
class _ChunkGroup:
    """Rules sharing one schema and run time: one MatcherSet; ``reuse[k]`` says whether the
    matches of an original hold for its ``derived[k]`` copy (no query reads a changed field)."""

    plans: list[_RunPlan]
    positions: list[int]  # each plan's index among the run_chunked executions
    matchers: Any  # kmsdet.kql.matcher.MatcherSet
    reuse: list[bool]


@dataclass
class _ChunkJob:
    source: ChunkedDocuments
    groups: list[_ChunkGroup]


ChunkHits = list[tuple[int, tuple[int, int, int], Hit]]
_JOB: _ChunkJob | None = None  # what forked workers inherit


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _map_chunks(job: _ChunkJob, workers: int) -> list[ChunkHits]:
    """Every chunk's hits, chunk order; in forked workers when there is more than one chunk
    and more than one worker (and the platform can fork), else in this process.

    Workers run without the cyclic garbage collector: a chunk's documents are freed by
    reference counting, and the collector's passes over them cost a sixth of the work."""
    global _JOB
    chunks = range(job.source.chunk_count)
    workers = min(workers, len(chunks))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_chunk_hits(job, index) for index in chunks]
    _JOB = job
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=gc.disable) as pool:
            return pool.map(_forked_chunk_hits, chunks, chunksize=1)
    finally:
        _JOB = None


def _forked_chunk_hits(index: int) -> ChunkHits:
    assert _JOB is not None, "workers are forked after the job is set"
    return _chunk_hits(_JOB, index)


def _chunk_hits(job: _ChunkJob, index: int) -> ChunkHits:
    """Build chunk ``index`` and match it (and its derived copies): the same per-document steps
    as EmbeddedBackend.run_batch, with each hit's place in the document order."""
    docs = job.source.chunk(index)
    derived = job.source.derived
    out: ChunkHits = []
    for group in job.groups:
        plans, positions, matchers = group.plans, group.positions, group.matchers
        for number, doc in enumerate(docs):
            matched = matchers.matches(doc)
            if matched:
                _collect(doc, matched, plans, positions, (0, index, number), out)
            for k, copy in enumerate(derived, start=1):
                if group.reuse[k - 1]:
                    if not matched:
                        continue
                    shifted = copy.make(doc)
                    hits_on_copy = matched
                else:
                    shifted = copy.make(doc)
                    hits_on_copy = matchers.matches(shifted)
                if hits_on_copy:
                    _collect(shifted, hits_on_copy, plans, positions, (k, index, number), out)
    return out


def _collect(doc: Mapping[str, Any], matched: list[int], plans: list[_RunPlan],
             positions: list[int], order: tuple[int, int, int], out: ChunkHits) -> None:
    times: dict[tuple[str, bool], datetime | None] = {}
    for position in matched:
        plan = plans[position]
        slot = (plan.primary, plan.fallback)
        if slot not in times:
            times[slot] = rule_time(doc, plan.primary, plan.fallback)
        when = times[slot]
        if when is not None and plan.low <= when <= plan.end:
            out.append((positions[position], order, (when, doc)))


def _reads_any(node: Any, fields: frozenset[str]) -> bool:
    """Whether the query may read one of ``fields``: a named field equal to, inside or
    containing one, a wildcard field name, or a clause on the default field (all fields)."""
    from kmsdet.kql.ast import Exists, Is, Range, field_refs, walk

    for item in walk(node):
        if isinstance(item, (Is, Exists, Range)) and item.field is None:
            return True
    for name, _ in field_refs(node):
        if "*" in name or "?" in name:
            return True
        for field in fields:
            if name == field or field.startswith(name + ".") or name.startswith(field + "."):
                return True
    return False


class _RunPlan:
    """One rule run: its window, the range of documents it reads, and the hits found there."""

    def __init__(self, rule: Rule, now: datetime) -> None:
        require_supported(rule, "embedded", eql=True)
        data = rule.rule
        self.eql = None
        if data.type == EQL_TYPE:
            from kmsdet.eql.rule import program_for

            self.eql = program_for(rule)
        self.rule = rule
        self.start, self.end = window(data.from_, data.to, now)
        self.low = self.start
        if data.type == "new_terms" and data.new_terms is not None:
            self.low = min(self.start,
                           resolve(data.new_terms.history_window or "now-7d", now))
        self.primary, self.fallback = time_field(data.timestamp_override,
                                                 data.timestamp_override_fallback_disabled)
        self.hits: list[Hit] = []

    def alerts(self) -> list[Alert]:
        data = self.rule.rule
        # Kibana sorts on the override field, then on @timestamp (both ascending).
        ordered = sorted(self.hits, key=lambda hit: (hit[0], _sort_time(hit[1])))
        in_window = [h for h in ordered if h[0] >= self.start]
        if data.type == EQL_TYPE:
            from kmsdet.eql.rule import eql_alerts

            return eql_alerts(self.rule, [doc for when, doc in self.hits if when >= self.start])
        if data.type == "threshold":
            alerts = threshold_alerts(self.rule, in_window)
        elif data.type == "new_terms":
            history = [h for h in ordered if h[0] < self.start]
            alerts = new_terms_alerts(self.rule, in_window, history)
        else:
            alerts = [_event_alert(data.rule_id, doc) for _, doc in in_window]
        return alerts[:min(data.max_signals or DEFAULT_MAX_SIGNALS, ALERTS_MAX)]


def rule_time(doc: Mapping[str, Any], primary: str, fallback: bool) -> datetime | None:
    """The time the executor ranges on: the override field, else @timestamp if allowed."""
    value = first_value(doc, primary)
    if value is None and fallback:
        value = first_value(doc, "@timestamp")
    return parse_time(value) if value is not None else None


def _sort_time(doc: Mapping[str, Any]) -> datetime:
    return parse_time(first_value(doc, "@timestamp")) or datetime.min.replace(tzinfo=timezone.utc)


def _event_alert(rule_id: str, doc: Mapping[str, Any]) -> Alert:
    return Alert(rule_id=rule_id, event_id=_event_id(doc),
                 timestamp=_iso(first_value(doc, "@timestamp")), source=doc)


def _terms(doc: Mapping[str, Any], fields: Sequence[str]) -> list[tuple[str, ...]]:
    """Every combination of the fields' values (a multi-valued field yields several terms).

    Elasticsearch's terms aggregations skip documents missing a field, so one missing field
    yields no term at all.
    """
    combos: list[tuple[str, ...]] = [()]
    for name in fields:
        values = [_term_text(v) for v in values_at(doc, name)]
        if not values:
            return []
        combos = [c + (v,) for c in combos for v in dict.fromkeys(values)]
    return combos


def _term_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def threshold_alerts(rule: Rule, hits: list[Hit]) -> list[Alert]:
    """One alert per group of ``threshold.field`` values reaching ``threshold.value``."""
    spec = rule.rule.threshold
    assert spec is not None
    fields = spec.fields
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for _, doc in hits:
        for term in _terms(doc, fields) if fields else [()]:
            groups.setdefault(term, []).append(doc)
    alerts = []
    for term, docs in groups.items():
        if len(docs) < spec.value:
            continue
        if spec.cardinality:
            card = spec.cardinality[0]
            distinct = {_term_text(v) for d in docs for v in values_at(d, card.field)}
            if len(distinct) < card.value:
                continue
        source = {"threshold_result": {
            "terms": [{"field": f, "value": v} for f, v in zip(fields, term, strict=True)],
            "count": len(docs)}}
        alerts.append(Alert(rule_id=rule.rule_id, event_id=None,
                            timestamp=_iso(first_value(docs[0], "@timestamp")), source=source))
    return alerts


def new_terms_alerts(rule: Rule, hits: list[Hit],
                     history: list[Hit]) -> list[Alert]:
    """One alert per term of ``new_terms_fields`` seen in the window but not in the history."""
    spec = rule.rule.new_terms
    assert spec is not None
    known = {term for _, doc in history for term in _terms(doc, spec.value)}
    alerts = []
    for _, doc in hits:
        fresh = [t for t in _terms(doc, spec.value) if t not in known]
        if fresh:
            known.update(fresh)
            alerts.append(_event_alert(rule.rule_id, doc))
    return alerts


def _event_id(doc: Mapping[str, Any]) -> str | None:
    value = first_value(doc, "event.id")
    return str(value) if value is not None else None


def _iso(value: Any) -> str | None:
    return str(value) if value is not None else None
