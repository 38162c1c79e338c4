"""Finding and loading a rule's cases file, with positions for every problem."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from kmsdet.cases.event_check import check_event_tables
from kmsdet.cases.model import CaseFile, RuleCases
from kmsdet.errors import InputError
from kmsdet.rules.loader import CASES_SUFFIX, toml_error_message, toml_error_position
from kmsdet.rules.model import RuleSource

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

M = TypeVar("M", bound=BaseModel)


def cases_path(rule_path: Path) -> Path:
    """``rules/x/foo.toml`` -> ``rules/x/foo.cases.toml``."""
    return rule_path.with_name(rule_path.stem + CASES_SUFFIX)


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
        err = exc.errors()[0]
        loc = tuple("event" if p == "events" else p for p in err["loc"])
        where = ".".join(str(p) for p in loc)
        raise InputError(f"invalid {what}: {where}: {err['msg']}", file=str(path),
                         line=source.line_of(loc), field=where, hint=hint) from exc
    return parsed, source
