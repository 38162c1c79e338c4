"""Java ``Map.toString()`` with ``java.util.HashMap`` iteration order, as the integration writes it.

The cloudtrail pipeline stores ``requestParameters`` and friends as the Java ``toString()`` of the
map Elasticsearch's json processor built. That map is a ``HashMap``, so the key order in the
string is not the JSON order but the hash-bucket order. Rules and analysts match on that string
(``aws.cloudtrail.request_parameters``), so a synthetic document with the JSON order would not be
the document production holds.

Emulation (JDK 8+ ``HashMap``): a key's bucket is ``spread(String.hashCode) & (capacity - 1)``
with ``spread(h) = h ^ (h >>> 16)``; capacity starts at 16 and doubles when the size exceeds
0.75 x capacity, or when one bucket would hold a ninth entry while the capacity is below 64.
Resizes keep the relative order inside a bucket, so iteration is "buckets ascending, insertion
order inside a bucket" at the final capacity. Not emulated: tree bins (9+ colliding keys in a
table of 64+), which no CloudTrail payload comes near.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache
from operator import mul
from typing import Any

_INITIAL_CAPACITY = 16
_LOAD_FACTOR = 0.75
_TREEIFY_THRESHOLD = 8
_MIN_TREEIFY_CAPACITY = 64
_MASK32 = 0xFFFFFFFF


_MAX_FAST = 4096
_POWERS = [1] * _MAX_FAST  # _POWERS[k] = 31**k mod 2**32, highest power first below
for _k in range(1, _MAX_FAST):
    _POWERS[_k] = (_POWERS[_k - 1] * 31) & _MASK32
_POWERS.reverse()


@lru_cache(maxsize=65536)
def java_string_hash(text: str) -> int:
    """``String.hashCode()`` as an unsigned 32-bit int (over UTF-16 code units, like Java).

    ``h = sum(unit[i] * 31**(n-1-i)) mod 2**32``, computed as one C-level dot product with
    precomputed powers, since resource keys (long ARNs) are hashed once per record.
    """
    units = array("H", text.encode("utf-16-le"))
    if sys.byteorder == "big":
        units.byteswap()
    n = len(units)
    if n <= _MAX_FAST:
        return sum(map(mul, units, _POWERS[_MAX_FAST - n:])) & _MASK32
    h = 0
    for unit in units:
        h = (31 * h + unit) & _MASK32
    return h


def _spread(text: str) -> int:
    h = java_string_hash(text)
    return h ^ (h >> 16)


def _final_capacity(spreads: Sequence[int]) -> int:
    """The table size after inserting these keys one by one into a fresh ``HashMap``."""
    capacity = _INITIAL_CAPACITY
    if len(spreads) <= int(capacity * _LOAD_FACTOR):
        # Fast path for the usual small payload: only a 9-way collision could resize it.
        counts: dict[int, int] = {}
        for s in spreads:
            b = s & (capacity - 1)
            counts[b] = counts.get(b, 0) + 1
        if max(counts.values(), default=0) <= _TREEIFY_THRESHOLD:
            return capacity
    counts = {}
    for size, s in enumerate(spreads, start=1):
        bucket = s & (capacity - 1)
        counts[bucket] = counts.get(bucket, 0) + 1
        if counts[bucket] > _TREEIFY_THRESHOLD and capacity < _MIN_TREEIFY_CAPACITY:
            capacity *= 2
            counts = _recount(spreads[:size], capacity)
        if size > capacity * _LOAD_FACTOR:
            capacity *= 2
            counts = _recount(spreads[:size], capacity)
    return capacity


def _recount(spreads: Sequence[int], capacity: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    for s in spreads:
        b = s & (capacity - 1)
        counts[b] = counts.get(b, 0) + 1
    return counts


def _order_indexes(keys: tuple[str, ...]) -> tuple[int, ...]:
    if len(keys) < 2:
        return tuple(range(len(keys)))
    return _cached_order_indexes(keys)


@lru_cache(maxsize=16384)
def _cached_order_indexes(keys: tuple[str, ...]) -> tuple[int, ...]:
    spreads = [_spread(k) for k in keys]
    mask = _final_capacity(spreads) - 1
    return tuple(sorted(range(len(keys)), key=lambda i: (spreads[i] & mask, i)))


def hashmap_order(keys: Iterable[str]) -> list[str]:
    """The keys in the order a ``HashMap`` filled in this (insertion) order iterates them."""
    ordered = tuple(keys)
    return [ordered[i] for i in _order_indexes(ordered)]


def to_java_order(value: Any) -> Any:
    """A copy of a JSON value with every object's keys in ``HashMap`` iteration order.

    The flattened copies the integration keeps are the very same ``HashMap`` objects, so their
    ``_source`` serialisation follows this order too. Keys must be strings, as in JSON.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        keys = tuple(value)
        if len(keys) == 1:
            return {keys[0]: to_java_order(value[keys[0]])}
        return {keys[i]: to_java_order(value[keys[i]]) for i in _order_indexes(keys)}
    if kind is list or isinstance(value, list | tuple):
        return [to_java_order(v) for v in value]
    return value


def java_to_string(value: Any) -> str:
    """``String.valueOf`` of a parsed JSON value: ``{k=v, k2=[a, b]}``, unquoted, Java numbers."""
    return ordered_to_string(to_java_order(value))


def ordered_to_string(value: Any) -> str:
    """:func:`java_to_string` of a value whose maps are already in :func:`to_java_order`."""
    parts: list[str] = []
    _render(value, parts)
    return "".join(parts)


def _render(value: Any, out: list[str]) -> None:
    if type(value) is str:
        out.append(value)
    elif type(value) is dict or isinstance(value, Mapping):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if n:
                out.append(", ")
            out.append(key)
            out.append("=")
            _render(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(", ")
            _render(item, out)
        out.append("]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(java_double_to_string(value))
    else:
        out.append(str(value))


_TWO_DIGITS = Context(prec=2, rounding=ROUND_HALF_EVEN)


def java_double_to_string(value: float) -> str:
    """``Double.toString`` (JDK 19+): shortest round-trip digits, plain between 1e-3 and 1e7.

    When one digit would do, Java may print two if that decimal is closer to the double
    (``4.9E-324``, not ``5e-324``); that case is handled too.
    """
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    shortest = Decimal(repr(value))
    sign, digits, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) == 1:
        exact = Decimal(value)
        two = _TWO_DIGITS.plus(exact)
        if float(two) == value and abs(two - exact) < abs(shortest - exact):
            sign, digits, exponent = two.as_tuple()
            assert isinstance(exponent, int)
    digit_list = list(digits)
    while len(digit_list) > 1 and digit_list[-1] == 0:
        digit_list.pop()
        exponent += 1
    text = "".join(str(d) for d in digit_list)
    k = exponent + len(text) - 1  # value = d.ddd x 10^k
    prefix = "-" if sign else ""
    if -3 <= k < 7:
        if k >= 0:
            whole = text[: k + 1].ljust(k + 1, "0")
            frac = text[k + 1:] or "0"
        else:
            whole = "0"
            frac = "0" * (-k - 1) + text
        return f"{prefix}{whole}.{frac}"
    return f"{prefix}{text[0]}.{text[1:] or '0'}E{k}"
