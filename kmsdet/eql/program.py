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
from typing import Any

from kmsdet.eql import ast
from kmsdet.eql.compiler import Cond, EqlCompiler
from kmsdet.eql.fields import as_scalar
from kmsdet.eql.parser import parse
from kmsdet.eql.sequences import Hit, match_samples, match_sequences
from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.matcher import _Doc
from kmsdet.kql.values import doc_date_nanos

Document = Mapping[str, Any]
_MISSING_KEY = object()


@dataclass(frozen=True)
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
        tests = [s.test for s in self.steps] + ([self.until.test] if self.until else [])
        self._any = tests

    def _step(self, step: ast.Step) -> _CompiledStep:
        condition = step.query.condition
        if step.query.category is not None:
            category = ast.Compare("==", ast.Field(self.category_field),
                                   ast.Literal(step.query.category))
            condition = ast.And((category, condition))
        keys = tuple((self.compiler.value(f), f.optional) for f in step.keys)
        return _CompiledStep(self.compiler.condition(condition), keys)

    @property
    def is_sequence(self) -> bool:
        return not isinstance(self.query, ast.EventQuery)

    # ------------------------------------------------------------------ streaming

    def prefilter(self, doc: Document) -> bool:
        """Whether ``doc`` matches any event query of the rule (and is not excluded)."""
        d = _Doc(doc)
        if not any(test(d) is True for test in self._any):
            return False
        return self.exclude is None or not self.exclude(doc)

    # ------------------------------------------------------------------ one run

    def run(self, docs: Iterable[Document], *, size: int) -> list[EqlMatch]:
        """What the EQL search returns for these documents (one run's window)."""
        events = []
        for position, doc in enumerate(docs):
            if self.exclude is not None and self.exclude(doc):
                continue
            d = _Doc(doc)
            stamps = self.timestamp.read(d)
            if not stamps:
                continue
            stamp = min(stamps) if self.timestamp.kind == "date" else _nanos(stamps[0])
            if stamp is None:
                continue
            tie = self.tiebreaker(d) if self.tiebreaker is not None else None
            events.append(((stamp, _tie(tie), position), d))
        events.sort(key=lambda item: item[0])
        if not self.is_sequence:
            test = self.steps[0].test
            hits = [d.source for _, d in events if test(d) is True]
            return [EqlMatch((doc,), False) for doc in hits[:size]]
        stage_hits = [self._hits(step, events) for step in self.steps]
        if isinstance(self.query, ast.Sample):
            found = match_samples(stage_hits, size)
        else:
            assert isinstance(self.query, ast.Sequence)
            until = self._hits(self.until, events) if self.until is not None else []
            found = match_sequences(stage_hits, self.missing, self.query.maxspan_nanos,
                                    until, size)
        return [EqlMatch(tuple(d.source for d in seq), True) for seq in found]

    def _hits(self, step: _CompiledStep, events: Sequence[tuple[Any, _Doc]]) -> list[Hit]:
        out = []
        for ordinal, d in events:
            if step.test(d) is not True:
                continue
            key = _key(step, d)
            if key is not None:
                out.append(Hit(ordinal, key, d))
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


def _tie(value: Any) -> tuple[int, Any]:
    # Elasticsearch sorts missing tiebreakers last.
    return (1, 0) if value is None else (0, value)


def _nanos(value: Any) -> int | None:
    """An unmapped timestamp as a date field would index it (numbers are epoch millis)."""
    return doc_date_nanos(as_scalar("dynamic", value))
