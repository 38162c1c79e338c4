"""Loading rule files into the Rule model, keeping line numbers and every load problem.

Lint wants all the problems of a file at once; every other command wants a Rule or a clear
error. ``load_file`` serves the first, ``load_rule`` the second, from the same code.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kmsdet.errors import InputError
from kmsdet.rules.model import KeyPath, Rule, RuleSource

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CASES_SUFFIX = ".cases.toml"
SCENARIO_SUFFIX = ".scenario.toml"


@dataclass
class LoadProblem:
    """One reason a file did not become a valid Rule; ``code`` is a lint code."""

    code: str
    message: str
    path: KeyPath = ()
    line: int | None = None
    column: int | None = None
    hint: str | None = None


@dataclass
class LoadResult:
    path: Path
    source: RuleSource
    data: dict[str, Any] | None = None
    rule: Rule | None = None
    problems: list[LoadProblem] = field(default_factory=list)


def is_rule_file(path: Path) -> bool:
    """Rule files are *.toml; test cases and storylines beside them are not rules."""
    return path.suffix == ".toml" and not path.name.endswith((CASES_SUFFIX, SCENARIO_SUFFIX))


def find_rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every rule file under ``paths`` (files as given, directories recursively), sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = [p for p in sorted(path.rglob("*.toml")) if is_rule_file(p)]
            if not inside:
                raise InputError(f"no rule files under {path}", file=str(path),
                                 hint="rules are *.toml files; check the path")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"no such file or directory: {path}", file=str(path),
                             hint="pass rule files or folders that contain *.toml rules")
    return found


def iter_load(paths: Iterable[str | Path]) -> Iterator[LoadResult]:
    for path in find_rule_files(paths):
        yield load_file(path)


def load_file(path: Path) -> LoadResult:
    """Read, parse and validate one file; never raises for problems inside the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        src = RuleSource(path=path, text="")
        return LoadResult(path, src, problems=[LoadProblem("KD100", f"cannot read file: {exc}")])
    return load_text(text, path)


def load_text(text: str, path: Path) -> LoadResult:
    source = RuleSource(path=path, text=text)
    result = LoadResult(path, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col = toml_error_position(exc)
        message = toml_error_message(exc)
        if line is None:  # "at end of document": point at the last line
            line = text.count("\n") + (0 if text.endswith("\n") else 1) or 1
        result.problems.append(LoadProblem("KD101", f"TOML syntax error: {message}",
                                           line=line, column=col,
                                           hint="fix the TOML syntax at this position"))
        return result
    result.data = data
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        result.problems.extend(_schema_problems(exc, data, source))
        return result
    rule._source = source
    result.rule = rule
    return result


def load_rule(path: str | Path) -> Rule:
    """Load one rule or raise an InputError naming the first problem."""
    result = load_file(Path(path))
    if result.rule is None:
        first = result.problems[0]
        raise InputError(f"{first.code} {first.message}", file=str(path), line=first.line,
                         column=first.column, hint=first.hint)
    return result.rule


def load_rules(paths: Iterable[str | Path]) -> list[Rule]:
    return [load_rule(p) for p in find_rule_files(paths)]


def toml_error_message(exc: Exception) -> str:
    """The parser's message without its own "(at line ...)" suffix; positions go elsewhere."""
    return str(exc).split(" (at line")[0]


def toml_error_position(exc: Exception) -> tuple[int | None, int | None]:
    """(line, column) of a TOML syntax error; Python 3.11's tomllib keeps it only in the text."""
    lineno = getattr(exc, "lineno", None)
    colno = getattr(exc, "colno", None)
    if lineno is None:
        import re

        match = re.search(r"line (\d+), column (\d+)", str(exc))
        if match:
            lineno, colno = int(match.group(1)), int(match.group(2))
    return lineno, colno


def _schema_problems(exc: ValidationError, data: dict[str, Any],
                     source: RuleSource) -> list[LoadProblem]:
    problems: list[LoadProblem] = []
    seen: set[tuple[str, KeyPath]] = set()
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        loc = _strip_union_tags(loc)
        kind = err["type"]
        dotted = _dotted(loc)
        if kind == "missing":
            code, message = "KD104", f"missing required field '{dotted}'"
            hint = f"add {loc[-1]} = ... under [{_dotted(loc[:-1])}]" if len(loc) > 1 else None
        elif kind == "extra_forbidden":
            code = "KD102"
            suggestion = _did_you_mean(str(loc[-1]), _known_keys(loc[:-1]))
            where = _dotted(loc[:-1]) or "top level"
            message = f"unknown key '{loc[-1]}' in [{where}]"
            hint = f"did you mean '{suggestion}'?" if suggestion else "remove it or fix its name"
        else:
            code = "KD103"
            message = f"wrong type for '{dotted}': {err['msg'].lower()}"
            hint = f"expected {_expected(err)}"
        key = (code, loc)
        if key in seen:
            continue
        seen.add(key)
        problems.append(LoadProblem(code, message, path=loc, line=source.line_of(loc), hint=hint))
    return problems


_UNION_TAGS = {"str", "list[str]", "int", "bool", "dict[str,any]", "none"}


def _strip_union_tags(loc: tuple[Any, ...]) -> KeyPath:
    return tuple(p for p in loc if not (isinstance(p, str) and p.replace(" ", "").lower() in
                                        _UNION_TAGS))


def _expected(err: Any) -> str:
    kind = str(err["type"])
    for name in ("string", "int", "bool", "list", "dict", "float"):
        if kind.startswith(name):
            return {"string": "a string", "int": "an integer", "bool": "true or false",
                    "list": "an array", "dict": "a table", "float": "a number"}[name]
    return "a value of the right type"


def _dotted(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known_keys(parent: KeyPath) -> list[str]:
    return known_keys(parent, Rule)


def known_keys(parent: KeyPath, root: type[BaseModel]) -> list[str]:
    """The keys a TOML table at ``parent`` may hold, read from the model ``root``."""
    model: type[BaseModel] | None = root
    for part in parent:
        if isinstance(part, int) or model is None:
            continue
        info = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None)
        if info is None:
            return []
        model = _model_in(info.annotation)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(word: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Closest candidate to ``word``, shared by every check that suggests a fix."""
    return _did_you_mean(word, list(candidates))
