"""Kibana's answers turned into the project's typed errors.

A user who sees "HTTP 403" learns nothing; one who sees which privilege is missing, or that the
URL points at Elasticsearch instead of Kibana, can fix it. Request problems (400, 409) are input
errors (exit 2); everything about reaching or trusting the service is environmental (exit 3).
"""

from __future__ import annotations

import json
import re
from typing import Any

from kmsdet.errors import EnvironmentProblem, InputError, KmsdetError

RULES_WRITE_PRIVILEGE = "Security > Rules and Exceptions: All (feature privilege rules_all)"
RULES_READ_PRIVILEGE = "Security > Rules and Exceptions: Read (feature privilege rules_read)"


class KibanaError(EnvironmentProblem):
    """Kibana could not be used: unreachable, refused us, or answered unexpectedly."""

    status: int | None = None


class KibanaUnreachable(KibanaError):
    """No HTTP answer at all (DNS, refused, TLS, timeout, connection dropped)."""


class KibanaAuthError(KibanaError):
    """401: the credentials were not accepted."""


class KibanaForbidden(KibanaError):
    """403: authenticated, but missing a privilege (named in the message when Kibana says)."""


class KibanaNotFound(KibanaError):
    """404 on a route that always exists: the URL or the space is wrong."""


class NotKibana(KibanaError):
    """Something answered, but it is not Kibana (Elasticsearch, a proxy page, ...)."""


class KibanaServerError(KibanaError):
    """5xx after retries."""


class KibanaRejected(InputError):
    """400: Kibana refused the request body; its validation message is kept verbatim."""

    status: int | None = None


class KibanaConflict(InputError):
    """409: the object already exists (create of an existing rule_id)."""

    status: int | None = None


def kibana_message(body: Any) -> str | None:
    """The human message of either of Kibana's error shapes (Boom or SIEM)."""
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        if isinstance(message, (list, dict)):
            return json.dumps(message, sort_keys=True)
        error = body.get("error")
        if isinstance(error, str):
            return error
        if isinstance(error, dict):
            return kibana_message(error)
    if isinstance(body, list) and body:
        return "; ".join(filter(None, (kibana_message(b) for b in body))) or None
    return None


_PRIVILEGE = re.compile(r"granted by the (?:Kibana )?privileges? \[([^\]]+)\]", re.IGNORECASE)
_MISSING = re.compile(r"missing[^\[]*\[([^\]]+)\]", re.IGNORECASE)


def missing_privilege(message: str | None, method: str) -> str:
    """The privilege a 403 says is missing, or the one kmsdet's request needs."""
    for pattern in (_PRIVILEGE, _MISSING):
        match = pattern.search(message or "")
        if match:
            return match.group(1)
    return RULES_READ_PRIVILEGE if method.upper() == "GET" else RULES_WRITE_PRIVILEGE


def error_for_status(status: int, body: Any, *, method: str, path: str,
                     space: str) -> KmsdetError:
    """Map one failed response to the error a user can act on."""
    said = kibana_message(body)
    message = said or f"HTTP {status}"
    detail = f": {said}" if said else ""  # never "HTTP 502: HTTP 502"
    route = f"{method.upper()} {path}"
    error: KmsdetError
    if status == 400:
        error = KibanaRejected(f"Kibana rejected {route}: {message}",
                               hint="fix the field named in Kibana's message")
    elif status == 401:
        error = KibanaAuthError(f"Kibana did not accept the credentials ({route})",
                                hint="check the API key (the 'encoded' value of "
                                     "POST /_security/api_key) or the user and password")
    elif status == 403:
        privilege = missing_privilege(message, method)
        error = KibanaForbidden(f"the Kibana user or API key lacks the privilege {privilege} "
                                f"for {route} in space '{space}'",
                                hint=f"grant {privilege} in space '{space}' to the role used")
    elif status == 404:
        error = KibanaNotFound(f"{route} was not found: wrong Kibana URL or space '{space}'",
                               hint="check --kibana-url (Kibana's base URL, port 5601 by "
                                    f"default) and that space '{space}' exists")
    elif status == 409:
        error = KibanaConflict(f"conflict on {route}: {message}",
                               hint="the object already exists; deploy with import "
                                    "(overwrite) instead of create")
    elif status >= 500:
        error = KibanaServerError(f"Kibana failed on {route}: HTTP {status}{detail}",
                                  hint="retry later; see Kibana's logs")
    else:
        error = KibanaError(f"unexpected HTTP {status} on {route}{detail}")
    error.status = status  # type: ignore[attr-defined]
    return error
