"""Status codes -> typed errors, and import batching inside Kibana's limits."""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.errors import EXIT_ENVIRONMENT, EXIT_USAGE
from kmsdet.kibana.deploy import batches
from kmsdet.kibana.errors import (
    KibanaAuthError,
    KibanaConflict,
    KibanaForbidden,
    KibanaNotFound,
    KibanaRejected,
    KibanaServerError,
    error_for_status,
)
from kmsdet.kibana.payload import build_payload
from kmsdet.kibana.plan import make_plan
from tests.unit.kibana.kibana_rules import seed_rule


@pytest.mark.parametrize(("status", "body", "kind", "exit_code", "text"), [
    (400, {"statusCode": 400, "error": "Bad Request", "message": "risk_score: Expected number"},
     KibanaRejected, EXIT_USAGE, "risk_score: Expected number"),
    (401, {"statusCode": 401, "message": "unauthenticated"}, KibanaAuthError,
     EXIT_ENVIRONMENT, "credentials"),
    (403, {"statusCode": 403, "message": "API [POST /x] is unauthorized for user, this action "
           "is granted by the Kibana privileges [rules_all]"}, KibanaForbidden,
     EXIT_ENVIRONMENT, "privilege rules_all"),
    (403, {"statusCode": 403, "message": "Forbidden"}, KibanaForbidden, EXIT_ENVIRONMENT,
     "Rules and Exceptions: All"),
    (404, {"statusCode": 404, "message": "Not Found"}, KibanaNotFound, EXIT_ENVIRONMENT,
     "space 'det'"),
    (409, {"message": 'rule_id: "r" already exists', "status_code": 409}, KibanaConflict,
     EXIT_USAGE, "already exists"),
    (503, {"message": "busy"}, KibanaServerError, EXIT_ENVIRONMENT, "HTTP 503"),
])
def test_error_for_status(status: int, body: Any, kind: type, exit_code: int,
                          text: str) -> None:
    error = error_for_status(status, body, method="POST", path="/api/x", space="det")
    assert isinstance(error, kind) and error.exit_code == exit_code
    assert text in error.render()


@pytest.mark.parametrize(("status", "body"), [(502, None), (502, {}), (418, "teapot")])
def test_a_status_without_a_message_is_said_once(status: int, body: Any) -> None:
    text = error_for_status(status, body, method="GET", path="/api/x", space="det").message
    assert text.count(f"HTTP {status}") == 1, text
    assert text.endswith(f"HTTP {status}") or text.endswith("/api/x"), text


def test_batches_respect_object_and_byte_limits() -> None:
    payloads = []
    for index in range(5):
        rule_id = f"00000000-0000-4000-8000-00000000000{index}"
        rule = seed_rule({"83a09442-28b0-4a75-9394-7b92ed8c9a50": rule_id})
        payloads.append(build_payload(rule))
    items = make_plan(payloads, []).items
    assert [len(b[0]) for b in batches(items, max_objects=2, max_bytes=10**9)] == [2, 2, 1]
    one_size = len(batches(items[:1], 10, 10**9)[0][1])
    assert [len(b[0]) for b in batches(items, 100, one_size * 3)] == [3, 2]
