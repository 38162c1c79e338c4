"""The double itself answers as Kibana documents it (so deploy tests against it mean something)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.contract.conftest import API_KEY, READ_ONLY_KEY
from tests.contract.kibana_double import KibanaDouble

pytestmark = pytest.mark.contract
RULES = "/api/detection_engine/rules"
HEADERS = {"Authorization": f"ApiKey {API_KEY}", "kbn-xsrf": "true",
           "elastic-api-version": "2023-10-31"}


def minimal(rule_id: str = "r1", **extra: Any) -> dict[str, Any]:
    return {"rule_id": rule_id, "type": "query", "name": "n", "description": "d",
            "risk_score": 21, "severity": "low", "query": "event.action: x", **extra}


def call(kibana: KibanaDouble, method: str, path: str, headers: dict[str, str] | None = None,
         **kwargs: Any) -> requests.Response:
    return requests.request(method, kibana.url + path, headers=HEADERS if headers is None
                            else headers, timeout=5, **kwargs)


def test_write_without_kbn_xsrf_is_rejected_with_cores_message(kibana: KibanaDouble) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != "kbn-xsrf"}
    response = call(kibana, "POST", RULES, headers=headers, json=minimal())
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "error": "Bad Request",
                               "message": "Request must contain a kbn-xsrf header."}


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "ApiKey wrong"}, 401),
    ({"Authorization": f"ApiKey {READ_ONLY_KEY}", "kbn-xsrf": "true"}, 403),
])
def test_auth_failures(kibana: KibanaDouble, headers: dict[str, str], status: int) -> None:
    response = call(kibana, "POST", RULES, headers={"kbn-xsrf": "true", **headers},
                    json=minimal())
    assert response.status_code == status
    assert response.json()["statusCode"] == status


def test_unknown_space_is_404_and_spaces_are_separate(kibana: KibanaDouble) -> None:
    assert call(kibana, "GET", f"/s/nope{RULES}/_find").status_code == 404
    assert call(kibana, "POST", f"/s/detections{RULES}", json=minimal()).status_code == 200
    assert call(kibana, "GET", f"{RULES}/_find").json()["total"] == 0
    assert call(kibana, "GET", f"/s/detections{RULES}/_find").json()["total"] == 1


def test_create_twice_is_409_and_missing_rule_is_404(kibana: KibanaDouble) -> None:
    assert call(kibana, "POST", RULES, json=minimal()).status_code == 200
    again = call(kibana, "POST", RULES, json=minimal())
    assert again.status_code == 409
    assert again.json() == {"message": 'rule_id: "r1" already exists', "status_code": 409}
    missing = call(kibana, "GET", RULES, params={"rule_id": "nope"})
    assert missing.status_code == 404
    assert call(kibana, "DELETE", RULES, params={"rule_id": "nope"}).status_code == 404


def test_unknown_fields_are_dropped_and_defaults_filled(kibana: KibanaDouble) -> None:
    created = call(kibana, "POST", RULES, json=minimal(severty="high")).json()
    assert "severty" not in created
    assert created["interval"] == "5m" and created["from"] == "now-6m"
    assert created["max_signals"] == 100 and created["language"] == "kuery"
    assert created["revision"] == 0 and created["id"]


def test_invalid_body_is_400_with_the_field(kibana: KibanaDouble) -> None:
    response = call(kibana, "POST", RULES, json=minimal(risk_score=101))
    assert response.status_code == 400
    assert "risk_score" in response.json()["message"]


def test_find_pages(kibana: KibanaDouble) -> None:
    for index in range(5):
        call(kibana, "POST", RULES, json=minimal(f"r{index}"))
    pages = [call(kibana, "GET", f"{RULES}/_find", params={"page": p, "per_page": 2}).json()
             for p in (1, 2, 3)]
    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert all(p["total"] == 5 for p in pages)


def _import(kibana: KibanaDouble, lines: list[dict[str, Any]], overwrite: bool,
            filename: str = "rules.ndjson") -> requests.Response:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    return call(kibana, "POST", f"{RULES}/_import",
                params={"overwrite": str(overwrite).lower()},
                files={"file": (filename, data, "application/ndjson")})


def test_import_reports_errors_with_http_200(kibana: KibanaDouble) -> None:
    call(kibana, "POST", RULES, json=minimal("exists"))
    response = _import(kibana, [minimal("exists"), minimal("new"), minimal("new"),
                                minimal("bad", risk_score="high")], overwrite=False)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["success_count"] == 1
    statuses = {e["rule_id"]: e["error"]["status_code"] for e in body["errors"]}
    assert statuses == {"exists": 409, "new": 400, "bad": 400}


def test_import_overwrite_replaces_and_checks_extension(kibana: KibanaDouble) -> None:
    call(kibana, "POST", RULES, json=minimal("r1", interval="10m"))
    assert _import(kibana, [minimal("r1")], overwrite=True).json()["success"] is True
    assert kibana.space().rules["r1"]["interval"] == "5m"
    wrong = _import(kibana, [minimal("r1")], overwrite=True, filename="rules.json")
    assert wrong.status_code == 400 and "Invalid file extension" in wrong.json()["message"]


def test_bulk_delete_partial_failure_is_500_with_summary(kibana: KibanaDouble) -> None:
    ids = [call(kibana, "POST", RULES, json=minimal(f"r{i}")).json()["id"] for i in range(2)]
    kibana.bulk_fail_ids.add(ids[1])
    response = call(kibana, "POST", f"{RULES}/_bulk_action",
                    json={"action": "delete", "ids": ids})
    assert response.status_code == 500
    body = response.json()
    assert body["attributes"]["summary"] == {"failed": 1, "skipped": 0, "succeeded": 1,
                                             "total": 2}
    assert body["attributes"]["errors"][0]["rules"][0]["id"] == ids[1]
    assert list(kibana.space().rules) == ["r1"]


def test_injected_429_carries_retry_after(kibana: KibanaDouble) -> None:
    from tests.contract.kibana_double import Fault

    kibana.faults.append(Fault("status", path="/_find", status=429, retry_after=7))
    response = call(kibana, "GET", f"{RULES}/_find")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert call(kibana, "GET", f"{RULES}/_find").status_code == 200


def test_preview_and_privileges(kibana: KibanaDouble) -> None:
    preview = call(kibana, "POST", f"{RULES}/preview", json={
        **minimal(), "invocationCount": 1, "timeframeEnd": "2026-01-01T00:00:00Z"})
    assert preview.status_code == 200 and preview.json()["previewId"]
    privileges = call(kibana, "GET", "/api/detection_engine/privileges").json()
    assert privileges["has_encryption_key"] is True and privileges["is_authenticated"]
