"""The detection-engine API client: one requests session per target.

It owns everything every call needs and nobody should repeat: the headers Kibana insists on
(kbn-xsrf on writes, elastic-api-version for the versioned public API), the /s/<space> prefix,
authentication, retries with backoff on 429/502/503/504 and dropped connections (honouring
Retry-After, capped so a misbehaving server cannot park a CI job), a timeout on every call, and
turning failures into typed errors that never contain a secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kmsdet.config import Target
from kmsdet.kibana.errors import (
    KibanaError,
    KibanaUnreachable,
    NotKibana,
    error_for_status,
)
from kmsdet.masking import mask

API_VERSION = "2023-10-31"
RULES = "/api/detection_engine/rules"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_FIND_PER_PAGE = 1000
_TIMED_OUT = "timed out"


class _KibanaRetry(Retry):
    """urllib3 Retry that honours Retry-After on every retried status, up to a cap, and
    counts each retry, because every retry is one more HTTP request the user is told about."""

    RETRY_AFTER_STATUS_CODES = RETRY_STATUSES | {413}
    retry_after_cap: float = 30.0
    on_retry: Callable[[], None] | None = None

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.retry_after_cap)

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        following = super().increment(*args, **kwargs)  # raises when no retry is left
        if self.on_retry is not None:
            self.on_retry()
        return following


def _make_retry(retries: int, backoff: float, retry_after_cap: float,
                on_retry: Callable[[], None] | None = None) -> Retry:
    cls = type("_CappedRetry", (_KibanaRetry,), {"retry_after_cap": retry_after_cap,
                                                  "on_retry": staticmethod(on_retry)})
    return cls(total=retries, connect=retries, read=retries, status=retries, other=0,
               redirect=0, allowed_methods=None, status_forcelist=RETRY_STATUSES,
               backoff_factor=backoff, raise_on_status=False, raise_on_redirect=False,
               respect_retry_after_header=True)


@dataclass
class ServerInfo:
    version: str
    version_tuple: tuple[int, int]
    name: str | None = None


@dataclass
class BulkResult:
    """A _bulk_action answer; ``errors`` name the rules that failed (partial failure = 500)."""

    succeeded: int
    failed: int
    deleted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


class KibanaClient:
    """Typed access to the endpoints kmsdet uses; every method raises KmsdetError subclasses."""

    def __init__(self, target: Target, *, retries: int = 3, backoff: float = 0.5,
                 retry_after_cap: float = 30.0, connect_timeout: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.target = target
        self.timeout = (connect_timeout, target.timeout)
        self.session = session or requests.Session()
        self.requests_sent = 0
        adapter = HTTPAdapter(max_retries=_make_retry(retries, backoff, retry_after_cap,
                                                      self._count_retry))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = (str(target.ca_cert) if target.ca_cert
                               else not target.insecure)
        self.session.headers.update({"kbn-xsrf": "true", "Accept": "application/json"})
        self.session.headers["User-Agent"] = "kmsdet"
        if target.api_key:
            self.session.headers["Authorization"] = f"ApiKey {target.api_key.reveal()}"
        elif target.user and target.password:
            self.session.auth = (target.user, target.password.reveal())

    def close(self) -> None:
        self.session.close()

    def _count_retry(self) -> None:
        self.requests_sent += 1

    def __enter__(self) -> KibanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        prefix = "" if self.target.space == "default" else f"/s/{self.target.space}"
        return f"{self.target.url}{prefix}{path}"

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, files: Mapping[str, Any] | None = None,
                allow: Sequence[int] = ()) -> tuple[int, Any]:
        """Send one call; return (status, parsed JSON) for 2xx and ``allow``ed statuses.

        ``requests_sent`` grows by one per HTTP request, retries included."""
        headers = {}
        if path.startswith(("/api/detection_engine", "/api/exception_lists")):
            headers["elastic-api-version"] = API_VERSION
        self.requests_sent += 1
        try:
            response = self.session.request(method, self.url(path), params=params,
                                            json=body, files=files, headers=headers,
                                            timeout=self.timeout, allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise KibanaUnreachable(f"TLS failure talking to {self.target.url}: "
                                    f"{mask(type(exc).__name__)}",
                                    hint="pass --kibana-ca-cert with Kibana's CA, or "
                                         "--insecure for a throw-away sandbox") from None
        except requests.exceptions.RequestException as exc:
            reason = _reason(exc)
            if isinstance(exc, requests.exceptions.Timeout) or reason == _TIMED_OUT:
                raise KibanaUnreachable(f"Kibana at {self.target.url} did not answer {method} "
                                        f"{path} within {self.target.timeout:g}s",
                                        hint="Kibana may be overloaded; retry, or raise the "
                                             "target's timeout") from None
            raise KibanaUnreachable(f"cannot reach Kibana at {self.target.url}: "
                                    f"{mask(reason)}",
                                    hint="check --kibana-url and that Kibana is running") from None
        return self._parse(response, method, path, allow)

    def _parse(self, response: requests.Response, method: str, path: str,
               allow: Sequence[int]) -> tuple[int, Any]:
        if response.headers.get("X-elastic-product", "").lower() == "elasticsearch":
            raise NotKibana(f"{self.target.url} is Elasticsearch, not Kibana",
                            hint="point --kibana-url at Kibana (port 5601 by default)")
        status = response.status_code
        if 300 <= status < 400:
            raise NotKibana(f"{self.target.url} redirected {method} {path} to "
                            f"{response.headers.get('Location', '?')}",
                            hint="use the final Kibana base URL (a proxy or login page "
                                 "answered)")
        text = response.text
        try:
            data = json.loads(text) if text else None
        except ValueError:
            if status < 400 or "json" in response.headers.get("Content-Type", ""):
                raise NotKibana(f"{self.target.url} answered {method} {path} with something "
                                f"that is not JSON (HTTP {status})",
                                hint="is --kibana-url Kibana's base URL?") from None
            data = None
        if status < 300 or status in allow:
            return status, data
        if status == 404 and data is None:
            raise NotKibana(f"{self.target.url} has no {path} (HTTP 404 without a Kibana "
                            "error body)", hint="is --kibana-url Kibana's base URL?")
        error = error_for_status(status, data, method=method, path=path,
                                 space=self.target.space)
        error.message = mask(error.message)
        raise error

    # -- service ------------------------------------------------------------------------------

    def server_info(self) -> ServerInfo:
        _, data = self.request("GET", "/api/status")
        version = (data or {}).get("version", {}) if isinstance(data, dict) else {}
        number = version.get("number") if isinstance(version, dict) else None
        if not isinstance(number, str):
            raise NotKibana(f"{self.target.url}/api/status did not report a Kibana version",
                            hint="is --kibana-url Kibana's base URL?")
        return ServerInfo(version=number, version_tuple=parse_version(number),
                          name=data.get("name"))

    def privileges(self) -> dict[str, Any]:
        _, data = self.request("GET", "/api/detection_engine/privileges")
        return data if isinstance(data, dict) else {}

    def preflight(self) -> ServerInfo:
        """Check version, authentication and the encryption key before changing anything."""
        info = self.server_info()
        privileges = self.privileges()
        if privileges.get("is_authenticated") is False:
            raise KibanaError("Kibana says the caller is not authenticated",
                              hint="check the API key or user and password")
        if privileges.get("has_encryption_key") is False:
            raise KibanaError("Kibana has no encryption key: detection rules cannot run",
                              hint="set xpack.encryptedSavedObjects.encryptionKey (32+ "
                                   "characters) in kibana.yml and restart Kibana")
        return info

    # -- rules --------------------------------------------------------------------------------

    def get_rule(self, rule_id: str) -> dict[str, Any] | None:
        status, data = self.request("GET", RULES, params={"rule_id": rule_id}, allow=(404,))
        return None if status == 404 else data

    def create_rule(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", RULES, body=dict(payload))[1]

    def update_rule(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PUT", RULES, body=dict(payload))[1]

    def patch_rule(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PATCH", RULES, body=dict(payload))[1]

    def delete_rule(self, rule_id: str) -> dict[str, Any] | None:
        status, data = self.request("DELETE", RULES, params={"rule_id": rule_id}, allow=(404,))
        return None if status == 404 else data

    def find_rules(self, *, kql_filter: str | None = None,
                   per_page: int = MAX_FIND_PER_PAGE) -> Iterator[dict[str, Any]]:
        """Every rule matching ``kql_filter`` (over alert.attributes.*), page by page."""
        page, seen = 1, 0
        while True:
            params: dict[str, Any] = {"page": page, "per_page": per_page,
                                      "sort_field": "created_at", "sort_order": "asc"}
            if kql_filter:
                params["filter"] = kql_filter
            _, data = self.request("GET", f"{RULES}/_find", params=params)
            rules = (data or {}).get("data") or []
            yield from rules
            seen += len(rules)
            if not rules or seen >= int((data or {}).get("total", 0)):
                return
            page += 1

    def import_rules(self, ndjson: bytes, *, overwrite: bool = True,
                     overwrite_exceptions: bool = False) -> Any:
        """POST one ndjson file to _import; Kibana answers 200 even when some rules failed."""
        params = {"overwrite": _flag(overwrite),
                  "overwrite_exceptions": _flag(overwrite_exceptions)}
        files = {"file": ("rules.ndjson", ndjson, "application/ndjson")}
        _, data = self.request("POST", f"{RULES}/_import", params=params, files=files)
        return data  # checked against what was sent by kibana.deploy

    def bulk_action(self, action: str, ids: Sequence[str]) -> BulkResult:
        """enable/disable/delete by saved-object id; HTTP 500 with a summary is partial."""
        status, data = self.request("POST", f"{RULES}/_bulk_action",
                                    body={"action": action, "ids": list(ids)}, allow=(500,))
        attributes = (data or {}).get("attributes") if isinstance(data, dict) else None
        if status == 500 and not isinstance(attributes, dict):
            error = error_for_status(500, data, method="POST", path=f"{RULES}/_bulk_action",
                                     space=self.target.space)
            raise error
        attributes = attributes or {}
        summary = attributes.get("summary") or {}
        results = attributes.get("results") or {}
        return BulkResult(succeeded=int(summary.get("succeeded", 0)),
                          failed=int(summary.get("failed", 0)),
                          deleted=list(results.get("deleted") or []),
                          updated=list(results.get("updated") or []),
                          errors=list(attributes.get("errors") or []))

    def preview(self, payload: Mapping[str, Any], *, invocation_count: int, timeframe_end: str,
                logged_requests: bool = False) -> dict[str, Any]:
        params = {"enable_logged_requests": "true"} if logged_requests else None
        body = {**payload, "invocationCount": invocation_count, "timeframeEnd": timeframe_end}
        return self.request("POST", f"{RULES}/preview", params=params, body=body)[1]

    def exception_items(self, list_ids: Sequence[str], *,
                        per_page: int = 1000) -> list[dict[str, Any]]:
        """Items of the named (single-namespace) exception lists; missing lists are skipped."""
        items: list[dict[str, Any]] = []
        for start in range(0, len(list_ids), 50):
            chunk = list(list_ids[start:start + 50])
            page = 1
            while True:
                params = {"list_id": ",".join(chunk),
                          "namespace_type": ",".join("single" for _ in chunk),
                          "page": page, "per_page": per_page}
                status, data = self.request("GET", "/api/exception_lists/items/_find",
                                            params=params, allow=(404,))
                if status == 404 and len(chunk) > 1:
                    # One missing list fails the whole query: ask for each list alone.
                    for one in chunk:
                        items.extend(self.exception_items([one], per_page=per_page))
                    break
                if status == 404 or not isinstance(data, dict):
                    break
                batch = data.get("data") or []
                items.extend(batch)
                if not batch or page * per_page >= int(data.get("total", 0)):
                    break
                page += 1
        return items


def parse_version(text: str) -> tuple[int, int]:
    parts = text.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise NotKibana(f"unexpected Kibana version string {text!r}") from None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _reason(exc: Exception) -> str:
    """The innermost reason of a requests/urllib3 failure, without the long wrapper text."""
    inner: BaseException | None = exc
    while inner is not None:
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
            continue
        nxt = inner.__cause__ or (inner.args[0] if inner.args and
                                  isinstance(inner.args[0], BaseException) else None)
        if nxt is None or nxt is inner:
            break
        inner = nxt
    name = type(inner).__name__ if inner else type(exc).__name__
    text = str(inner) if inner else str(exc)
    if "Timeout" in name or "timed out" in text:
        return _TIMED_OUT
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset" in text.lower():
        return "the connection was dropped before Kibana answered"
    if "Max retries exceeded" in text or "Connection refused" in text or \
            "NewConnectionError" in name:
        return "connection refused or host not found"
    return name

