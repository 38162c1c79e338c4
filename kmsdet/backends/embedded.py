"""The embedded backend: Kibana's query-rule execution, in memory, with no services.

It reproduces what the detection engine does on each run: search the rule's window
(``from``..``to`` evaluated at the run time) on ``timestamp_override`` with the fallback to
``@timestamp`` for documents that lack the override field, apply the query with Elasticsearch
semantics (kmsdet.kql.matcher) and the rule's exceptions, sort by time ascending and stop at
``max_signals``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from kmsdet.backends.base import Alert, Backend, Execution
from kmsdet.backends.documents import first_value, parse_time
from kmsdet.errors import UsageError
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_MAX_SIGNALS, window

ALERTS_MAX = 1000  # xpack.alerting.rules.run.alerts.max default
Matcher = Callable[[Mapping[str, Any]], bool]


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(self) -> None:
        self._matchers: dict[tuple[str, str], Matcher] = {}

    def execute(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        return [self.run(e.rule, e.documents, e.now) for e in executions]

    def run(self, rule: Rule, documents: Sequence[Mapping[str, Any]],
            now: datetime) -> list[Alert]:
        """Alerts that one run of ``rule`` at ``now`` raises on ``documents``."""
        data = rule.rule
        if data.type != "query" or data.language != "kuery":
            raise UsageError(f"the embedded backend runs KQL query rules; "
                             f"'{data.name}' is a {data.type}/{data.language} rule",
                             file=str(rule.source.path), field="rule.type",
                             hint="run it on the elasticsearch or kibana backend")
        matcher = self.matcher(rule)
        start, end = window(data.from_, data.to, now)
        primary = data.timestamp_override or "@timestamp"
        fallback = (primary != "@timestamp" and not data.timestamp_override_fallback_disabled)
        hits: list[tuple[datetime, Mapping[str, Any]]] = []
        for doc in documents:
            when = rule_time(doc, primary, fallback)
            if when is not None and start <= when <= end and matcher(doc):
                hits.append((when, doc))
        hits.sort(key=lambda hit: hit[0])
        cap = min(data.max_signals or DEFAULT_MAX_SIGNALS, ALERTS_MAX)
        return [Alert(rule_id=data.rule_id, event_id=_event_id(doc),
                      timestamp=_iso(first_value(doc, "@timestamp")), source=doc)
                for _, doc in hits[:cap]]

    def matcher(self, rule: Rule) -> Matcher:
        """The compiled query (exceptions included), compiled once per rule and query text."""
        key = (rule.rule_id, rule.rule.query or "")
        if key not in self._matchers:
            from kmsdet.backends.exceptions import with_exceptions
            from kmsdet.fields.registry import schema_for_indices
            from kmsdet.kql.matcher import compile_query
            from kmsdet.kql.parser import parse

            node = with_exceptions(parse(rule.rule.query or ""), rule)
            schema = schema_for_indices(tuple(rule.rule.index or ()))
            self._matchers[key] = compile_query(node, schema)
        return self._matchers[key]


def rule_time(doc: Mapping[str, Any], primary: str, fallback: bool) -> datetime | None:
    """The time the executor ranges on: the override field, else @timestamp if allowed."""
    value = first_value(doc, primary)
    if value is None and fallback:
        value = first_value(doc, "@timestamp")
    return parse_time(value) if value is not None else None


def _event_id(doc: Mapping[str, Any]) -> str | None:
    value = first_value(doc, "event.id")
    return str(value) if value is not None else None


def _iso(value: Any) -> str | None:
    return str(value) if value is not None else None
