"""The EQL functions Elastic's rules use, with Elasticsearch's null and case rules.

Every function returns None (EQL ``null``) when a required argument is null; string functions
compare case-sensitively unless called with ``~``. Integer division and modulo truncate toward
zero as Java does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kmsdet.kql.values import CoercionError, doc_ip, query_ip_or_cidr

Fn = Callable[..., Any]


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if not (_num(left) and _num(right)):
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return None  # Elasticsearch fails the script; no event matches
    if isinstance(left, int) and isinstance(right, int):
        quotient = abs(left) // abs(right)
        quotient = quotient if (left >= 0) == (right >= 0) else -quotient
        return quotient if op == "/" else left - right * quotient
    return left / right if op == "/" else math.fmod(left, right)


def arithmetic(op: str) -> Fn:
    return lambda left, right: _arith(op, left, right)


def _fold(text: str, insensitive: bool) -> str:
    return text.lower() if insensitive else text


def _strings(*values: Any) -> bool:
    return all(isinstance(v, str) for v in values)


def starts_with(insensitive: bool) -> Fn:
    def fn(source: Any, prefix: Any) -> Any:
        if source is None or prefix is None or not _strings(source, prefix):
            return None
        return _fold(source, insensitive).startswith(_fold(prefix, insensitive))
    return fn


def ends_with(insensitive: bool) -> Fn:
    def fn(source: Any, suffix: Any) -> Any:
        if source is None or suffix is None or not _strings(source, suffix):
            return None
        return _fold(source, insensitive).endswith(_fold(suffix, insensitive))
    return fn


def string_contains(insensitive: bool) -> Fn:
    def fn(source: Any, part: Any) -> Any:
        if source is None or part is None or not _strings(source, part):
            return None
        return _fold(part, insensitive) in _fold(source, insensitive)
    return fn


def between(insensitive: bool) -> Fn:
    def fn(source: Any, left: Any, right: Any, greedy: Any = False) -> Any:
        if source is None or left is None or right is None:
            return None
        if not _strings(source, left, right):
            return None
        hay = _fold(source, insensitive)
        start = hay.find(_fold(left, insensitive))
        if start < 0:
            return ""
        start += len(left)
        needle = _fold(right, insensitive)
        end = hay.rfind(needle) if greedy else hay.find(needle, start)
        if end < start:
            return ""
        return source[start:end]
    return fn


def index_of(insensitive: bool) -> Fn:
    def fn(source: Any, part: Any, start: Any = 0) -> Any:
        if source is None or part is None or start is None or not _strings(source, part):
            return None
        begin = max(int(start), 0)
        if begin > len(source):
            return None
        found = _fold(source, insensitive).find(_fold(part, insensitive), begin)
        return None if found < 0 else found
    return fn


def length(source: Any) -> Any:
    return len(source) if isinstance(source, str) else None


def substring(source: Any, start: Any, end: Any = None) -> Any:
    if not isinstance(source, str) or start is None:
        return None
    return source[int(start):] if end is None else source[int(start):int(end)]


def concat(*values: Any) -> Any:
    if any(v is None for v in values):
        return None
    return "".join(to_string(v) for v in values)


def to_string(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def number(source: Any, base: Any = 10) -> Any:
    if not isinstance(source, str) or base is None:
        return None
    text = source.strip()
    try:
        if int(base) == 16 and text.lower().startswith("0x"):
            text = text[2:]
        if int(base) != 10:
            return int(text, int(base))
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        return None


def cidr_ranges(blocks: list[Any]) -> list[tuple[int, int]] | None:
    out = []
    for block in blocks:
        if not isinstance(block, str):
            return None
        try:
            out.append(query_ip_or_cidr(block))
        except CoercionError:
            return None
    return out


def cidr_match(address: Any, *blocks: Any) -> Any:
    if address is None:
        return None
    ranges = cidr_ranges(list(blocks))
    value = doc_ip(address) if isinstance(address, str) else address
    if ranges is None or value is None:
        return None
    return any(low <= value <= high for low, high in ranges)


BOOLEAN_FUNCTIONS = frozenset({"startswith", "endswith", "stringcontains", "cidrmatch"})
CASE_FUNCTIONS = {"startswith": starts_with, "endswith": ends_with,
                  "stringcontains": string_contains, "between": between, "indexof": index_of}
PLAIN_FUNCTIONS: dict[str, Fn] = {
    "add": arithmetic("+"), "subtract": arithmetic("-"), "multiply": arithmetic("*"),
    "divide": arithmetic("/"), "modulo": arithmetic("%"), "length": length,
    "substring": substring, "concat": concat, "string": to_string, "number": number,
    "cidrmatch": cidr_match,
}
ARITY = {"add": (2, 2), "subtract": (2, 2), "multiply": (2, 2), "divide": (2, 2),
         "modulo": (2, 2), "length": (1, 1), "substring": (2, 3), "concat": (1, 99),
         "string": (1, 1), "number": (1, 2), "cidrmatch": (2, 99), "startswith": (2, 2),
         "endswith": (2, 2), "stringcontains": (2, 2), "between": (3, 4), "indexof": (2, 3)}


def function(name: str, insensitive: bool) -> Fn | None:
    if name in CASE_FUNCTIONS:
        return CASE_FUNCTIONS[name](insensitive)
    return PLAIN_FUNCTIONS.get(name)
