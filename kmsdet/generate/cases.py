"""Appending generated events to a rule's ``.cases.toml`` in the project's case format.

The file is the reviewer's, so what is already there is never rewritten: new cases are
appended after a comment saying where they came from, and a case is left out when the file
already has one of that name, or one that exercises the same thing (an existing must-not-fire
case that already breaks that clause, an existing must-fire case that already takes those
branches). The appended text is parsed with the case loader's model before anything is written.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kmsdet.cases.events import build_case_events
from kmsdet.cases.loader import cases_path, load_cases
from kmsdet.cases.model import Case, CaseFile
from kmsdet.cloudtrail.builder import TOP_LEVEL_ORDER
from kmsdet.cloudtrail.to_ecs import to_ecs
from kmsdet.errors import InputError, UsageError
from kmsdet.generate.for_rule import RuleEvent, RuleGeneration
from kmsdet.generate.generator import clause_text, top_clauses

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_FIRST_KEYS = ("eventName", "eventSource")


@dataclass
class WriteResult:
    path: Path
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (case name, why)


def toml_key(key: str) -> str:
    return ".".join(p if _BARE_KEY.match(p) else json.dumps(p) for p in key.split("."))


def toml_value(value: Any) -> str:
    """A TOML literal for a JSON value (None becomes the builder's null marker)."""
    if value is None:
        return '"<null>"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _key_order(key: str) -> tuple[int, str]:
    head = key.split(".", 1)[0]
    if head in _FIRST_KEYS:
        return _FIRST_KEYS.index(head), key
    position = TOP_LEVEL_ORDER.index(head) if head in TOP_LEVEL_ORDER else len(TOP_LEVEL_ORDER)
    return len(_FIRST_KEYS) + position, key


def render_overrides(overrides: dict[str, Any]) -> list[str]:
    """One event's ``key = value`` lines, the record's natural order first."""
    return [f"{toml_key(k)} = {toml_value(overrides[k])}" for k in sorted(overrides,
                                                                           key=_key_order)]


def render_case(event: RuleEvent) -> str:
    assert event.raw is not None
    generated = event.event
    expect = 1 if generated.kind == "fire" else 0
    if generated.kind == "fire":
        description = "generated: a must-fire event" + (
            f" taking {', '.join(generated.branches)}" if generated.branches else "")
    else:
        description = (f"generated: satisfies every other clause and breaks "
                       f"`{generated.clause}`")
    lines = ["[[case]]", f"name = {toml_value(generated.name)}",
             f"description = {toml_value(description)}", f"expect = {expect}",
             "[[case.event]]"]
    lines.extend(render_overrides(event.raw.overrides))
    return "\n".join(lines) + "\n"


def _existing_coverage(result: RuleGeneration, cases: Sequence[Case]
                       ) -> Callable[[RuleEvent], str | None]:
    """A function naming the existing case that already covers a generated event, if any."""
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.generate.solve import Oracle

    oracle = Oracle(schema_for_indices(tuple(result.rule.rule.index or ())), result.now)
    whole = oracle.compiled((), result.node)
    nodes = top_clauses(result.node)
    clauses = [oracle.compiled((), c) for c in nodes]
    docs: list[tuple[Case, list[dict[str, Any]]]] = []
    for case in cases:
        try:
            built = build_case_events(case, now=result.now, seed=0, key=result.rule.rule_id)
        except InputError:
            continue
        docs.append((case, [to_ecs(e.raw, ingested=e.ingested) for e in built]))

    def breaks_only(doc: dict[str, Any], index: int) -> bool:
        return all(c(doc) != (i == index) for i, c in enumerate(clauses))

    def takes(doc: dict[str, Any], event: RuleEvent) -> bool:
        return whole(doc) and all(oracle.compiled((), node)(doc) == positive
                                  for positive, node in event.event.branch_nodes)

    def covered_by(event: RuleEvent) -> str | None:
        generated = event.event
        index = next((i for i, c in enumerate(nodes)
                      if clause_text(c, result.query) == generated.clause), -1)
        for case, case_docs in docs:
            if generated.kind == "near_miss" and not case.must_fire and any(
                    breaks_only(doc, index) for doc in case_docs):
                return case.name
            if generated.kind == "fire" and case.must_fire and any(
                    takes(doc, event) for doc in case_docs):
                return case.name
        return None

    return covered_by


def append_cases(result: RuleGeneration, *, today: datetime | None = None) -> WriteResult:
    """Append every generated event that has a raw record and adds coverage to the cases file."""
    rule_path = result.rule.source.path
    if result.rule.rule.type != "query":
        raise UsageError(f"--write-cases needs a query rule; '{result.rule.name}' is a "
                         f"{result.rule.rule.type} rule", file=str(rule_path), field="rule.type",
                         hint="a single generated event decides a query rule's alert; write "
                              "threshold and new_terms cases by hand")
    path = cases_path(rule_path)
    existing = load_cases(rule_path)
    cases = existing.cases if existing is not None else []
    names = {c.name for c in cases}
    covered_by = _existing_coverage(result, cases)
    out = WriteResult(path)
    blocks: list[str] = []
    for event in [*result.firing, *result.near_misses]:
        name = event.event.name
        if event.raw is None:
            out.skipped.append((name, f"no raw record: {event.note}"))
        elif name in names:
            out.skipped.append((name, "a case of this name exists"))
        elif (other := covered_by(event)) is not None:
            out.skipped.append((name, f"already covered by case '{other}'"))
        else:
            blocks.append(render_case(event))
            out.written.append(name)
            names.add(name)
    append_blocks(path, rule_path, blocks, today)
    return out


def append_blocks(path: Path, rule_path: Path, blocks: Sequence[str],
                  today: datetime | None) -> None:
    """Append rendered ``[[case]]`` blocks after a comment, validating the whole file first."""
    if not blocks:
        return
    exists = path.exists()
    old = path.read_text(encoding="utf-8") if exists else f"# Test cases for {rule_path.name}.\n"
    stamp = f" on {today:%Y-%m-%d}" if today is not None else ""
    text = ("" if old.endswith("\n") else "\n") + (
        f"\n# Generated by `kmsdet generate --write-cases`{stamp}; keep the cases you reviewed."
        "\n\n" + "\n".join(blocks))
    _validate(old + text, path)
    try:
        with path.open("a", encoding="utf-8", newline="") as handle:
            handle.write(text if exists else old + text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", file=str(path),
                         hint="check the file's permissions") from exc


def _validate(text: str, path: Path) -> None:
    try:
        CaseFile.model_validate(tomllib.loads(text))
    except Exception as exc:  # noqa: BLE001 - a bug here must not damage the user's file
        raise InputError(f"generated cases would not load ({exc}); nothing was written",
                         file=str(path), hint="report this; the generated text is invalid"
                         ) from exc
