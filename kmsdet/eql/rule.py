"""An EQL rule's run as Kibana's EQL executor performs it, on top of kmsdet.eql.program.

Kibana sends one EQL search per run with ``size = max_signals`` over the run's window (the
``timestamp_override`` range filter, the exceptions as a negated filter) and the rule's
``timestamp_field``, ``tiebreaker_field`` and ``event_category_override``. Event results become
one alert each; each sequence (or sample) becomes one sequence ("shell") alert followed by
one building-block alert per event (missing-step events excluded). kmsdet counts a sequence as
ONE alert (the sequence alert, what a case's ``expect`` counts); the building blocks ride in its
source. kmsdet applies the alerting framework's cap on documents written per run (1,000) to
shell and building-block documents alike (an assumption: Kibana's EQL executor passes no
explicit limit to its bulk create).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kmsdet.backends.base import Alert
from kmsdet.eql.program import EqlMatch, EqlProgram
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import DEFAULT_MAX_SIGNALS

ALERTS_MAX = 1000  # xpack.alerting.rules.run.alerts.max default


def program_for(rule: Rule) -> EqlProgram:
    """The rule's compiled query (compiled once per rule and query text)."""
    key = (rule.rule_id, rule.rule.query or "", _exception_key(rule), tuple(rule.rule.index or ()))
    if key not in _PROGRAMS:
        _PROGRAMS[key] = _program(rule, key[1])
    return _PROGRAMS[key]


def _exception_key(rule: Rule) -> str:
    items = rule.kmsdet.exceptions if rule.kmsdet else []
    return repr([item.model_dump() for item in items])


_PROGRAMS: dict[tuple[Any, ...], EqlProgram] = {}


def _program(rule: Rule, query: str) -> EqlProgram:
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.rules.query_errors import located_in_rule

    data = rule.rule
    schema = schema_for_indices(tuple(data.index or ()))
    with located_in_rule(rule):
        return EqlProgram(query, schema, timestamp_field=data.timestamp_field,
                          tiebreaker_field=data.tiebreaker_field,
                          event_category_field=data.event_category_override,
                          exclude=_exclusion(rule, schema))


def _exclusion(rule: Rule, schema: Any) -> Any:
    """The exceptions as a document test (Kibana adds them to the EQL search's filter)."""
    from kmsdet.backends.exceptions import exception_node
    from kmsdet.kql.ast import Or, Span
    from kmsdet.kql.matcher import compile_query

    items = rule.kmsdet.exceptions if rule.kmsdet else []
    if not items:
        return None
    return compile_query(Or(tuple(exception_node(i) for i in items), Span(0, 0)), schema)


def eql_alerts(rule: Rule, window_docs: Sequence[Mapping[str, Any]]) -> list[Alert]:
    """Alerts of one run, given the run window's documents in indexing order."""
    data = rule.rule
    size = data.max_signals or DEFAULT_MAX_SIGNALS
    matches = program_for(rule).run(window_docs, size=size)
    return to_alerts(rule.rule_id, matches)


def to_alerts(rule_id: str, matches: Sequence[EqlMatch]) -> list[Alert]:
    alerts: list[Alert] = []
    written = 0
    for match in matches:
        if written + 1 > ALERTS_MAX:  # the sequence (shell) alert is written first
            break
        written += 1 + len(match.building_blocks)
        first = match.events[0]
        if match.is_sequence:
            alerts.append(Alert(rule_id=rule_id, event_id=sequence_id(match),
                                timestamp=_stamp(first), source={"sequence": list(match.events)}))
        else:
            alerts.append(Alert(rule_id=rule_id, event_id=_event_id(first),
                                timestamp=_stamp(first), source=first))
    return alerts


def sequence_id(match: EqlMatch) -> str:
    """A sequence alert's identity: its events' (Kibana derives the alert id from them, so the
    same sequence found again by an overlapping run is not a new alert)."""
    parts = [_event_id(doc) or _stamp(doc) or "?" for doc in match.events]
    return "sequence:" + "+".join(parts)


def _stamp(doc: Mapping[str, Any]) -> str | None:
    from kmsdet.backends.documents import first_value

    value = first_value(doc, "@timestamp")
    return str(value) if value is not None else None


def _event_id(doc: Mapping[str, Any]) -> str | None:
    from kmsdet.backends.documents import first_value

    value = first_value(doc, "event.id")
    return str(value) if value is not None else None
