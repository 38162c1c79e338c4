"""What a queried field is (where its value lives, how it is typed) and realistic values for it.

The solver never decides on its own whether a value satisfies a clause: the matcher does. This
module only proposes candidates, in order of preference: values taken from the clauses
themselves (the term, the wildcard filled in, a bound nudged inside the range), then realistic
CloudTrail values for well-known fields, then plain values of the field's type.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.ast import Exists, Is, Range
from kmsdet.kql.values import (
    DATE_TYPES,
    FLOAT_TYPES,
    INTEGER_RANGES,
    NANOS_PER_MILLI,
    NANOS_PER_SECOND,
    CoercionError,
    parse_date_nanos,
    query_ip,
    query_ip_or_cidr,
    resolve_date_nanos,
)

KEYWORD_TYPES = frozenset({"keyword", "wildcard", "flattened_key", "constant_keyword"})
TEXT_TYPES = frozenset({"text", "match_only_text"})
_IPV4_MAPPED = 0xFFFF << 32
_DAY = 86400 * NANOS_PER_SECOND

#: Values seen in real CloudTrail documents, tried before generic ones so that generated
#: events (and near misses especially) read like the real thing.
REALISTIC: dict[str, tuple[Any, ...]] = {
    "event.outcome": ("success", "failure"),
    "event.provider": ("kms.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com",
                       "s3.amazonaws.com", "ec2.amazonaws.com"),
    "event.action": ("DescribeKey", "ListAliases", "GetKeyPolicy", "Decrypt", "CreateGrant"),
    "aws.cloudtrail.user_identity.type": ("IAMUser", "AssumedRole", "Root", "AWSService",
                                          "FederatedUser"),
    "aws.cloudtrail.error_code": ("AccessDenied", "NotFoundException"),
    "aws.cloudtrail.event_type": ("AwsApiCall", "AwsServiceEvent"),
    "aws.cloudtrail.event_category": ("Management", "Data"),
    "cloud.region": ("us-east-1", "eu-west-1", "ap-southeast-2"),
    "user.name": ("alice", "ci-deployer", "backup-operator"),
    "user_agent.original": (
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off",
        "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1.0 lang/python#3.11.8",
        "console.amazonaws.com"),
    "source.ip": ("192.0.2.10", "198.51.100.20", "203.0.113.30", "2001:db8::10"),
    "source.address": ("192.0.2.10", "kms.amazonaws.com"),
    "cloud.account.id": ("111122223333", "444455556666"),
}

_GENERIC: dict[str, tuple[Any, ...]] = {
    "keyword": ("kmsdet-value", "kmsdet-other"),
    "text": ("kmsdet value", "kmsdet other"),
    "ip": ("192.0.2.10", "198.51.100.20", "2001:db8::10"),
    "boolean": (True, False),
    "integer": (1, 42, 0),
    "float": (1.5, 42.0, 0.0),
    "geo_point": ({"lat": 52.37, "lon": 4.89},),
    "object": ({"kmsdet": "kmsdet-value"},),
    "dynamic": ("kmsdet-value", "kmsdet-other", 42),
}


@dataclass(frozen=True, slots=True)
class FieldKind:
    """A concrete field as the solver sees it.

    ``storage`` is where the value lives in the document (a multi-field's parent), ``type`` is
    the mapping type (``flattened_key`` for a sub-key of a flattened field, ``dynamic`` for a
    field no schema maps, ``unsearchable`` for index: false without doc values), ``constant``
    a constant_keyword's fixed value.
    """

    name: str
    storage: str
    type: str
    constant: str | None = None


def resolve(schema: FieldSchema | None, name: str) -> FieldKind:
    """How the matcher will read field ``name`` (an absolute name)."""
    info = schema.get(name) if schema is not None else None
    if info is not None:
        storage = info.parent or name
        if not info.index and not info.doc_values:
            return FieldKind(name, storage, "unsearchable")
        if info.type == "constant_keyword":
            return FieldKind(name, storage, info.type, info.value)
        return FieldKind(name, storage, info.type)
    if schema is not None and schema.flattened_root(name) is not None:
        return FieldKind(name, name, "flattened_key")
    if name.endswith(".keyword") and (schema is None or schema.get(name[:-8]) is None):
        return FieldKind(name, name[:-8], "keyword")
    return FieldKind(name, name, "dynamic")


def family(type_: str) -> str:
    """The broad kind of values a mapping type holds."""
    if type_ in KEYWORD_TYPES:
        return "keyword"
    if type_ in TEXT_TYPES:
        return "text"
    if type_ in INTEGER_RANGES:
        return "integer"
    if type_ in FLOAT_TYPES:
        return "float"
    if type_ in DATE_TYPES:
        return "date"
    if type_ in ("ip", "boolean", "geo_point", "dynamic"):
        return type_
    if type_ in ("flattened", "object", "nested"):
        return "object"
    return "none"


def defaults(kind: FieldKind, now_nanos: int) -> list[Any]:
    """Realistic then generic values for ``kind``, for exists clauses and negated-only fields."""
    fam = family(kind.type)
    out: list[Any] = list(REALISTIC.get(kind.storage, ()))
    if fam == "date":
        out.append(format_nanos(now_nanos - 60 * NANOS_PER_SECOND))
    out.extend(_GENERIC.get(fam, ()))
    return out


def format_nanos(nanos: int) -> str:
    """An ISO 8601 UTC instant with millisecond precision (what the pipeline writes).

    Instants outside what a date field holds (before year 1 or after 9999) come out as epoch
    milliseconds, which Elasticsearch also accepts.
    """
    seconds, rest = divmod(nanos, NANOS_PER_SECOND)
    try:
        moment = datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return str(nanos // NANOS_PER_MILLI)
    return (f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}."
            f"{rest // NANOS_PER_MILLI:03d}Z")


def _ip_text(value: int) -> str:
    if value >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value))


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def fill_wildcard(pieces: tuple[str, ...], filler: str) -> str:
    return filler.join(pieces)


def _wildcard_fills(pieces: tuple[str, ...], lower: bool = False) -> list[str]:
    fills = [fill_wildcard(pieces, f) for f in ("", "x", "-kmsdet-")]
    return [f.lower() for f in fills] if lower else fills


def _text_terms(text: str, pieces: tuple[str, ...] | None) -> list[str]:
    """Values for a query_string on analysed text: each term filled in, alone and together."""
    joined = fill_wildcard(pieces, "") if pieces is not None else text
    terms = joined.lower().split()
    out = [" ".join(terms)] if terms else []
    out.extend(terms)
    return out


def atom_candidates(atom: Is | Exists | Range, kind: FieldKind, now_nanos: int) -> list[Any]:
    """Values that make this one clause true, best first (the matcher has the last word)."""
    fam = family(kind.type)
    if isinstance(atom, Exists):
        return defaults(kind, now_nanos)
    value = atom.value
    text = value.text
    if isinstance(atom, Range):
        return _range_candidates(atom.op, text, fam, now_nanos)
    pieces = value.wildcard
    if fam in ("keyword", "dynamic"):
        out: list[Any] = _wildcard_fills(pieces) if pieces is not None else [text]
        if fam == "dynamic" and pieces is None:
            number = _number(text)
            if number is not None:
                out.append(number)
            if text in ("true", "false"):
                out.append(text == "true")
        return out
    if fam == "text":
        return _text_terms(text, pieces) + [text]
    if fam in ("integer", "float"):
        number = _number(text)
        return [number] if number is not None else []
    if fam == "boolean":
        return [text == "true"] if text in ("true", "false") else []
    if fam == "ip":
        try:
            low, high = query_ip_or_cidr(text)
        except CoercionError:
            return []
        return [_ip_text(v) for v in dict.fromkeys((low + 1 if high > low else low, low, high))]
    if fam == "date":
        try:
            return [format_nanos(resolve_date_nanos(text, now_nanos, False))]
        except CoercionError:
            return []
    if fam == "object":
        return [{"kmsdet": v} for v in _wildcard_fills(pieces)] if pieces else [{"kmsdet": text}]
    return []


def range_bounds(atom: Range, fam: str, now_nanos: int) -> list[int | float | str]:
    """The bound of a range clause in the family's comparable form (for midpoints)."""
    text = atom.value.text
    try:
        if fam in ("integer", "float", "dynamic"):
            number = _number(text)
            return [number] if number is not None else []
        if fam == "date":
            return [resolve_date_nanos(text, now_nanos, False),
                    resolve_date_nanos(text, now_nanos, True)]
        if fam == "ip":
            return [query_ip(text)]
    except CoercionError:
        return []
    return []


def _range_candidates(op: str, text: str, fam: str, now_nanos: int) -> list[Any]:
    up = op in (">", ">=")
    if fam in ("integer", "float", "dynamic"):
        number = _number(text)
        if number is None:
            return [text] if fam == "dynamic" else []
        steps = (0, 1, 10) if fam == "integer" else (0, 0.5, 1, 1e-3)
        values = [number + s if up else number - s for s in steps]
        if fam == "integer":
            values = [int(v) for v in values] + [int(number) + (1 if up else -1)]
        return list(dict.fromkeys(values))
    if fam == "date":
        try:
            low = resolve_date_nanos(text, now_nanos, False)
            high = resolve_date_nanos(text, now_nanos, True)
        except CoercionError:
            return []
        base = high if up else low
        sign = 1 if up else -1
        steps = (0, NANOS_PER_MILLI, NANOS_PER_SECOND, 60 * NANOS_PER_SECOND, _DAY)
        return [format_nanos(base + sign * s) for s in steps]
    if fam == "ip":
        try:
            bound = query_ip(text)
        except CoercionError:
            return []
        return [_ip_text(bound + (s if up else -s)) for s in (0, 1)]
    if fam == "boolean":
        return [True, False]
    if fam in ("keyword", "text"):
        base = text.lower() if fam == "text" else text
        numeric: list[Any] = []
        if base.isdigit():  # keyword ranges compare strings; a nearby number reads naturally
            numeric = [str(int(base) + 1)] if up else ([str(int(base) - 1)] if int(base) else [])
        return numeric + ([base, base + "a", base[:-1]] if up else [base, base[:-1], ""])
    return []


def between(low: int | float, high: int | float, fam: str) -> list[Any]:
    """A value strictly between two bounds, when the family has one."""
    if fam == "date":
        return [format_nanos((int(low) + int(high)) // 2)]
    if fam == "ip":
        return [_ip_text((int(low) + int(high)) // 2)]
    if fam == "integer":
        return [(int(low) + int(high)) // 2]
    return [(low + high) / 2]


def parse_date(text: str) -> int | None:
    try:
        return parse_date_nanos(text)
    except CoercionError:
        return None
