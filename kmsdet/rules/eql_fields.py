"""Field and type checks for EQL queries, against the same schema as KQL's.

The ``eql`` library parses the query but keeps neither node positions nor the operator
spelling that matters here (``:`` and ``in~`` are case-insensitive, ``==`` and ``in`` are
not), so field positions and operators come from one scan of the query text, skipping strings
and comments, and types from the parsed tree. Every event query of a sequence or sample is
walked, its ``by`` keys included. Findings carry the KQL check codes and follow what
Elasticsearch's EQL verifier does (its own tests state each rule):

* KD302 unknown field (``?field`` is optional and never reported).
* KD303 error: ``:``, ``like``, ``regex`` (and their ``~`` forms) and ``in~`` on a field that is
  not a string ("first argument of [:] must be [string] ... consider using [==]"); any
  comparison on a text field without a keyword multi-field ("No keyword/multi-field defined
  exact matches").
* KD304 error: an ``in`` list value whose type the field's cannot take (``long_field in (1,
  "x")``: "2nd argument ... must be [long]"). A comparison (``==``, ``<``, ...) with a
  mismatched literal passes the verifier, so it is only a warning where the value cannot
  convert (``pid == "abc"``, an IP field against a non-address); ``event.code == 4624`` is fine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.ast import Span
from kmsdet.kql.schema_check import KEYWORD_TYPES, TEXT_TYPES, QueryIssue, outside_schema
from kmsdet.kql.schema_check import resolve_type as _resolve_type
from kmsdet.kql.schema_check import unknown_field as _unknown
from kmsdet.kql.values import DATE_TYPES, NUMERIC_TYPES, CoercionError, query_ip_or_cidr

_TOKEN = re.compile(
    r'"""(?:.|\n)*?"""|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|/\*(?:.|\n)*?\*/|//[^\n]*'
    r"|(?P<opt>\?)?(?P<field>`[^`]+`|[A-Za-z_@][\w@.\-]*(?<![.\-]))"
    r"(?:\s*(?P<op>:|like~|regex~|in~|like|regex|in|==|!=|<=|>=|<|>)"
    r"\s*(?P<rhs>\((?:[^()\"]|\"(?:\\.|[^\"\\])*\")*\)|\"(?:\\.|[^\"\\])*\"|-?\d+(?:\.\d+)?"
    r"|(?P<null>null\b))?)?"
)
_LITERAL = re.compile(r'"((?:\\.|[^"\\])*)"|(-?\d+(?:\.\d+)?)')
#: Operators Elasticsearch runs on strings only.
_STRING_ONLY = frozenset({":", "like", "like~", "regex", "regex~", "in~"})
_STRING_TYPES = KEYWORD_TYPES | TEXT_TYPES | {"flattened"}


@dataclass(frozen=True)
class _Use:
    """One place a field is written: its operator and the literals right of it, if any."""

    name: str
    span: Span
    optional: bool
    op: str | None
    literals: tuple[str | int | float, ...]
    null: bool = False  # `field == null` / `!= null`: a missing-value test, no comparison


def _literals(rhs: str | None) -> tuple[str | int | float, ...]:
    out: list[str | int | float] = []
    for match in _LITERAL.finditer(rhs or ""):
        if match.group(1) is not None:
            out.append(match.group(1))
        else:
            number = match.group(2)
            out.append(float(number) if "." in number else int(number))
    return tuple(out)


def _uses(query: str) -> Iterator[_Use]:
    for match in _TOKEN.finditer(query):
        name = match.group("field")
        if name is None:
            continue
        rhs = match.group("rhs")
        if rhs and '"""' in query[match.end("op"):match.end("rhs") + 2]:
            rhs = None  # raw strings hold quotes and backslashes: not read here
        yield _Use(name.strip("`"), Span(match.start("field"), match.end("field")),
                   bool(match.group("opt")), match.group("op"), _literals(rhs),
                   bool(match.group("null")))


def _ast_fields(node: object, out: set[str]) -> None:
    """Every field path of the parsed tree: event queries, sequence and join keys."""
    import eql.ast as A

    if isinstance(node, A.Field):
        out.add(_path(node))
        return
    for slot in getattr(node, "__slots__", ()):
        value = getattr(node, slot, None)
        for child in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(child, A.BaseNode):
                _ast_fields(child, out)


def _path(field: object) -> str:
    return ".".join([field.base, *(str(p) for p in field.path)])  # type: ignore[attr-defined]


def check_eql_fields(tree: object, query: str, schema: FieldSchema) -> list[QueryIssue]:
    """Schema problems of an EQL query (parsed ``tree`` and its text), in query order.

    An unknown field is reported once, at its first use; a wrong operator or value at each
    use, so a mistake in the second step of a sequence points at that step.
    """
    fields: set[str] = set()
    _ast_fields(tree, fields)
    issues: list[QueryIssue] = []
    unknown: set[str] = set()
    for use in _uses(query):
        if use.name not in fields:
            continue  # event category, function name or keyword
        for issue in _check_use(use, schema):
            if issue.code == "KD302":
                if use.name in unknown:
                    continue
                unknown.add(use.name)
            issues.append(issue)
    return issues


def _check_use(use: _Use, schema: FieldSchema) -> Iterator[QueryIssue]:
    type_ = _resolve_type(use.name, schema)
    if type_ is None:
        if not use.optional and not outside_schema(use.name, schema):
            yield _unknown(use.name, use.span, schema)
        return
    if not type_:
        return
    family = "numeric" if type_ in NUMERIC_TYPES else "date" if type_ in DATE_TYPES else type_
    if use.null:
        return
    if use.op and type_ in TEXT_TYPES and not _has_exact_sub_field(use.name, schema):
        yield QueryIssue(
            "KD303", "error",
            f"`{use.name}` is {type_} with no keyword multi-field: Elasticsearch's EQL compares "
            "exact values only and rejects the query",
            use.span, use.name, "compare a keyword field, or match the text in a KQL rule")
        return
    if use.op in _STRING_ONLY and type_ not in _STRING_TYPES:
        yield QueryIssue(
            "KD303", "error",
            f"`{use.op}` compares strings, but `{use.name}` is "
            f"{'an' if type_[0] in 'aeiou' else 'a'} {type_} field: Elasticsearch rejects it",
            use.span, use.name, "use `==` or `in` with values of the field's type")
        return
    if use.op in ("in", "in~"):
        for literal in use.literals:
            if _incompatible(family, literal):
                yield QueryIssue(
                    "KD304", "error",
                    f"`{use.name}` is {type_}, but its `in` list holds {literal!r}: "
                    "Elasticsearch's EQL verifier rejects a list value of another type",
                    use.span, use.name, "list values of the field's own type")
                return
        return
    for literal in use.literals:
        problem = _literal_problem(family, literal)
        if problem:
            yield QueryIssue(
                "KD304", "warning",
                f"`{use.name}` is {type_}, compared with {literal!r}: {problem}",
                use.span, use.name, "compare it with a value of its own type")
            return


def _has_exact_sub_field(name: str, schema: FieldSchema) -> bool:
    return any((info := schema.get(sub)) is not None and info.type in KEYWORD_TYPES
               for sub in schema.expand(name + ".*"))


def _incompatible(family: str, literal: object) -> bool:
    """Numbers and strings are the two literal families an ``in`` list is checked for."""
    number = isinstance(literal, (int, float)) and not isinstance(literal, bool)
    if family == "numeric":
        return not number
    if family in _STRING_TYPES:
        return number
    return False


def _literal_problem(family: str, literal: object) -> str | None:
    """Why a comparison literal cannot hold for the field, or None (the verifier accepts it)."""
    if family == "numeric" and isinstance(literal, str):
        try:
            float(literal)
        except ValueError:
            return "not a number; Elasticsearch cannot convert it, so this never matches"
    if family == "ip" and isinstance(literal, str):
        try:
            query_ip_or_cidr(literal)
        except CoercionError:
            return "not an IP address; this never matches"
    return None
