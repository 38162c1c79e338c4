"""One EQL rule query compiled once: a prefilter for streaming and the per-run alert logic.

``prefilter(doc)`` says whether a document can take part in the rule at all (it matches one of
the query's event queries, ``until`` and missing steps included): a streaming engine keeps only
those. ``run(docs, size=...)`` takes the documents of one rule run's window, in the order they
were indexed, and returns what Elasticsearch's EQL search returns for that run, which is what
Kibana turns into alerts: matching events (time order, first ``size``), or sequences/samples
(first ``size``), each with its events.

Ordering is Elasticsearch's: the EQL timestamp field (``timestamp_field``, default
``@timestamp``), then the tiebreaker field if set, then the indexing order. Documents without
a timestamp are not searched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

from kmsdet.eql import ast
from kmsdet.eql.analysis import required_values
from kmsdet.eql.compiler import Cond, EqlCompiler
from kmsdet.eql.fields import FieldReader, as_scalar
from kmsdet.eql.parser import parse
from kmsdet.eql.sequences import Hit, match_samples, match_sequences
from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.matcher import _Doc
from kmsdet.kql.values import doc_date_nanos

Document = Mapping[str, Any]
_MISSING_KEY = object()


@dataclass(frozen=True, slots=True)
class EqlMatch:
    """One result of the EQL search: an event (``events`` has one document) or a sequence or
    sample (its events, in step order)."""

    events: tuple[Document, ...]
    is_sequence: bool

    @property
    def building_blocks(self) -> tuple[Document, ...]:
        """The events Kibana writes as building-block alerts beside a sequence alert."""
        return self.events if self.is_sequence else ()


@dataclass(frozen=True)
class _CompiledStep:
    test: Cond
    keys: tuple[tuple[Callable[[_Doc], Any], bool], ...]  # (read first value, optional)
    gate: tuple[FieldReader, frozenset[str]] | None = None  # necessary: a value in the set


class EqlProgram:
    def __init__(self, query: str | ast.Query, schema: FieldSchema | None = None, *,
                 timestamp_field: str | None = None, tiebreaker_field: str | None = None,
                 event_category_field: str | None = None,
                 exclude: Callable[[Document], bool] | None = None) -> None:
        """``exclude``: documents the search's filter removes (the rule's exceptions)."""
        self.query = parse(query) if isinstance(query, str) else query
        self.compiler = EqlCompiler(schema, 0)
        self.exclude = exclude
        self.category_field = event_category_field or "event.category"
        self.timestamp = self.compiler.reader(ast.Field(timestamp_field or "@timestamp"))
        self._ts_name = timestamp_field or "@timestamp"
        info = schema.get(self._ts_name) if schema is not None else None
        # The fast path reads a top-level key holding the whole name (``@timestamp``) only.
        self._ts_top = "." not in self._ts_name and self.timestamp.kind == "date"
        self._ts_millis = info is None or info.type != "date_nanos"
        self._ts_key = f"eql-ts|{self._ts_name}|{self._ts_millis}"
        self.tiebreaker = (self.compiler.value(ast.Field(tiebreaker_field))
                           if tiebreaker_field else None)
        query_ = self.query
        if isinstance(query_, ast.EventQuery):
            self.steps = [self._step(ast.Step(query_))]
            self.until = None
            self.missing: list[bool] = [False]
        else:
            self.steps = [self._step(s) for s in query_.steps]
            self.missing = [s.missing for s in query_.steps]
            until = query_.until if isinstance(query_, ast.Sequence) else None
            self.until = self._step(until) if until is not None else None
        self._tests = [s.test for s in self.steps] + ([self.until.test] if self.until else [])
        self._gates = [s.gate for s in self.steps] + ([self.until.gate] if self.until else [])
        self._cache_key = f"eql-steps|{id(self)}"

    def _step(self, step: ast.Step) -> _CompiledStep:
        condition = step.query.condition
        if step.query.category is not None:
            category = ast.Compare("==", ast.Field(self.category_field),
                                   ast.Literal(step.query.category))
            condition = ast.And((category, condition))
        keys = tuple((self.compiler.value(f), f.optional) for f in step.keys)
        return _CompiledStep(self.compiler.condition(condition), keys, self._gate(condition))

    def _gate(self, condition: ast.Expr) -> tuple[FieldReader, frozenset[str]] | None:
        """A cheap necessary test for ``condition``: one keyword field that must hold one of a
        few exact values (the most values-rich such field, typically ``event.action``)."""
        options = [(f, v) for f, v in required_values(condition).items()
                   if self.compiler.reader(ast.Field(f)).kind == "keyword"]
        if not options:
            return None
        field, values = max(options, key=lambda o: (o[0] == "event.action", -len(o[1])))
        return self.compiler.reader(ast.Field(field)), values

    @property
    def is_sequence(self) -> bool:
        return not isinstance(self.query, ast.EventQuery)

    # ------------------------------------------------------------------ streaming

    def prefilter(self, doc: Document) -> bool:
        """Whether ``doc`` matches any event query of the rule (and is not excluded)."""
        return self.prefilter_doc(_Doc(doc))

    def prefilter_doc(self, d: _Doc) -> bool:
        """:meth:`prefilter` on a document wrapper whose field cache other rules share."""
        results = d.cache.get(self._cache_key)
        if results is None:
            results = d.cache[self._cache_key] = [None] * len(self._tests)
        for index, test in enumerate(self._tests):
            found = results[index]
            if found is None:
                gate = self._gates[index]
                if gate is not None and gate[1].isdisjoint(gate[0].read(d)):
                    found = results[index] = False
                else:
                    found = results[index] = test(d) is True
            if found:
                return self.exclude is None or not self.exclude(d.source)
        return False

    def _holds(self, d: _Doc, index: int) -> bool:
        """Whether event query ``index`` holds, memoised per document (``d.cache``) so that a
        run after the prefilter does not evaluate a condition twice."""
        results = d.cache.get(self._cache_key)
        if results is None:
            results = d.cache[self._cache_key] = [None] * len(self._tests)
        found = results[index]
        if found is None:
            found = results[index] = self._tests[index](d) is True
        return found

    # ------------------------------------------------------------------ one run

    def run(self, docs: Iterable[Document | _Doc], *, size: int) -> list[EqlMatch]:
        """What the EQL search returns for these documents (one run's window); documents may
        come wrapped (``_Doc``) from a prefilter, whose conversions and results are reused."""
        events = []
        ts_key = self._ts_key
        for position, item in enumerate(docs):
            d = item if type(item) is _Doc else _Doc(item)
            if self.exclude is not None and self.exclude(d.source):
                continue
            stamp = d.cache.get(ts_key, _MISSING_KEY)
            if stamp is _MISSING_KEY:
                stamp = self._stamp(d)
            if stamp is None:
                continue
            tie = _tie(self.tiebreaker(d)) if self.tiebreaker is not None else _NO_TIE
            events.append(((stamp, tie, position), d))
        events.sort(key=_ORDINAL)
        if not self.is_sequence:
            key, holds = self._cache_key, self._holds
            hits = []
            for _, d in events:
                known = d.cache.get(key)  # the prefilter's memo, when it ran
                if (known[0] if known is not None and known[0] is not None else holds(d, 0)):
                    hits.append(d.source)
                    if len(hits) >= size:
                        break
            return [EqlMatch((doc,), False) for doc in hits]
        steps = [*self.steps, *([self.until] if self.until is not None else [])]
        hits = self._hits(steps, events)
        stage_hits = hits[:len(self.steps)]
        if isinstance(self.query, ast.Sample):
            found = match_samples(stage_hits, size)
        else:
            assert isinstance(self.query, ast.Sequence)
            until = hits[len(self.steps)] if self.until is not None else []
            found = match_sequences(stage_hits, self.missing, self.query.maxspan_nanos,
                                    until, size)
        return [EqlMatch(tuple(d.source for d in seq), True) for seq in found]

    def _stamp(self, d: _Doc) -> int | None:
        """The event's EQL timestamp in epoch nanos (the indexed value: milliseconds for a
        ``date`` field), or None when it has none; computed once per document."""
        cache = d.cache
        found = cache.get(self._ts_key, _MISSING_KEY)
        if found is _MISSING_KEY:
            found = cache[self._ts_key] = self._parse_stamp(d)
        return found  # type: ignore[return-value]

    def _parse_stamp(self, d: _Doc) -> int | None:
        raw = d.source.get(self._ts_name) if self._ts_top else None
        if type(raw) is str and len(raw) in (20, 24) and raw[-1] == "Z" and raw[10] == "T":
            try:  # the common ISO form, parsed in C; anything else takes the general path
                moment = datetime.fromisoformat(raw[:-1] + "+00:00")
            except ValueError:
                moment = None
            if moment is not None:
                nanos = (moment - _EPOCH) // _MICRO * 1000
                return nanos - nanos % 1_000_000 if self._ts_millis else nanos
        stamps = self.timestamp.read(d)
        if not stamps:
            return None
        return min(stamps) if self.timestamp.kind == "date" else _nanos(stamps[0])

    def _hits(self, steps: Sequence[_CompiledStep], events: Sequence[tuple[Any, _Doc]]
              ) -> list[list[Hit]]:
        """Each step's (and until's) events with their join keys, in one pass."""
        out: list[list[Hit]] = [[] for _ in steps]
        cache_key, holds = self._cache_key, self._holds
        for ordinal, d in events:
            results = d.cache.get(cache_key)
            for index, step in enumerate(steps):
                found = results[index] if results is not None else None
                if found is None:
                    found = holds(d, index)
                    results = d.cache[cache_key]
                if found:
                    key = _key(step, d)
                    if key is not None:
                        out[index].append(Hit(ordinal, key, d))
        return out


def _key(step: _CompiledStep, d: _Doc) -> tuple[Any, ...] | None:
    """The join key, or None when a non-optional key field is null (such events never join)."""
    values = []
    for read, optional in step.keys:
        value = read(d)
        if value is None and not optional:
            return None
        values.append(value)
    return tuple(values)


_NO_TIE = (0, 0)
_ORDINAL = itemgetter(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)


def _tie(value: Any) -> tuple[int, Any]:
    # Elasticsearch sorts missing tiebreakers last.
    return (1, 0) if value is None else (0, value)


def _nanos(value: Any) -> int | None:
    """An unmapped timestamp as a date field would index it (numbers are epoch millis)."""
    return doc_date_nanos(as_scalar("dynamic", value))
