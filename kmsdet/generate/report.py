"""What `kmsdet generate` shows: events as text for review, or one JSON object for machines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kmsdet.generate.cases import WriteResult
from kmsdet.generate.for_rule import RuleEvent, RuleGeneration
from kmsdet.generate.solve import ABSENT


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("<absent>" if v is ABSENT else v) for k, v in values.items()}


def event_json(event: RuleEvent, *, raw: bool) -> dict[str, Any]:
    generated = event.event
    out: dict[str, Any] = {
        "kind": generated.kind,
        "name": generated.name,
        "values": _values(generated.values),
        "document": event.document,
        "overrides": event.raw.overrides if event.raw else None,
    }
    if generated.kind == "fire":
        out["branches"] = list(generated.branches)
    else:
        out["clause"] = generated.clause
    if raw:
        out["raw"] = event.raw.record if event.raw else None
    if event.note:
        out["note"] = event.note
    return out


def as_json(result: RuleGeneration, written: WriteResult | None, *, raw: bool) -> dict[str, Any]:
    gen = result.generation
    return {
        "rule_id": result.rule.rule_id,
        "rule": result.rule.name,
        "file": str(result.rule.source.path),
        "firing": [event_json(e, raw=raw) for e in result.firing],
        "near_misses": [event_json(e, raw=raw) for e in result.near_misses],
        "clauses": [{"clause": c.text, "negatable": c.negatable, "near_miss": c.near_miss
                     is not None, "reason": c.reason} for c in gen.clauses],
        "branches": gen.branches,
        "uncovered_branches": gen.uncovered,
        "unsatisfiable": gen.unsatisfiable.message if gen.unsatisfiable else None,
        "written": None if written is None else {
            "file": str(written.path), "cases": written.written,
            "skipped": [{"case": n, "why": w} for n, w in written.skipped]},
    }


def render_text(result: RuleGeneration, written: WriteResult | None, *, raw: bool,
                full: bool = False) -> Iterator[str]:
    """Each event by the fields the query reads (``full``: the whole document or record),
    so that a review reads what matters; JSON always carries everything."""
    gen = result.generation
    yield f"{result.rule.name} ({result.rule.source.path})"
    if gen.unsatisfiable is not None:
        yield f"no document can satisfy the query: {gen.unsatisfiable.message}"
    for title, events in (("must fire", result.firing), ("near misses", result.near_misses)):
        yield ""
        yield f"== {title}: {len(events)}"
        for event in events:
            yield from _event_lines(event, raw=raw, full=full)
    if not full:
        yield ""
        yield "(the fields the query reads; --full prints whole documents, --format json all)"
    not_negatable = [c for c in gen.clauses if c.near_miss is None]
    if not_negatable:
        yield ""
        yield "clauses without a near miss:"
        for clause in not_negatable:
            yield f"  - {clause.text}: {clause.reason}"
    if gen.uncovered:
        yield ""
        yield "branches no must-fire event takes: " + "; ".join(gen.uncovered)
    if written is not None:
        yield ""
        yield f"{written.path}: {len(written.written)} case(s) appended"
        for name in written.written:
            yield f"  + {name}"
        for name, why in written.skipped:
            yield f"  - {name}: {why}"


def _event_lines(event: RuleEvent, *, raw: bool, full: bool) -> Iterator[str]:
    yield ""
    yield f"-- {event.event.name}"
    if event.raw is not None:
        yield "   case overrides: " + json.dumps(event.raw.overrides)
    elif event.note:
        yield f"   (ECS only: {event.note})"
    if not full:
        for field, value in _values(event.event.values).items():
            shown = _at(event.document, field, value)
            yield f"   {field}: {json.dumps(shown, default=str)}"
        return
    body = event.raw.record if raw and event.raw is not None else event.document
    for line in json.dumps(body, indent=2, default=str).splitlines():
        yield "   " + line


def _at(document: dict[str, Any], field: str, default: Any) -> Any:
    """The document's value at dotted ``field`` (objects or dotted keys), else ``default``."""
    if field in document:
        return document[field]
    head, _, rest = field.partition(".")
    inner = document.get(head)
    if rest and isinstance(inner, dict):
        return _at(inner, rest, default)
    return "<absent>" if default == "<absent>" else default
