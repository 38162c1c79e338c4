"""Finding and loading a rule's cases file, with positions for every problem."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kmsdet.cases.event_check import check_event_tables
from kmsdet.cases.model import CaseFile, RuleCases
from kmsdet.errors import InputError
from kmsdet.rules.loader import (
    CASES_SUFFIX,
    did_you_mean,
    known_keys,
    toml_error_message,
    toml_error_position,
)
from kmsdet.rules.model import KeyPath, RuleSource

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

M = TypeVar("M", bound=BaseModel)


def cases_path(rule_path: Path) -> Path:
    """``rules/x/foo.toml`` -> ``rules/x/foo.cases.toml``."""
    return rule_path.with_name(rule_path.stem + CASES_SUFFIX)


def lint_targets(paths: Sequence[Path]) -> list[Path]:
    """``paths`` with each cases file replaced by its rule: a cases file is linted as part of
    its rule (KD601/KD602 read it), not as a rule of its own."""
    out: list[Path] = []
    for path in paths:
        if path.name.endswith(CASES_SUFFIX):
            rule = path.with_name(path.name[:-len(CASES_SUFFIX)] + ".toml")
            if not rule.is_file():
                raise InputError(f"{path.name} holds a rule's test cases, but its rule "
                                 f"{rule.name} does not exist", file=str(path),
                                 hint=f"cases live beside their rule as <rule stem>"
                                      f"{CASES_SUFFIX}; rename it after its rule")
            path = rule
        if path not in out:
            out.append(path)
    return out


def load_cases(rule_path: Path) -> RuleCases | None:
    """The rule's cases, None when it has no cases file; InputError with file:line otherwise."""
    path = cases_path(rule_path)
    if not path.exists():
        return None
    parsed, source = read_toml_model(
        path, CaseFile, what="cases file",
        hint="each [[case]] needs name, expect (alert count) and at least one [[case.event]]")
    for index, case in enumerate(parsed.case):
        check_event_tables(case.events, source=source, prefix=("case", index, "event"),
                           label=f"case '{case.name}'")
    return RuleCases(path=path, cases=parsed.case, source=source)


def read_toml_model(path: Path, model: type[M], *, what: str, hint: str) -> tuple[M, RuleSource]:
    """Read a TOML file into ``model``; every problem is an InputError with file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {what}: not UTF-8 text ({exc.reason})", file=str(path),
                         hint="save the file as UTF-8") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", file=str(path)) from exc
    source = RuleSource(path=path, text=text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column = toml_error_position(exc)
        raise InputError(f"TOML syntax error: {toml_error_message(exc)}", file=str(path),
                         line=line, column=column,
                         hint="fix the TOML syntax at this position") from exc
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise schema_error(exc, model, data, source, what=what, hint=hint) from exc
    return parsed, source


def schema_error(exc: ValidationError, model: type[BaseModel], data: Any, source: RuleSource,
                 *, what: str, hint: str) -> InputError:
    """The first problem of a cases file or storyline, said as the rule loader says it: the
    line, the table as the user wrote it (``[[case]] 2 'name'``, counted from 1), and a
    did-you-mean for a misspelt key. A misspelt key is reported before the key it leaves
    missing, since fixing it fixes both."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc: KeyPath = tuple("event" if p == "events" else p for p in err["loc"])
    parent, key = loc[:-1], loc[-1] if loc else ""
    field = _dotted(loc)
    table = _table_name(parent, data)
    if err["type"] == "extra_forbidden":
        suggestion = did_you_mean(str(key), known_keys(parent, model))
        kind = "table" if isinstance(_value_at(data, loc), (dict, list)) else "key"
        return InputError(f"unknown {kind} '{key}' in {table}", file=str(source.path),
                          line=_line(source, loc), field=field,
                          hint=f"did you mean '{suggestion}'?" if suggestion else hint)
    if err["type"] == "missing":
        return InputError(f"{table} has no '{key}'", file=str(source.path),
                          line=source.line_of(parent) or 1, field=field, hint=hint)
    return InputError(f"wrong value for '{key}' in {table}: {err['msg'].lower()}",
                      file=str(source.path), line=_line(source, loc), field=field, hint=hint)


def _line(source: RuleSource, loc: KeyPath) -> int | None:
    """Line of ``loc``; for an array of tables, the line of its first table."""
    inside = [line for path, line in source.lines.items() if path[:len(loc)] == loc]
    return min(inside) if inside else source.line_of(loc)


def _value_at(data: Any, loc: KeyPath) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _table_name(parent: KeyPath, data: Any) -> str:
    """``[[case]] 2 'fires'`` for ("case", 1); ``the top level`` for ()."""
    if not parent:
        return "the top level"
    if isinstance(parent[-1], int):
        name = _value_at(data, (*parent, "name"))
        label = f" '{name}'" if isinstance(name, str) else ""
        return f"[[{_dotted(parent[:-1], one_based=False)}]] {parent[-1] + 1}{label}"
    return f"[{_dotted(parent)}]"


def _dotted(loc: KeyPath, *, one_based: bool = True) -> str:
    """``case[2].expect``: TOML's dotted path with array indexes counted from 1."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]" if one_based else ""
        else:
            out += f".{part}" if out else str(part)
    return out
