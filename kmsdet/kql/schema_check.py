"""Check a parsed KQL query against the field schema of the indices it searches.

Elasticsearch accepts many queries that can never match (a typo'd field name, a value longer
than the keyword's ``ignore_above``, ``event.dataset: foo`` on a data stream whose dataset is the
constant ``aws.cloudtrail``) and rejects others only when the rule runs (a wildcard on an ``ip``
field, ``not-a-number`` on a ``long``). Both kinds fail silently in production: the rule simply
never alerts. This module finds them at lint time, from the same AST the DSL generator and the
matcher use, and says what to write instead.

Codes:

* KD302 unknown field (or a wildcard field name that matches no field)
* KD303 operator not valid for the field's type (range on boolean, nested syntax on a
  non-nested field, any query on an object or an unsearchable field; range on keyword is a
  warning: it compares strings)
* KD304 value not valid for the type (not an IP/CIDR, number, date or boolean; outside the
  numeric type's range; not the constant_keyword's value; longer than ignore_above)
* KD305 wildcard whose meaning surprises (per-token on text, rejected by Elasticsearch on
  ip/numeric/date/boolean, leading ``*`` on keyword, always/never true on constant_keyword)
* KD306 (``check_fields``) investigation field that no searched index maps
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from kmsdet.fields.schema import FieldInfo, FieldSchema
from kmsdet.kql.ast import And, Exists, Is, MatchAll, Nested, Node, Not, Or, Range, Span, Value
from kmsdet.kql.values import (
    DATE_TYPES,
    INTEGER_RANGES,
    NUMERIC_TYPES,
    CoercionError,
    query_bool,
    query_ip,
    query_ip_or_cidr,
    query_number,
    resolve_date_nanos,
)

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class QueryIssue:
    """One problem in a query; ``span`` points into the query text (None for KD306)."""

    code: str
    severity: Severity
    message: str
    span: Span | None
    field: str | None
    hint: str | None = None


KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "wildcard", "flattened"})
TEXT_TYPES = frozenset({"text", "match_only_text"})
#: Types on which Elasticsearch refuses wildcard (query_string) queries outright.
NO_WILDCARD_HINTS: dict[str, str] = {
    "ip": "match a network with CIDR notation instead, e.g. `source.ip: 10.0.0.0/8`",
    "boolean": "match `true` or `false`",
    "date": "use a range instead, e.g. `@timestamp >= \"2024-01-01\"`",
    "numeric": "use a range instead, e.g. `f >= 100 and f < 200`",
}


@dataclass(frozen=True, slots=True)
class _Target:
    """What a field name resolves to: its effective query type (None when unknowable)."""

    name: str
    type: str | None
    info: FieldInfo | None
    flattened_root: str | None = None


def _resolve(name: str, schema: FieldSchema) -> _Target | None:
    info = schema.get(name)
    if info is not None:
        return _Target(name, info.type, info)
    root = schema.flattened_root(name)
    if root is not None:
        # Sub-keys of a flattened field are queried as keywords of their leaf values.
        return _Target(name, "keyword", None, flattened_root=root.name)
    obj = schema.object_root(name)
    if obj is not None:
        return _Target(name, schema.object_type(obj.name), None)
    if schema.has_children(name):
        return _Target(name, "object", None)
    return _integration_multi_field(name, schema)


#: Multi-fields that integrations add to ECS keyword fields: Elastic Defend maps most of its
#: keyword fields with a lower-casing ``caseless`` sub-field.
INTEGRATION_MULTI_FIELDS: dict[str, str] = {"caseless": "keyword"}


def _integration_multi_field(name: str, schema: FieldSchema) -> _Target | None:
    """``process.name.caseless`` on indices the schema does not fully describe."""
    parent, _, leaf = name.rpartition(".")
    type_ = INTEGRATION_MULTI_FIELDS.get(leaf)
    if type_ is None or schema.complete:
        return None
    info = schema.get(parent)
    if info is None or info.type not in KEYWORD_TYPES:
        return None
    return _Target(name, type_, None)


def _family(type_: str | None) -> str | None:
    if type_ in NUMERIC_TYPES:
        return "numeric"
    if type_ in DATE_TYPES:
        return "date"
    return type_


def check_query(node: Node, schema: FieldSchema) -> list[QueryIssue]:
    """Every schema problem in the query ``node``, in query order."""
    return list(_check(node, schema, ""))


def check_fields(names: Iterable[str], schema: FieldSchema) -> list[QueryIssue]:
    """KD306: investigation fields (shown on each alert) that no searched index maps."""
    severity: Severity = "error" if schema.complete else "warning"
    issues: list[QueryIssue] = []
    for name in names:
        target = _resolve(name, schema)
        if target is not None and target.type not in ("object", "nested"):
            continue
        if target is None and outside_schema(name, schema):
            continue
        if target is None:
            message = f"investigation field `{name}` is not mapped in {schema.source}"
            hint = _did_you_mean(name, schema) or "list fields the alert documents carry"
        else:
            message = f"investigation field `{name}` is an object, not a field with values"
            hint = _children_hint(name, schema)
        issues.append(QueryIssue("KD306", severity, message, None, name, hint))
    return issues


def _check(node: Node, schema: FieldSchema, prefix: str) -> Iterator[QueryIssue]:
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from _check(item, schema, prefix)
    elif isinstance(node, Not):
        yield from _check(node.item, schema, prefix)
    elif isinstance(node, Nested):
        yield from _check_nested(node, schema, prefix)
    elif isinstance(node, (Is, Exists, Range)):
        yield from _check_leaf(node, schema, prefix)
    elif not isinstance(node, MatchAll):  # pragma: no cover - the AST has no other nodes
        raise TypeError(f"unexpected KQL node {type(node).__name__}")


def _check_nested(node: Nested, schema: FieldSchema, prefix: str) -> Iterator[QueryIssue]:
    path = prefix + node.path
    target = _resolve(path, schema)
    if target is None:
        if not outside_schema(path, schema):
            yield _unknown(path, node.span, schema)
    elif target.type != "nested":
        yield QueryIssue(
            "KD303", "error",
            f"`{path}` is {_article(target.type)} field, not nested: "
            f"`{node.path}: {{ ... }}` needs a field mapped as nested",
            node.span, path,
            "write the conditions on the full field names, joined with `and`",
        )
    yield from _check(node.query, schema, path + ".")


def _check_leaf(node: Is | Exists | Range, schema: FieldSchema, prefix: str,
                ) -> Iterator[QueryIssue]:
    if node.field is None or (isinstance(node, Exists) and node.field == "*"):
        return  # free text and match-all search every field; nothing to check
    name = prefix + node.field
    if not node.field_wildcard:
        target = _resolve(name, schema)
        if target is None:
            if not outside_schema(name, schema):
                yield _unknown(name, node.span, schema)
        else:
            yield from _check_target(node, target, schema)
        return
    # Kibana expands over fields that hold values; objects are containers, not such fields.
    matched = [n for n in schema.expand(name)
               if (info := schema.get(n)) is not None and info.type not in ("object", "nested")]
    if not matched and not outside_schema(name, schema):
        severity: Severity = "error" if schema.complete else "warning"
        yield QueryIssue(
            "KD302", severity, f"field pattern `{name}` matches no field in {schema.source}",
            node.span, name, "check the pattern; Kibana expands it over mapped field names",
        )
        return
    # Kibana queries every matched field: report each problem once per field type, saying how
    # many fields it hits. ECS fields reach a data stream through dynamic templates, mapped only
    # once a document carries them, so a clash on an expanded field is a warning: it fails the
    # rule only if that field is actually mapped.
    grouped: dict[tuple[str, str], list[QueryIssue]] = {}
    for field_name in matched:
        info = schema.get(field_name)
        assert info is not None
        for issue in _check_target(node, _Target(field_name, info.type, info), schema):
            grouped.setdefault((issue.code, info.type), []).append(issue)
    for issues in grouped.values():
        first = issues[0]
        more = f" (and {len(issues) - 1} more field(s))" if len(issues) > 1 else ""
        yield replace(first, severity="warning",
                      message=f"`{name}` expands to `{first.field}`: {first.message}{more}")


def _check_target(node: Is | Exists | Range, target: _Target, schema: FieldSchema,
                  ) -> Iterator[QueryIssue]:
    info, type_ = target.info, target.type
    if info is not None and not info.index and not info.doc_values:
        yield QueryIssue(
            "KD303", "error",
            f"`{target.name}` is not searchable: its mapping disables both index and doc_values,"
            " so it is only kept in _source",
            node.span, target.name, "query a field that holds the same information",
        )
        return
    if isinstance(node, Exists):
        return
    if type_ in ("object", "nested"):
        yield _object_issue(node, target, schema)
    elif type_ == "geo_point":
        yield QueryIssue(
            "KD303", "error",
            f"`{target.name}` is a geo_point: KQL cannot compare it with a value or range",
            node.span, target.name, "use a geo query in an Elasticsearch-DSL filter instead",
        )
    elif isinstance(node, Range):
        yield from _check_range(node, target)
    elif node.value.is_wildcard:
        yield from _check_wildcard(node, target)
    else:
        yield from _check_value(node, target)


def _object_issue(node: Is | Range, target: _Target, schema: FieldSchema) -> QueryIssue:
    if target.type == "nested":
        message = (f"`{target.name}` is nested: a plain condition on it matches nothing; "
                   f"query its sub-fields inside `{target.name}: {{ ... }}`")
    else:
        message = (f"`{target.name}` is an object: it has no value of its own, "
                   "so this condition matches nothing")
    return QueryIssue("KD303", "error", message, node.span, target.name,
                      _children_hint(target.name, schema))


def _check_range(node: Range, target: _Target) -> Iterator[QueryIssue]:
    type_, text = target.type, node.value.text
    if type_ == "boolean":
        yield QueryIssue(
            "KD303", "error", f"`{target.name}` is boolean: a range on it makes no sense",
            node.span, target.name, f"use `{target.name}: true` or `{target.name}: false`",
        )
    elif type_ in KEYWORD_TYPES or type_ in TEXT_TYPES:
        yield QueryIssue(
            "KD303", "warning",
            f"`{target.name}` is {_article(type_)} field: `{node.op}` compares strings "
            f"character by character, so \"10\" sorts before \"9\"",
            node.span, target.name,
            "compare a numeric or date field, or list the exact values you mean",
        )
    elif type_ == "ip" and not _accepts(query_ip, text):
        yield _bad_value(node.value, target, "an IP address",
                         "ranges on ip fields need single addresses; use a CIDR value with `:`")
    elif type_ in NUMERIC_TYPES:
        yield from _check_number(node.value, target, exact=False)
    elif type_ in DATE_TYPES and not _is_date(text):
        yield _bad_value(node.value, target, "a date or date math", _DATE_HINT)


def _check_value(node: Is, target: _Target) -> Iterator[QueryIssue]:
    value, type_, info = node.value, target.type, target.info
    text = value.text
    if not value.quoted and text == "null":
        yield QueryIssue(
            "KD304", "warning",
            f"`{target.name}: null` does not find documents without `{target.name}`: "
            "Kibana sends a JSON null, which Elasticsearch does not treat as \"missing\"",
            value.span, target.name, f"use `not {target.name}: *` for a missing field",
        )
        return
    if type_ == "constant_keyword" and info is not None and info.value is not None:
        if text != info.value:
            yield _never_constant(value, target, info.value)
    elif type_ in KEYWORD_TYPES and info is not None and info.ignore_above is not None:
        if len(text) > info.ignore_above:
            yield _too_long(value, target, info.ignore_above)
    elif type_ == "ip" and not _accepts(query_ip_or_cidr, text):
        yield _bad_value(value, target, "an IP address or CIDR network",
                         "e.g. `192.0.2.10`, `2001:db8::1` or `10.0.0.0/8`")
    elif type_ in NUMERIC_TYPES:
        yield from _check_number(value, target, exact=True)
    elif type_ in DATE_TYPES and not _is_date(text):
        yield _bad_value(value, target, "a date or date math", _DATE_HINT)
    elif type_ == "boolean" and not _accepts(query_bool, text):
        yield _bad_value(value, target, "true or false", "booleans match only `true` or `false`")


def _check_wildcard(node: Is, target: _Target) -> Iterator[QueryIssue]:
    value, type_, info = node.value, target.type, target.info
    pieces = value.wildcard or ()
    family = _family(type_)
    if target.flattened_root and not (len(pieces) == 2 and pieces[1] == ""):
        yield _flattened_wildcard(value, target, pieces)
        return
    if family in NO_WILDCARD_HINTS:
        yield QueryIssue(
            "KD305", "error",
            f"wildcard on {type_} field `{target.name}`: Elasticsearch rejects wildcard queries "
            "on this type and the rule fails when it runs",
            value.span, target.name, NO_WILDCARD_HINTS[family],
        )
    elif type_ == "constant_keyword" and info is not None and info.value is not None:
        if _wildcard_regex(pieces).fullmatch(info.value):
            yield QueryIssue(
                "KD305", "warning",
                f"`{target.name}` always holds \"{info.value}\" in these indices, which "
                f"`{value.text}` matches: the condition is always true",
                value.span, target.name, "drop the condition, or match the value exactly",
            )
        else:
            yield _never_constant(value, target, info.value)
    elif type_ in TEXT_TYPES:
        parent = info.parent if info is not None else None
        yield QueryIssue(
            "KD305", "warning",
            f"wildcard on {type_} field `{target.name}` is matched against each analysed "
            "token, not the whole value: it cannot span words and case follows the analyser",
            value.span, target.name,
            f"match whole values on the keyword field `{parent}`" if parent
            else "match whole values on a keyword field",
        )
    elif type_ in ("keyword", "flattened") and pieces and pieces[0] == "":
        yield QueryIssue(
            "KD305", "warning",
            f"leading wildcard on keyword field `{target.name}`: Elasticsearch must scan every "
            "distinct term of the field, which is slow on large indices",
            value.span, target.name,
            "anchor the pattern at the start if you can (`prefix*`), or match exact values",
        )
    if (type_ in KEYWORD_TYPES and info is not None and info.ignore_above is not None
            and sum(len(p) for p in pieces) > info.ignore_above):
        yield _too_long(value, target, info.ignore_above)


def _flattened_wildcard(value: Value, target: _Target, pieces: tuple[str, ...]) -> QueryIssue:
    """Elasticsearch runs a non-prefix wildcard on a flattened key over the ``key\0value``
    terms of every key of the root: a leading ``*`` reaches any key's value (the rule
    over-matches), a leading literal must match the start of a key name and never does."""
    root = target.flattened_root
    if pieces and pieces[0] == "":
        return QueryIssue(
            "KD305", "warning",
            f"wildcard `{value.text}` on key `{target.name}` of flattened field `{root}`: "
            "Elasticsearch ignores the key for this pattern and matches it against the values "
            f"of every key of `{root}`, so the rule also fires when another key's value fits",
            value.span, target.name,
            "accept the over-match, or add a condition that pins the key's value",
        )
    return QueryIssue(
        "KD305", "error",
        f"wildcard `{value.text}` on key `{target.name}` of flattened field `{root}` can never "
        "match: Elasticsearch runs only a trailing `*` (a prefix) within the key and matches "
        "any other pattern against `key\\0value` terms, which start with a key name",
        value.span, target.name,
        "use a prefix pattern (`value*`), or start the pattern with `*`",
    )


def _check_number(value: Value, target: _Target, *, exact: bool) -> Iterator[QueryIssue]:
    type_ = target.type or ""
    if not _accepts(lambda t: query_number(t, type_), value.text):
        yield _bad_value(value, target, "a number", "write the number without quotes or units")
        return
    bounds = INTEGER_RANGES.get(type_)
    if bounds is None:
        return
    number = Decimal(value.text.strip())
    if not bounds[0] <= number <= bounds[1]:
        yield QueryIssue(
            "KD304", "error",
            f"{value.text} is outside the range of {type_} field `{target.name}` "
            f"({bounds[0]}..{bounds[1]}); Elasticsearch rejects the query",
            value.span, target.name, "check the value and the field",
        )
    elif exact and number != number.to_integral_value():
        yield QueryIssue(
            "KD304", "error",
            f"{value.text} has a fractional part but `{target.name}` is {_article(type_)} "
            "field: it can never equal it",
            value.span, target.name, "use a whole number, or a range",
        )


def outside_schema(name: str, schema: FieldSchema) -> bool:
    """True when ``name`` lies in a namespace the schema knows nothing about, on indices that
    may hold more than the schema describes (``okta.*`` on ``logs-okta*``).

    Such fields come from an integration kmsdet has no field table for: a warning on each would
    flag every shipped Okta, Azure or GCP rule while saying nothing about whether the field is
    right. A typo inside a namespace the schema does know (``process.nmae``) is still reported.
    Elastic Defend files its own fields under an ``Ext`` object inside ECS field sets
    (``process.Ext.token.integrity_level_name``); those are outside the ECS table as well.
    """
    if schema.complete:
        return False
    parts = name.split(".")
    if "Ext" in parts[1:]:
        return True
    root = parts[0]
    return "*" not in root and schema.get(root) is None and not schema.has_children(root)


def resolve_type(name: str, schema: FieldSchema) -> str | None:
    """The query type of field ``name``: None when the schema does not know it, "" when it
    knows the name (a sub-key of a free-form object) but not its type."""
    target = _resolve(name, schema)
    return None if target is None else (target.type or "")


def unknown_field(name: str, span: Span, schema: FieldSchema) -> QueryIssue:
    """KD302 for a field ``schema`` does not map, with a did-you-mean hint (EQL, ES|QL too)."""
    return _unknown(name, span, schema)


def _unknown(name: str, span: Span, schema: FieldSchema) -> QueryIssue:
    severity: Severity = "error" if schema.complete else "warning"
    message = f"unknown field `{name}`: it is not mapped in {schema.source}"
    if severity == "error":
        message += ", so the condition can never match"
    hint = _did_you_mean(name, schema)
    if hint is None:
        hint = ("check the spelling against the integration's fields" if schema.complete
                else "ignore this if your own indices map the field")
    return QueryIssue("KD302", severity, message, span, name, hint)


def _did_you_mean(name: str, schema: FieldSchema) -> str | None:
    suggestions = schema.suggest(name)
    if not suggestions:
        return None
    return "did you mean " + " or ".join(f"`{s}`" for s in suggestions) + "?"


def _children_hint(name: str, schema: FieldSchema) -> str:
    children = schema.expand(name + ".*")[:3]
    if not children:
        return "query one of its sub-fields"
    return "query one of its sub-fields, e.g. " + ", ".join(f"`{c}`" for c in children)


def _bad_value(value: Value, target: _Target, expected: str, hint: str) -> QueryIssue:
    return QueryIssue(
        "KD304", "error",
        f"\"{value.text}\" is not {expected}, which {target.type} field `{target.name}` "
        "needs: Elasticsearch rejects the query or it never matches",
        value.span, target.name, hint,
    )


def _never_constant(value: Value, target: _Target, constant: str) -> QueryIssue:
    return QueryIssue(
        "KD304", "error",
        f"`{target.name}` is the constant \"{constant}\" in every searched index, so "
        f"`{value.text}` can never match",
        value.span, target.name,
        f"use \"{constant}\", or search the indices that hold the data you mean",
    )


def _too_long(value: Value, target: _Target, limit: int) -> QueryIssue:
    text_field = f"{target.name}.text"
    return QueryIssue(
        "KD304", "error",
        f"the value is longer than ignore_above ({limit}) of `{target.name}`: longer values "
        "are not indexed, so this can never match",
        value.span, target.name,
        f"match a shorter part, e.g. on `{text_field}` if it exists",
    )


def _article(type_: str | None) -> str:
    word = type_ or "unknown"
    return ("an " if word[0] in "aeiou" else "a ") + word


def _wildcard_regex(pieces: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pieces), re.S)


def _accepts(convert: Callable[[str], object], text: str) -> bool:
    """True when the matcher's query-side conversion (``kmsdet.kql.values``) takes ``text``.

    Sharing those conversions keeps lint and the embedded matcher agreeing on what
    Elasticsearch accepts.
    """
    try:
        convert(text)
    except CoercionError:
        return False
    return True


def _is_date(text: str) -> bool:
    return _accepts(lambda t: resolve_date_nanos(t, 0, False), text)


_DATE_HINT = ("use ISO 8601 (`2024-05-01`, `2024-05-01T10:00:00Z`), epoch milliseconds, "
              "or date math (`now-15m`, `now/d`)")
