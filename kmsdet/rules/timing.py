"""Date math of rule schedules: the one place that turns ``now-6m`` and ``5m`` into time.

Lint uses it to spot gaps; every backend uses it to compute a run's window exactly as Kibana's
executor does (``from`` relative to the run time, defaults ``now-6m`` and ``5m``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

DEFAULT_FROM = "now-6m"
DEFAULT_TO = "now"
DEFAULT_INTERVAL = "5m"
DEFAULT_MAX_SIGNALS = 100

_UNITS = {"s": 1, "m": 60, "h": 3600, "H": 3600, "d": 86400, "w": 604800,
          "M": 2592000, "y": 31536000}
_DURATION = re.compile(r"^(\d+)([smhHdwMy])$")
_RELATIVE = re.compile(r"^now(?:([+-])(\d+)([smhHdwMy]))?$")


def duration_seconds(value: str | None) -> int | None:
    """Seconds in ``5m``-style durations; None when the text is not one."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


def lookback_seconds(value: str | None) -> int | None:
    """How far back ``now-6m`` reaches, in seconds; None when it is not simple date math."""
    match = _RELATIVE.match((value or DEFAULT_FROM).strip())
    if not match:
        return None
    if match.group(1) is None:
        return 0
    amount = int(match.group(2)) * _UNITS[match.group(3)]
    return amount if match.group(1) == "-" else -amount


def resolve(value: str, now: datetime) -> datetime:
    """An absolute time for ``now``-relative date math (or an ISO timestamp)."""
    match = _RELATIVE.match(value.strip())
    if match:
        if match.group(1) is None:
            return now
        delta = timedelta(seconds=int(match.group(2)) * _UNITS[match.group(3)])
        return now - delta if match.group(1) == "-" else now + delta
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def time_field(timestamp_override: str | None,
               fallback_disabled: bool | None) -> tuple[str, bool]:
    """The field a rule's executor ranges and sorts on, and whether documents lacking it fall
    back to ``@timestamp`` (Kibana's default whenever an override is set)."""
    primary = timestamp_override or "@timestamp"
    return primary, primary != "@timestamp" and not fallback_disabled


def window(from_: str | None, to: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The [start, end] a run at ``now`` searches (Kibana's from/to, with its defaults)."""
    return resolve(from_ or DEFAULT_FROM, now), resolve(to or DEFAULT_TO, now)
