"""Why an EQL rule did or did not raise on a case: each event's steps, keys and time.

A failed sequence case is hard to read from alert counts alone; this says, per event, which
steps (and ``until``) its event queries matched, the join key it would join on (``None``: a
null key that never joins), and the time the sequence orders it by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kmsdet.eql import ast
from kmsdet.eql.program import EqlProgram, _key
from kmsdet.kql.matcher import _Doc


def explain_events(program: EqlProgram, documents: Sequence[Mapping[str, Any]]) -> list[str]:
    query = program.query
    names = ([f"step {i + 1}" + (" (missing)" if s.missing else "")
              for i, s in enumerate(query.steps)]
             if not isinstance(query, ast.EventQuery) else ["the query"])
    steps = list(program.steps)
    if program.until is not None:
        names.append("until")
        steps.append(program.until)
    lines = []
    for number, doc in enumerate(documents, start=1):
        d = _Doc(doc)
        stamp = program._stamp(d)
        when = doc.get("@timestamp") if stamp is not None else "no timestamp: not searched"
        matched = []
        for index, (name, step) in enumerate(zip(names, steps, strict=True)):
            if program._holds(d, index):
                key = _key(step, d) if step.keys else ()
                matched.append(name + (f" by {list(key)}" if key else
                                       " (a by field is null: never joins)" if key is None
                                       else ""))
        what = ", ".join(matched) if matched else "no step"
        if matched and program.exclude is not None and program.exclude(doc):
            what += " (removed by an exception)"
        lines.append(f"event {number} at {when}: matches {what}")
    return lines
