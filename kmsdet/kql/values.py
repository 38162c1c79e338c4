"""Value coercion the way Elasticsearch does it, for both sides of a comparison.

Elasticsearch turns a document value into what it indexes (a keyword string, a number at the
field's precision, a 128-bit address, an epoch instant) and a query value into the same shape,
and only then compares. Getting that conversion right is what makes ``source.ip: 10.0.0.0/8``,
``@timestamp <= 2024-01-01`` or ``aws.cloudtrail.flattened.request_parameters.days: 7`` behave
as in production, so it lives here, apart from the query logic.

Document-side helpers return ``None`` for a value Elasticsearch would not index (it would reject
the document, or skip the value); query-side helpers raise ``CoercionError`` where
Elasticsearch would fail the whole search.
"""

from __future__ import annotations

import calendar
import ipaddress
import json
import math
import re
import struct
from datetime import datetime, timedelta, timezone

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "long": (-(2**63), 2**63 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "unsigned_long": (0, 2**64 - 1),
}
FLOAT_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})
NUMERIC_TYPES = frozenset(INTEGER_RANGES) | FLOAT_TYPES
DATE_TYPES = frozenset({"date", "date_nanos"})


class CoercionError(ValueError):
    """A query value Elasticsearch cannot convert for the field type (the search would fail)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# ---------------------------------------------------------------- keyword-like strings


def keyword_string(raw: object) -> str | None:
    """What a keyword-like field indexes for a JSON scalar (``true`` -> ``"true"``, 7 -> ``"7"``).

    Numbers keep their JSON spelling because Elasticsearch indexes the source token's text.
    """
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float)):
        return json.dumps(raw)
    return None


# ---------------------------------------------------------------- ip


_IPV4_MAPPED = 0xFFFF << 32


def _ip_int(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    """Addresses as Elasticsearch stores them: IPv4 in its IPv4-mapped IPv6 form."""
    if isinstance(addr, ipaddress.IPv4Address):
        return _IPV4_MAPPED | int(addr)
    return int(addr)


def doc_ip(raw: object) -> int | None:
    if not isinstance(raw, str):
        return None
    try:
        return _ip_int(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def query_ip(text: str) -> int:
    try:
        return _ip_int(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise CoercionError(
            f"'{text}' is not an IP address",
            "an ip field accepts an IPv4/IPv6 address (or a CIDR block in 'field: value')",
        ) from None


def query_ip_or_cidr(text: str) -> tuple[int, int]:
    """Inclusive address range a term query on an ip field covers (one address, or a CIDR)."""
    if "/" not in text:
        value = query_ip(text)
        return value, value
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise CoercionError(
            f"'{text}' is not a CIDR block", "write a block such as 10.0.0.0/8 or 2001:db8::/32"
        ) from None
    if isinstance(net, ipaddress.IPv4Network):
        return _IPV4_MAPPED | int(net.network_address), _IPV4_MAPPED | int(net.broadcast_address)
    return int(net.network_address), int(net.broadcast_address)


# ---------------------------------------------------------------- numbers

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _round_float(value: float, type_: str) -> float:
    """A double at the precision the field stores (float32, float16), as the index holds it."""
    if type_ == "float":
        return float(struct.unpack("f", struct.pack("f", value))[0])
    if type_ == "half_float":
        try:
            return float(struct.unpack("e", struct.pack("e", value))[0])
        except OverflowError:
            return math.copysign(math.inf, value)
    return value


def _parse_number_text(text: str) -> int | float | None:
    text = text.strip()
    if not _NUMBER_RE.match(text):
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def doc_number(raw: object, type_: str) -> int | float | None:
    """The number a numeric field indexes, or None when the value would be rejected.

    Strings are coerced and integer fields truncate fractions (``coerce: true``, the default).
    """
    if isinstance(raw, bool):
        return None
    value: int | float | None
    if isinstance(raw, (int, float)):
        value = raw
    elif isinstance(raw, str):
        value = _parse_number_text(raw)
    else:
        return None
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if type_ in INTEGER_RANGES:
        whole = int(value)  # truncation towards zero, like Java's cast
        low, high = INTEGER_RANGES[type_]
        return whole if low <= whole <= high else None
    return _round_float(float(value), type_)


def query_number(text: str, type_: str) -> int | float:
    """The query value converted as the field type's query does; errors fail the search."""
    value = _parse_number_text(text)
    if value is None:
        raise CoercionError(
            f"'{text}' is not a number", f"a {type_} field only matches numeric values"
        )
    if type_ in INTEGER_RANGES:
        return value  # a fractional value simply never equals a whole number
    return _round_float(float(value), type_)


# ---------------------------------------------------------------- booleans


def doc_bool(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "":
        return False
    return None


def query_bool(text: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise CoercionError(
        f"'{text}' is not a boolean", "a boolean field only matches true or false"
    )


# ---------------------------------------------------------------- dates

NANOS_PER_MILLI = 1_000_000
NANOS_PER_SECOND = 1_000_000_000

_ISO_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$"
)
_EPOCH_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_MATH_RE = re.compile(r"([+-])(\d*)([yMwdhHms])|/([yMwdhHms])")


def _offset_seconds(zone: str | None) -> int:
    if zone is None or zone == "Z":
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return sign * (hours * 3600 + minutes * 60)


def _iso_nanos(match: re.Match[str], round_up: bool) -> int:
    """Epoch nanos of a strict_date_optional_time value.

    Missing components are filled the way range queries do: month and day with 01, and, when
    rounding up (``lte``, ``gt``), the time with 23:59:59.999999999 (so ``lte 2024-01-01``
    covers that whole day); when rounding down, with zeros.
    """
    year = int(match["y"])
    month = int(match["mo"] or 1)
    day = int(match["d"] or 1)
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        raise ValueError("date out of range")
    fill = round_up
    hour = int(match["h"]) if match["h"] else (23 if fill else 0)
    minute = int(match["mi"]) if match["mi"] else (59 if fill else 0)
    second = int(match["s"]) if match["s"] else (59 if fill else 0)
    default_nanos = 999_999_999 if fill else 0
    nanos = int(match["f"].ljust(9, "0")) if match["f"] else default_nanos
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("time out of range")
    days = (datetime(year, month, day) - datetime(1970, 1, 1)).days
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - _offset_seconds(match["z"])
    return seconds * NANOS_PER_SECOND + nanos


def _epoch_millis_nanos(text: str) -> int:
    whole, _, frac = text.partition(".")
    nanos = int(whole) * NANOS_PER_MILLI
    if frac:
        sub = int(frac[:6].ljust(6, "0"))
        nanos += -sub if whole.startswith("-") else sub
    return nanos


def parse_date_nanos(text: str, round_up: bool = False) -> int:
    """Epoch nanos of ``strict_date_optional_time||epoch_millis`` text (the default format)."""
    text = text.strip()
    match = _ISO_RE.match(text)
    if match:
        try:
            return _iso_nanos(match, round_up)
        except ValueError:
            pass
    if _EPOCH_RE.match(text):
        return _epoch_millis_nanos(text)
    raise CoercionError(
        f"'{text}' is not a date",
        "use ISO 8601 (2024-01-01T10:00:00Z), epoch milliseconds, or date math (now-5m)",
    )


def doc_date_nanos(raw: object) -> int | None:
    """Epoch nanos of a document's date value, or None when Elasticsearch would reject it."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw * NANOS_PER_MILLI
    if isinstance(raw, float):
        return int(raw * NANOS_PER_MILLI) if math.isfinite(raw) else None
    if isinstance(raw, str):
        try:
            return parse_date_nanos(raw)
        except CoercionError:
            return None
    return None


_UTC = timezone.utc


def _to_datetime(nanos: int) -> tuple[datetime, int]:
    seconds, rest = divmod(nanos, NANOS_PER_SECOND)
    return datetime.fromtimestamp(seconds, _UTC), rest


def _from_datetime(moment: datetime, rest: int) -> int:
    return calendar.timegm(moment.timetuple()) * NANOS_PER_SECOND + rest


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


_FIXED_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}


def _apply_math(nanos: int, math_text: str, round_up: bool) -> int:
    """Apply ``+1d``, ``-5m``, ``/d`` operations left to right, in UTC."""
    pos = 0
    while pos < len(math_text):
        op = _MATH_RE.match(math_text, pos)
        if op is None:
            raise CoercionError(
                f"invalid date math '{math_text}'", "use operations such as -5m, +1d or /d"
            )
        pos = op.end()
        moment, rest = _to_datetime(nanos)
        if op.group(4):
            nanos = _round(moment, op.group(4), round_up)
            continue
        amount = int(op.group(2) or 1) * (-1 if op.group(1) == "-" else 1)
        unit = op.group(3)
        if unit in ("y", "M"):
            moment = _add_months(moment, amount * (12 if unit == "y" else 1))
            nanos = _from_datetime(moment, rest)
        else:
            nanos += amount * _FIXED_UNITS[unit] * NANOS_PER_SECOND
    return nanos


def _round(moment: datetime, unit: str, round_up: bool) -> int:
    """Round down to the unit's start; when rounding up, to its last millisecond."""
    if unit == "y":
        start = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1)
    elif unit == "M":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = _add_months(start, 1)
    elif unit == "w":
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif unit == "d":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
    elif unit in ("h", "H"):
        start = moment.replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=1)
    elif unit == "m":
        start = moment.replace(second=0, microsecond=0)
        end = start + timedelta(minutes=1)
    else:
        start = moment.replace(microsecond=0)
        end = start + timedelta(seconds=1)
    if round_up:
        return _from_datetime(end, 0) - NANOS_PER_MILLI
    return _from_datetime(start, 0)


def resolve_date_nanos(text: str, now_nanos: int, round_up: bool) -> int:
    """Epoch nanos of a range bound: a date, epoch millis, or date math (``now-6m``, ``d||/M``).

    As in Elasticsearch, an explicit date before ``||`` is parsed without rounding up; only
    ``/unit`` rounding and missing components of a plain date depend on ``round_up``.
    """
    text = text.strip()
    try:
        if text.startswith("now"):
            return _apply_math(now_nanos, text[3:], round_up)
        if "||" in text:
            anchor, _, math_text = text.partition("||")
            return _apply_math(parse_date_nanos(anchor, False), math_text, round_up)
        return parse_date_nanos(text, round_up)
    except (OverflowError, OSError, ValueError) as exc:
        if isinstance(exc, CoercionError):
            raise
        raise CoercionError(f"date '{text}' is out of range") from None


def datetime_to_nanos(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_UTC)
    return _from_datetime(moment.astimezone(_UTC), moment.microsecond * 1000)
