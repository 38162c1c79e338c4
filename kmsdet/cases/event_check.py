"""Checks of one ``[[case.event]]`` / storyline ``[[event]]`` table before anything is built.

The record builder accepts any override on purpose (it must be able to write odd records), so a
typo such as ``userIdentity.tpye`` or a value AWS never writes (``userIdentity.type = "Alien"``,
``eventName = 42``) would otherwise give a case that silently tests something else. These
checks run when a cases file or storyline is loaded, where the file and line are known, and
stay limited to what CloudTrail fixes: its top-level keys, the ``userIdentity`` keys, the types
of its scalar fields, the documented identity types, and kmsdet's own ``_`` options.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kmsdet.cases.model import EVENT_OPTIONS
from kmsdet.cloudtrail.builder import TOP_LEVEL_ORDER
from kmsdet.cloudtrail.overrides import MARKERS
from kmsdet.errors import InputError
from kmsdet.rules.model import RuleSource
from kmsdet.rules.timing import duration_seconds

#: Top-level keys of a CloudTrail record (CloudTrail User Guide, "record contents").
TOP_LEVEL_KEYS = frozenset(TOP_LEVEL_ORDER) | {
    "vpcEndpointAccountId", "addendum", "edgeDeviceDetails", "insightDetails",
}

#: Keys of ``userIdentity`` (reference/cloudtrail.md §1.3).
IDENTITY_KEYS = frozenset({
    "type", "principalId", "arn", "accountId", "accessKeyId", "userName", "sessionContext",
    "invokedBy", "identityProvider", "onBehalfOf", "credentialId", "inScopeOf",
})

#: ``userIdentity.type`` values CloudTrail documents.
IDENTITY_TYPES = ("Root", "IAMUser", "AssumedRole", "Role", "FederatedUser", "Directory",
                  "AWSAccount", "AWSService", "IdentityCenterUser", "SAMLUser",
                  "WebIdentityUser", "Unknown")

_STRING_KEYS = frozenset({
    "eventVersion", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
    "errorCode", "errorMessage", "requestID", "eventID", "eventType", "apiVersion",
    "recipientAccountId", "sharedEventID", "vpcEndpointId", "vpcEndpointAccountId",
    "eventCategory", "sessionCredentialFromConsole",
})
_BOOL_KEYS = frozenset({"readOnly", "managementEvent"})
_TABLE_KEYS = frozenset({"userIdentity", "tlsDetails"})
_IDENTITY_STRING_KEYS = frozenset({"type", "principalId", "arn", "accountId", "accessKeyId",
                                   "userName", "invokedBy", "identityProvider", "credentialId"})


@dataclass(frozen=True)
class EventProblem:
    """What is wrong with one event table; ``key`` is the path inside the table."""

    key: tuple[str, ...]
    message: str
    hint: str


def event_problem(spec: Mapping[str, Any]) -> EventProblem | None:
    """The first problem of an event table (keys nested as TOML parses dotted keys), or None."""
    for key, value in spec.items():
        if key.startswith("_"):
            problem = _option_problem(key, value)
        else:
            problem = _record_problem(key, value)
        if problem is not None:
            return problem
    return None


def _option_problem(key: str, value: Any) -> EventProblem | None:
    if key not in EVENT_OPTIONS:
        return EventProblem((key,), f"unknown option {key}",
                            "kmsdet options are " + ", ".join(EVENT_OPTIONS)
                            + _did_you_mean(key, EVENT_OPTIONS))
    if key == "_count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return EventProblem((key,), f"_count must be a positive integer, not {value!r}",
                                "write _count = 3 to repeat the event three times")
        return None
    text = value.strip().lstrip("+-") if isinstance(value, str) else None
    if text is None or duration_seconds(text) is None:
        return EventProblem((key,), f"{key} {value!r} is not a duration like \"-2m\" or \"30s\"",
                            "write a string: an optional sign, a number and one of s m h d")
    return None


def _record_problem(key: str, value: Any) -> EventProblem | None:
    if key not in TOP_LEVEL_KEYS:
        return EventProblem((key,), f"'{key}' is not a CloudTrail record key",
                            "use the record's own key names (eventName, userIdentity.type, "
                            "requestParameters.keyId, ...)" + _did_you_mean(key, TOP_LEVEL_KEYS))
    if _is_marker(value):
        return None
    if key in _STRING_KEYS and not isinstance(value, str):
        return _type_problem((key,), value, "a string")
    if key in _BOOL_KEYS and not isinstance(value, bool):
        return _type_problem((key,), value, "true or false")
    if key in _TABLE_KEYS and not isinstance(value, Mapping):
        return _type_problem((key,), value, "a table")
    if key == "eventTime" and not isinstance(value, datetime) and not _is_iso_time(value):
        return EventProblem((key,), f"eventTime {value!r} is not a date-time",
                            "write it as 2024-05-01T10:00:00Z, or set _at = \"-5m\" instead")
    if key == "userIdentity":
        return _identity_problem(value)
    return None


def _identity_problem(identity: Mapping[str, Any]) -> EventProblem | None:
    for key, value in identity.items():
        path = ("userIdentity", key)
        if key not in IDENTITY_KEYS:
            return EventProblem(path, f"'userIdentity.{key}' is not a userIdentity key",
                                "userIdentity keys are " + ", ".join(sorted(IDENTITY_KEYS))
                                + _did_you_mean(key, IDENTITY_KEYS))
        if _is_marker(value):
            continue
        if key in _IDENTITY_STRING_KEYS and not isinstance(value, str):
            return _type_problem(path, value, "a string")
        if key == "type" and value not in IDENTITY_TYPES:
            return EventProblem(path, f"userIdentity.type {value!r} is not a CloudTrail "
                                      "identity type",
                                "one of " + ", ".join(IDENTITY_TYPES)
                                + _did_you_mean(value, IDENTITY_TYPES))
    return None


def _type_problem(path: tuple[str, ...], value: Any, wanted: str) -> EventProblem:
    name = ".".join(path)
    return EventProblem(path, f"{name} must be {wanted}, not {type(value).__name__} {value!r}",
                        f'quote text values (eventName = "DisableKey"); use "<absent>" to '
                        f'delete {name} and "<null>" for JSON null')


def _is_marker(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value in MARKERS)


def _is_iso_time(value: Any) -> bool:
    if isinstance(value, date):
        return True
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return True


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_event_tables(events: Sequence[Mapping[str, Any]], *, source: RuleSource,
                       prefix: tuple[str | int, ...], label: str) -> None:
    """Raise InputError at the file line of the first bad key of ``events``.

    ``prefix`` is where the events sit in the file's TOML (``("case", 0, "event")``), ``label``
    names them in the message (``case 'x'``).
    """
    for index, spec in enumerate(events):
        problem = event_problem(spec)
        if problem is None:
            continue
        loc = (*prefix, index, *problem.key)
        raise InputError(f"{label} event {index + 1}: {problem.message}", file=str(source.path),
                         line=source.line_of(loc), field=".".join(problem.key),
                         hint=problem.hint)
