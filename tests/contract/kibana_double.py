"""A stand-in for Kibana's detection engine API, for contract tests and benchmarks.

It answers the endpoints kmsdet uses as Kibana documents them (reference/kibana.md): core's
XSRF check (400 without kbn-xsrf on writes), the api-version header, 401/403 Boom bodies,
/s/<space> prefixes with 404 for unknown spaces, CRUD by rule_id with the SIEM 409/404 bodies,
_find with paging, multipart _import with its limits and its 200-with-errors summary,
_bulk_action with the partial-failure 500, preview, privileges, and exception items. Like
Kibana it silently drops unknown rule fields and fills in defaults. Its field list is written
independently of kmsdet's schema so that the contract tests check kmsdet against Kibana's
documented behaviour, not against itself.

Given a real Elasticsearch client, a preview runs the rule as the detection engine would
(PreviewEngine, at the end of this file): it searches the cluster, writes alert documents into
.preview.alerts-security.alerts-<space> under kibana.alert.rule.uuid = previewId, and with
enable_logged_requests (8.16+; query rules log from 8.18) returns the searches it sent.

Faults can be injected per path: an HTTP status (429 with Retry-After, 500, 503), a slow
answer, or a dropped connection.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from elasticsearch import ApiError

API_VERSION = "2023-10-31"
READ, ALL = "read", "all"

_COMMON = {
    "name", "description", "risk_score", "severity", "rule_id", "enabled", "interval", "from",
    "to", "max_signals", "version", "tags", "author", "references", "false_positives",
    "threat", "note", "setup", "license", "timestamp_override",
    "timestamp_override_fallback_disabled", "investigation_fields", "related_integrations",
    "required_fields", "risk_score_mapping", "severity_mapping", "rule_name_override",
    "building_block_type", "exceptions_list", "actions", "response_actions", "throttle",
    "timeline_id", "timeline_title", "meta", "namespace", "output_index", "type",
    "alert_suppression",
}
_TYPE_FIELDS = {
    "query": {"index", "data_view_id", "filters", "saved_id", "language", "query"},
    "saved_query": {"index", "data_view_id", "filters", "saved_id", "language", "query"},
    "eql": {"index", "data_view_id", "filters", "language", "query",
            "event_category_override", "tiebreaker_field", "timestamp_field"},
    "esql": {"language", "query"},
    "threshold": {"index", "data_view_id", "filters", "saved_id", "language", "query",
                  "threshold"},
    "new_terms": {"index", "data_view_id", "filters", "language", "query",
                  "new_terms_fields", "history_window_start"},
    "threat_match": {"index", "data_view_id", "filters", "saved_id", "language", "query",
                     "threat_query", "threat_mapping", "threat_index", "threat_language",
                     "threat_indicator_path", "threat_filters", "concurrent_searches",
                     "items_per_search"},
    "machine_learning": {"anomaly_threshold", "machine_learning_job_id"},
}
_DEFAULTS: dict[str, Any] = {
    "enabled": True, "interval": "5m", "from": "now-6m", "to": "now", "max_signals": 100,
    "version": 1, "tags": [], "author": [], "references": [], "false_positives": [],
    "threat": [], "exceptions_list": [], "actions": [], "related_integrations": [],
    "required_fields": [], "risk_score_mapping": [], "severity_mapping": [], "setup": "",
}
_ECS_PREFIXES = ("@timestamp", "event.", "user.", "source.", "cloud.", "host.", "process.")


@dataclass
class Fault:
    """One injected failure for requests whose path contains ``path``."""

    kind: str  # "status" | "slow" | "drop" | "echo" (the status, the request headers echoed)
    path: str = ""
    method: str | None = None
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class Recorded:
    method: str
    path: str
    space: str
    headers: dict[str, str]
    query: dict[str, list[str]]
    status: int = 0


@dataclass
class Principal:
    name: str
    privilege: str = ALL


@dataclass
class SpaceState:
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _boom(status: int, message: str) -> _Reply:
    errors = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              413: "Request Entity Too Large", 429: "Too Many Requests",
              500: "Internal Server Error", 503: "Service Unavailable"}
    return _Reply(status, {"statusCode": status, "error": errors.get(status, "Error"),
                           "message": message})


def _siem(status: int, message: str) -> _Reply:
    return _Reply(status, {"message": message, "status_code": status})


class KibanaDouble:
    """Start with ``start()``; ``url`` is then http://127.0.0.1:<port>."""

    def __init__(self, *, version: str = "8.15.0", spaces: tuple[str, ...] = ("default",),
                 max_import_objects: int = 10_000, max_import_bytes: int = 10_485_760,
                 has_encryption_key: bool = True, elasticsearch: Any = None,
                 excluded_data_tiers: tuple[str, ...] = ()) -> None:
        """``elasticsearch`` (a client) makes previews run rules against it and write preview
        alerts there; without it a preview only validates and answers. ``excluded_data_tiers``
        is the space's securitySolution:excludedDataTiersForRuleExecution setting."""
        self.version = version
        self.spaces: dict[str, SpaceState] = {s: SpaceState() for s in spaces}
        self.api_keys: dict[str, Principal] = {}
        self.users: dict[str, tuple[str, Principal]] = {}
        self.max_import_objects = max_import_objects
        self.max_import_bytes = max_import_bytes
        self.has_encryption_key = has_encryption_key
        self.faults: list[Fault] = []
        self.reject_rule_ids: dict[str, tuple[int, str]] = {}
        self.bulk_fail_ids: set[str] = set()
        self.preview_errors: dict[str, str] = {}  # rule_id -> execution error a preview logs
        self.previews: dict[str, dict[str, Any]] = {}  # previewId -> the rule it ran
        self.engine = PreviewEngine(elasticsearch, excluded_data_tiers) if elasticsearch else None
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> KibanaDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return

            def _any(self) -> None:
                double._serve(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a client that hung up on a slow or dropped answer is expected

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_api_key(self, key: str, privilege: str = ALL, name: str = "kmsdet-ci") -> None:
        self.api_keys[key] = Principal(name, privilege)

    def add_user(self, user: str, password: str, privilege: str = ALL) -> None:
        self.users[user] = (password, Principal(user, privilege))

    def space(self, space: str = "default") -> SpaceState:
        return self.spaces[space]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    # -- HTTP ---------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        path, space = parts.path, "default"
        match = re.match(r"^/s/([^/]+)(/.*)$", path)
        if match:
            space, path = match.group(1), match.group(2)
        record = Recorded(handler.command, path, space,
                          {k.lower(): v for k, v in handler.headers.items()},
                          parse_qs(parts.query))
        with self.lock:
            self.requests.append(record)
            fault = self._take_fault(handler.command, path)
        if fault is not None and fault.kind == "drop":
            record.status = -1
            handler.close_connection = True
            handler.connection.close()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        try:
            if fault is not None and fault.kind == "echo":
                raise _Reply(fault.status, {
                    "statusCode": fault.status, "error": "Echo",
                    "message": f"echo: {record.headers.get('authorization', '')} "
                               f"{json.dumps(record.headers)}"})
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                raise _Reply(fault.status, {"statusCode": fault.status,
                                            "error": "Injected", "message": "injected fault"},
                             headers)
            status, body = self._route(handler.command, path, space, record, raw,
                                       handler.headers.get("Content-Type", ""))
            headers: dict[str, str] = {}
        except _Reply as reply:
            status, body, headers = reply.status, reply.body, reply.headers
        except Exception as exc:  # noqa: BLE001 - a bug answers 500, as Kibana would
            status, headers = 500, {}
            body = {"statusCode": 500, "error": "Internal Server Error",
                    "message": f"{type(exc).__name__}: {exc}"}
        record.status = status
        data = json.dumps(body).encode() if body is not None else b""
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("kbn-name", "kibana-double")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.path in path and fault.method in (None, method):
                fault.times -= 1
                return fault
        return None

    def _principal(self, record: Recorded) -> Principal:
        auth = record.headers.get("authorization", "")
        if auth.startswith("ApiKey ") and auth[7:] in self.api_keys:
            return self.api_keys[auth[7:]]
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = "", ""
            if user in self.users and self.users[user][0] == password:
                return self.users[user][1]
        raise _boom(401, "[security_exception]: missing authentication credentials for REST "
                         "request")

    def _route(self, method: str, path: str, space: str, record: Recorded, raw: bytes,
               content_type: str) -> tuple[int, Any]:
        principal = self._principal(record)
        if space not in self.spaces:
            raise _boom(404, "Not Found")
        if method not in ("GET", "HEAD") and "kbn-xsrf" not in record.headers:
            raise _boom(400, "Request must contain a kbn-xsrf header.")
        version = record.headers.get("elastic-api-version")
        if path.startswith("/api/detection_engine") and version not in (None, API_VERSION):
            raise _boom(400, f"Invalid version. Received \"{version}\", expected one of "
                             f"[\"{API_VERSION}\"]")
        if method != "GET" and principal.privilege != ALL and not path.endswith("/preview"):
            raise _boom(403, f"API [{method} {path}] is unauthorized for user, this action is "
                             "granted by the Kibana privileges [securitySolution-rules-all]")
        state = self.spaces[space]
        query = {k: v[-1] for k, v in record.query.items()}
        with self.lock:
            return self._dispatch(method, path, space, state, query, principal, raw,
                                  content_type)

    def _dispatch(self, method: str, path: str, space: str, state: SpaceState,
                  query: dict[str, str], principal: Principal, raw: bytes,
                  content_type: str) -> tuple[int, Any]:
        rules = "/api/detection_engine/rules"
        if path == "/api/status" and method == "GET":
            return 200, {"name": "kibana-double", "uuid": "0000",
                         "version": {"number": self.version, "build_snapshot": False},
                         "status": {"overall": {"level": "available"}}}
        if path == "/api/detection_engine/privileges" and method == "GET":
            write = principal.privilege == ALL
            return 200, {"username": principal.name, "has_all_requested": write,
                         "cluster": {"manage": write},
                         "index": {f".alerts-security.alerts-{space}": {
                             "read": True, "write": write, "maintenance": write}},
                         "is_authenticated": True,
                         "has_encryption_key": self.has_encryption_key}
        if path == rules:
            return self._crud(method, state, query, _json(raw), principal)
        if path == f"{rules}/_find" and method == "GET":
            return self._find(state, query)
        if path == f"{rules}/_import" and method == "POST":
            return self._import(state, query, raw, content_type, principal)
        if path == f"{rules}/_bulk_action" and method == "POST":
            return self._bulk(state, _json(raw))
        if path == f"{rules}/preview" and method == "POST":
            return self._preview(space, state, query, _json(raw))
        if path == "/api/exception_lists/items/_find" and method == "GET":
            return self._find_items(state, query)
        raise _boom(404, "Not Found")

    # -- rules --------------------------------------------------------------------------------

    def _crud(self, method: str, state: SpaceState, query: dict[str, str], body: Any,
              principal: Principal) -> tuple[int, Any]:
        if method in ("GET", "DELETE"):
            rule_id = query.get("rule_id")
            if rule_id is None:
                raise _siem(400, "either \"id\" or \"rule_id\" must be set")
            rule = state.rules.get(rule_id)
            if rule is None:
                raise _siem(404, f"rule_id: \"{rule_id}\" not found")
            if method == "DELETE":
                del state.rules[rule_id]
            return 200, rule
        if not isinstance(body, dict):
            raise _boom(400, "[request body]: expected an object")
        rule_id = body.get("rule_id")
        if method == "POST":
            rule_id = rule_id or str(uuid.uuid4())
            if rule_id in state.rules:
                raise _siem(409, f"rule_id: \"{rule_id}\" already exists")
            stored = self._store(state, {**body, "rule_id": rule_id}, principal, None)
            return 200, stored
        if not rule_id:
            raise _boom(400, "[request body]: either \"id\" or \"rule_id\" must be set")
        existing = state.rules.get(rule_id)
        if existing is None:
            raise _siem(404, f"rule_id: \"{rule_id}\" not found")
        merged = {**_strip_server(existing), **body} if method == "PATCH" else body
        return 200, self._store(state, merged, principal, existing)

    def _store(self, state: SpaceState, body: dict[str, Any], principal: Principal,
               existing: dict[str, Any] | None) -> dict[str, Any]:
        problems = self._validate(body)
        if problems:
            raise _boom(400, "; ".join(problems))
        rule = self._normalised(body)
        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        rule.update({
            "id": existing["id"] if existing else str(uuid.uuid4()),
            "immutable": False, "rule_source": {"type": "internal"},
            "created_at": existing["created_at"] if existing else now,
            "created_by": existing["created_by"] if existing else principal.name,
            "updated_at": now, "updated_by": principal.name,
            "revision": (existing["revision"] + 1) if existing else 0,
        })
        state.rules[rule["rule_id"]] = rule
        return rule

    def _normalised(self, body: dict[str, Any]) -> dict[str, Any]:
        allowed = _COMMON | _TYPE_FIELDS.get(str(body.get("type")), set())
        rule = {k: v for k, v in body.items() if k in allowed}  # Kibana strips the rest
        for key, value in _DEFAULTS.items():
            rule.setdefault(key, json.loads(json.dumps(value)))
        if body.get("type") in ("query", "saved_query", "threshold", "new_terms",
                                "threat_match"):
            rule.setdefault("language", "kuery")
        if body.get("type") == "query":
            rule.setdefault("query", "")
        rule["required_fields"] = [{**f, "ecs": str(f.get("name", "")).startswith(
            _ECS_PREFIXES)} for f in rule["required_fields"]]
        return rule

    def _validate(self, body: dict[str, Any]) -> list[str]:
        problems = []
        for key in ("name", "description"):
            if not isinstance(body.get(key), str) or not body[key]:
                problems.append(f"{key}: Required")
        risk = body.get("risk_score")
        if not isinstance(risk, int) or isinstance(risk, bool) or not 0 <= risk <= 100:
            problems.append("risk_score: Number must be an integer between 0 and 100")
        if body.get("severity") not in ("low", "medium", "high", "critical"):
            problems.append("severity: Invalid enum value")
        if body.get("type") not in _TYPE_FIELDS:
            problems.append("type: Invalid discriminator value")
        if "max_signals" in body and (not isinstance(body["max_signals"], int) or
                                      body["max_signals"] < 1):
            problems.append("max_signals: Number must be greater than or equal to 1")
        if "interval" in body and not re.fullmatch(r"[1-9][0-9]*[smhd]",
                                                   str(body["interval"])):
            problems.append("interval: Invalid")
        if "from" in body and not re.fullmatch(r"now(-[1-9][0-9]*[smhdwMy])?", str(body["from"])):
            problems.append("from: Failed to parse date-math expression")
        if body.get("type") == "query" and body.get("language", "kuery") not in ("kuery",
                                                                                  "lucene"):
            problems.append("language: Invalid enum value")
        inv = body.get("investigation_fields")
        if inv is not None and not (isinstance(inv, dict) and inv.get("field_names")):
            problems.append("investigation_fields: Expected object, received array")
        for index, threat in enumerate(body.get("threat") or []):
            if not isinstance(threat, dict) or not {"framework", "tactic"} <= set(threat):
                problems.append(f"threat.{index}: Required")
        return problems

    def _find(self, state: SpaceState, query: dict[str, str]) -> tuple[int, Any]:
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", 20))
        rules = list(state.rules.values())
        kql = query.get("filter")
        if kql:
            match = re.fullmatch(r'alert\.attributes\.tags:\s*"?((?:[^"\\]|\\.)*)"?', kql)
            if not match:
                raise _boom(400, f"Invalid filter: {kql}")
            wanted = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
            rules = [r for r in rules if wanted in r.get("tags", [])]
        rules.sort(key=lambda r: (r["created_at"], r["rule_id"]))
        if query.get("sort_order") == "desc":
            rules.reverse()
        start = (page - 1) * per_page
        return 200, {"page": page, "perPage": per_page, "total": len(rules),
                     "data": rules[start:start + per_page]}

    def _import(self, state: SpaceState, query: dict[str, str], raw: bytes,
                content_type: str, principal: Principal) -> tuple[int, Any]:
        if len(raw) > self.max_import_bytes:
            raise _boom(413, "Payload content length greater than maximum allowed: "
                             f"{self.max_import_bytes}")
        filename, content = _multipart_file(raw, content_type)
        if not filename.endswith(".ndjson"):
            ext = filename.rsplit(".", 1)[-1] if "." in filename else ""
            raise _boom(400, f"Invalid file extension .{ext}")
        lines = [line for line in content.decode("utf-8").splitlines() if line.strip()]
        if len(lines) > self.max_import_objects:
            raise _siem(500, f"Can't import more than {self.max_import_objects} rules")
        overwrite = query.get("overwrite") == "true"
        overwrite_exceptions = query.get("overwrite_exceptions") == "true"
        errors: list[dict[str, Any]] = []
        list_errors: list[dict[str, Any]] = []
        rules: list[dict[str, Any]] = []
        lists: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                errors.append({"rule_id": "(unknown id)", "error": {
                    "status_code": 400, "message": "Unexpected token in JSON"}})
                continue
            if not isinstance(obj, dict):
                continue
            if "rule_id" not in obj and "list_id" in obj:
                (items if "item_id" in obj else lists).append(obj)
            else:
                rules.append(obj)
        exceptions_ok = self._import_lists(state, lists, items, overwrite_exceptions,
                                           list_errors)
        seen: set[str] = set()
        success = 0
        for body in rules:
            rule_id = body.get("rule_id")
            if not rule_id:
                errors.append({"rule_id": "(unknown id)", "error": {
                    "status_code": 400, "message": "rule_id: Required"}})
                continue
            if rule_id in seen:
                errors.append({"rule_id": rule_id, "error": {
                    "status_code": 400,
                    "message": f"More than one rule with rule-id: \"{rule_id}\" found"}})
                continue
            seen.add(rule_id)
            if rule_id in self.reject_rule_ids:
                status, message = self.reject_rule_ids[rule_id]
                errors.append({"rule_id": rule_id, "error": {"status_code": status,
                                                             "message": message}})
                continue
            existing = state.rules.get(rule_id)
            if existing is not None and not overwrite:
                errors.append({"rule_id": rule_id, "error": {
                    "status_code": 409, "message": f"rule_id: \"{rule_id}\" already exists"}})
                continue
            body = dict(body)
            refs = []
            for ref in body.get("exceptions_list") or []:
                container = state.lists.get(str(ref.get("list_id")))
                if container is None:
                    errors.append({"rule_id": rule_id, "error": {
                        "status_code": 400,
                        "message": f"Rule with rule_id: \"{rule_id}\" references a non "
                                   f"existent exception list of list_id: "
                                   f"\"{ref.get('list_id')}\". Reference has been removed."}})
                    continue
                refs.append({**ref, "id": container["id"]})
            if "exceptions_list" in body:
                body["exceptions_list"] = refs
            try:
                self._store(state, body, principal, existing)
            except _Reply as reply:
                errors.append({"rule_id": rule_id, "error": {
                    "status_code": reply.status, "message": reply.body.get("message")}})
                continue
            success += 1
        return 200, {
            "success": not errors, "success_count": success, "rules_count": len(rules),
            "errors": errors, "exceptions_success": exceptions_ok,
            "exceptions_success_count": len(lists) + len(items) - len(list_errors),
            "exceptions_errors": list_errors, "action_connectors_success": True,
            "action_connectors_success_count": 0, "action_connectors_errors": [],
            "action_connectors_warnings": [],
        }

    def _import_lists(self, state: SpaceState, lists: list[dict[str, Any]],
                      items: list[dict[str, Any]], overwrite: bool,
                      errors: list[dict[str, Any]]) -> bool:
        skipped: set[str] = set()
        for container in lists:
            list_id = str(container["list_id"])
            if list_id in state.lists and not overwrite:
                errors.append({"list_id": list_id, "error": {
                    "status_code": 409,
                    "message": f"Found that list_id: \"{list_id}\" already exists. Import of "
                               f"list_id: \"{list_id}\" skipped."}})
                skipped.add(list_id)
                continue
            stored = {**container, "id": state.lists.get(list_id, {}).get("id") or
                      str(uuid.uuid4())}
            state.lists[list_id] = stored
            state.items[list_id] = []
        for item in items:
            list_id = str(item["list_id"])
            if list_id in skipped:
                continue
            if list_id not in state.lists:
                errors.append({"list_id": list_id, "item_id": item.get("item_id"), "error": {
                    "status_code": 409,
                    "message": f"exception list id: \"{list_id}\" does not exist"}})
                continue
            state.items[list_id] = [i for i in state.items[list_id]
                                    if i.get("item_id") != item.get("item_id")]
            state.items[list_id].append({**item, "id": str(uuid.uuid4())})
        return not errors

    def _find_items(self, state: SpaceState, query: dict[str, str]) -> tuple[int, Any]:
        list_ids = [x for x in query.get("list_id", "").split(",") if x]
        for list_id in list_ids:
            if list_id not in state.lists:
                raise _siem(404, f"exception list id: \"{list_id}\" does not exist")
        found = [i for list_id in list_ids for i in state.items.get(list_id, [])]
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", 20))
        start = (page - 1) * per_page
        return 200, {"data": found[start:start + per_page], "page": page,
                     "per_page": per_page, "total": len(found)}

    def _bulk(self, state: SpaceState, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or "action" not in body:
            raise _boom(400, "[request body]: action: Required")
        if ("ids" in body) == ("query" in body):
            raise _siem(400, "Both query and ids are sent. Define either ids or query in "
                             "request payload.")
        by_id = {r["id"]: r for r in state.rules.values()}
        targets = list(body.get("ids") or [])
        action = body["action"]
        results: dict[str, list[Any]] = {"updated": [], "created": [], "deleted": [],
                                         "skipped": []}
        errors: list[dict[str, Any]] = []
        for rid in targets:
            rule = by_id.get(rid)
            if rule is None or rid in self.bulk_fail_ids:
                errors.append({"message": "Rule not found" if rule is None else
                               "Injected failure", "status_code": 404 if rule is None else 500,
                               "rules": [{"id": rid, "name": (rule or {}).get("name", "")}]})
                continue
            if action == "delete":
                del state.rules[rule["rule_id"]]
                results["deleted"].append(rule)
            elif action in ("enable", "disable"):
                rule["enabled"] = action == "enable"
                results["updated"].append(rule)
            else:
                raise _boom(400, f"action: Invalid enum value {action!r}")
        summary = {"failed": len(errors), "skipped": 0,
                   "succeeded": len(targets) - len(errors), "total": len(targets)}
        response: dict[str, Any] = {"success": not errors, "rules_count": len(targets),
                                    "attributes": {"results": results, "summary": summary}}
        if errors:
            response["attributes"]["errors"] = errors
            response.update(status_code=500, message="Bulk edit partially failed")
            return 500, response
        return 200, response

    def _preview(self, space: str, state: SpaceState, query: dict[str, str],
                 body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            raise _boom(400, "[request body]: expected an object")
        if "enable_logged_requests" in query and _version(self.version) < (8, 16):
            raise _boom(400, "[request query.enable_logged_requests]: definition for this key "
                             "is missing")
        payload = {k: v for k, v in body.items() if k not in ("invocationCount",
                                                                "timeframeEnd")}
        problems = self._validate(payload)
        if problems or "invocationCount" not in body or "timeframeEnd" not in body:
            raise _boom(400, "; ".join(problems) or "invocationCount: Required")
        end = _parse_time(body["timeframeEnd"])
        count = body["invocationCount"]
        if end is None or not isinstance(count, int) or count < 1:
            raise _boom(400, "timeframeEnd: Invalid date; invocationCount: Expected number "
                             "greater than 0")
        rule = self._normalised(payload)
        preview_id = str(uuid.uuid4())
        self.previews[preview_id] = rule
        logged = (query.get("enable_logged_requests") == "true"
                  and _version(self.version) >= (8, 18))
        interval = _seconds(str(rule["interval"])) or 300
        logs = []
        for run in range(count):
            started = end - timedelta(seconds=interval * (count - 1 - run))
            log: dict[str, Any] = {"errors": [], "warnings": [], "duration": 1,
                                   "startedAt": _iso(started)}
            if rule.get("rule_id") in self.preview_errors:
                log["errors"].append(self.preview_errors[rule["rule_id"]])
            elif self.engine is not None:
                items = [i for ref in rule.get("exceptions_list") or []
                         for i in state.items.get(str(ref.get("list_id")), [])]
                self.engine.run(rule, preview_id, space, started, items, log, logged)
            logs.append(log)
        return 200, {"previewId": preview_id, "isAborted": False, "logs": logs}


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise _boom(400, "Invalid JSON in request body") from None


def _strip_server(rule: dict[str, Any]) -> dict[str, Any]:
    server = {"id", "immutable", "rule_source", "created_at", "created_by", "updated_at",
              "updated_by", "revision"}
    return {k: v for k, v in rule.items() if k not in server}


def _multipart_file(raw: bytes, content_type: str) -> tuple[str, bytes]:
    if not content_type.startswith("multipart/form-data"):
        raise _boom(400, "Unsupported Media Type: expected multipart/form-data")
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_filename() or "", part.get_payload(decode=True) or b""
    raise _boom(400, "[request body.file]: expected value of type [Stream]")


# -- rule execution for previews ----------------------------------------------------------------

# getInputIndex's built-in list, for rules without index patterns.
_DEFAULT_INDEX = ("apm-*-transaction*", "auditbeat-*", "endgame-*", "filebeat-*", "logs-*",
                  "packetbeat-*", "traces-apm*", "winlogbeat-*", "-*elastic-cloud-logs-*")
_PAGE_SIZE = 100  # DEFAULT_SEARCH_AFTER_PAGE_SIZE
_ALERTS_MAX = 1000  # xpack.alerting.rules.run.alerts.max
_AGGREGATED_SCAN = 10_000  # the double scans threshold/new_terms windows instead of aggregating
_LOGGED_SEARCHES = 2  # Kibana logs the first two searches of each kind
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000,
                 "y": 31536000}
_DATE_FORMAT = "strict_date_optional_time"
_KEYWORD = {"type": "keyword"}
_ALERT_MAPPINGS: dict[str, Any] = {"dynamic": False, "properties": {
    "@timestamp": {"type": "date"},
    "event": {"properties": {"kind": _KEYWORD, "action": _KEYWORD, "id": _KEYWORD}},
    "kibana": {"properties": {
        "space_ids": _KEYWORD,
        "alert": {"properties": {
            "uuid": _KEYWORD, "status": _KEYWORD, "workflow_status": _KEYWORD,
            "original_time": {"type": "date"}, "depth": {"type": "long"},
            "ancestors": {"properties": {"id": _KEYWORD, "index": _KEYWORD, "type": _KEYWORD,
                                         "depth": {"type": "long"}}},
            "original_event": {"properties": {k: _KEYWORD for k in (
                "action", "category", "dataset", "id", "kind", "module", "outcome",
                "provider", "type")}},
            "rule": {"properties": {k: _KEYWORD for k in (
                "uuid", "rule_id", "name", "type", "severity")}},
        }},
    }},
}}


class PreviewEngine:
    """What Kibana's security rule executors do in a preview, on a real Elasticsearch.

    Field types come from ``field_caps`` over the rule's index patterns, as Kibana's data view
    does (one type, else a conflict), and the KQL goes through kmsdet.kql with them - so the
    translation is kmsdet's, but the types are the cluster's, not kmsdet's schema. Everything
    around it is written here from Kibana's documented behaviour: buildEsQuery's filter
    merge, the exception and data-tier filters, the time range with the ``@timestamp``
    fallback, search_after paging, ``max_signals``, and alert documents in
    ``.preview.alerts-security.alerts-<space>``. Threshold and new_terms windows are scanned
    and grouped here rather than aggregated in Elasticsearch; the result is the same.
    """

    def __init__(self, es: Any, excluded_data_tiers: tuple[str, ...] = ()) -> None:
        self.es = es
        self.excluded_data_tiers = excluded_data_tiers
        self._ready: set[str] = set()

    def run(self, rule: dict[str, Any], preview_id: str, space: str, started: datetime,
            items: list[dict[str, Any]], log: dict[str, Any], logged: bool) -> None:
        kind, language = rule.get("type"), rule.get("language")
        if kind not in ("query", "threshold", "new_terms") or language != "kuery":
            log["errors"].append(f"the Kibana double does not run {kind}/{language} rules")
            return
        index = list(rule.get("index") or _DEFAULT_INDEX)
        caps = self.es.field_caps(index=",".join(index), fields="*", ignore_unavailable=True,
                                  allow_no_indices=True)
        if not caps.get("indices"):
            log["warnings"].append(
                "This rule is attempting to query data from Elasticsearch indices listed in the "
                f"\"Index pattern\" section of the rule definition, however no index matching: "
                f"{json.dumps(index)} was found.")
            return
        try:
            query = self.es_query(rule, caps, items)
        except Exception as exc:  # noqa: BLE001 - Kibana logs the failure and carries on
            log["errors"].append(str(exc))
            return
        requests: list[dict[str, Any]] | None = [] if logged else None
        try:
            self.execute(rule, kind, index, query, preview_id, space, started, log, requests)
        except ApiError as exc:
            log["errors"].append(f"An error occurred during rule execution: message: "
                                 f"\"{exc.message}: {_es_reason(exc)}\"")
        if requests is not None:
            log["requests"] = requests

    def execute(self, rule: dict[str, Any], kind: str, index: list[str],
                query: dict[str, Any], preview_id: str, space: str, started: datetime,
                log: dict[str, Any], requests: list[dict[str, Any]] | None) -> None:
        start = _date_math(str(rule["from"]), started)
        end = _date_math(str(rule["to"]), started)
        cap = min(int(rule["max_signals"]), _ALERTS_MAX)
        if kind == "query":
            hits = self.search(rule, index, query, start, end, cap, requests)
            alerts = [self.event_alert(h, rule, preview_id, space, started) for h in hits]
        elif kind == "threshold":
            hits = self.search(rule, index, query, start, end, _AGGREGATED_SCAN, requests)
            alerts = self.threshold_alerts(hits, rule, preview_id, space, started)[:cap]
        else:
            hits = self.search(rule, index, query, start, end, _AGGREGATED_SCAN, requests)
            history_start = _date_math(str(rule.get("history_window_start") or "now-7d"),
                                       started)
            history = self.search(rule, index, query, history_start, start, _AGGREGATED_SCAN,
                                  requests, end_inclusive=False)
            alerts = self.new_terms_alerts(hits, history, rule, preview_id, space, started)[:cap]
        failed = self.write(space, alerts)
        if failed:
            log["errors"].append(f"failed to write {failed} preview alerts")

    # -- the search ---------------------------------------------------------------------------

    def es_query(self, rule: dict[str, Any], caps: dict[str, Any],
                 items: list[dict[str, Any]]) -> dict[str, Any]:
        """buildEsQuery(dataView, kql, filters): KQL and positive filters in ``filter``,
        negated filters in ``must_not``."""
        from kmsdet.fields.schema import FieldSchema
        from kmsdet.kql.dsl import build_es_query
        from kmsdet.kql.parser import parse

        types: dict[str, str] = {}
        for name, by_type in (caps.get("fields") or {}).items():
            kinds = [t for t in by_type if t != "unmapped"]
            if kinds:
                types[name] = kinds[0] if len(kinds) == 1 else "conflict"
        built = build_es_query(parse(str(rule.get("query") or "")),
                               FieldSchema.from_types(types))
        filters = [f for f in rule.get("filters") or [] if isinstance(f, dict)]
        if items:
            filters.append({"meta": {"alias": None, "disabled": False, "negate": True},
                            "query": {"bool": {"should": [_item_clause(i) for i in items]}}})
        if self.excluded_data_tiers:
            filters.append({"meta": {"negate": True, "disabled": False},
                            "query": {"terms": {"_tier": list(self.excluded_data_tiers)}}})
        positive, negative = list(built["bool"]["filter"]), []
        for item in filters:
            meta = item.get("meta") or {}
            if meta.get("disabled"):
                continue
            clause = item["query"] if "query" in item else {
                k: v for k, v in item.items() if k not in ("meta", "$state")}
            (negative if meta.get("negate") else positive).append(clause)
        return {"bool": {"must": [], "filter": positive, "should": [], "must_not": negative}}

    def search(self, rule: dict[str, Any], index: list[str], query: dict[str, Any],
               start: datetime, end: datetime, limit: int,
               requests: list[dict[str, Any]] | None, *,
               end_inclusive: bool = True) -> list[dict[str, Any]]:
        primary = rule.get("timestamp_override") or "@timestamp"
        stamps = [primary]
        if primary != "@timestamp" and not rule.get("timestamp_override_fallback_disabled"):
            stamps.append("@timestamp")
        bounds = {"lte" if end_inclusive else "lt": _iso(end), "gte": _iso(start),
                  "format": _DATE_FORMAT}
        time_range: dict[str, Any] = {"range": {primary: dict(bounds)}}
        if len(stamps) == 2:
            time_range = {"bool": {"minimum_should_match": 1, "should": [
                time_range,
                {"bool": {"filter": [{"range": {"@timestamp": dict(bounds)}},
                                     {"bool": {"must_not": {"exists": {"field": primary}}}}]}},
            ]}}
        size = min(limit, _PAGE_SIZE)
        hits: list[dict[str, Any]] = []
        after: list[Any] | None = None
        while len(hits) < limit:
            body: dict[str, Any] = {
                "size": size,
                "query": {"bool": {"filter": [query, time_range]}},
                "fields": [{"field": "*", "include_unmapped": True},
                           *({"field": s, "format": _DATE_FORMAT} for s in stamps)],
                "sort": [{s: {"order": "asc", "unmapped_type": "date"}} for s in stamps],
            }
            if after is not None:
                body["search_after"] = after
            if requests is not None and len(requests) < _LOGGED_SEARCHES:
                description = ("Find events" if after is None else
                               f"Find events after cursor {json.dumps(after)}")
                requests.append({
                    "request": f"POST /{','.join(index)}/_search?allow_no_indices=true&"
                               f"ignore_unavailable=true\n{json.dumps(body, indent=2)}",
                    "description": description, "request_type": "findDocuments",
                    "duration": 1})
            page = self.es.search(index=",".join(index), allow_no_indices=True,
                                  ignore_unavailable=True, **body)["hits"]["hits"]
            hits.extend(page)
            if len(page) < size:
                break
            after = page[-1]["sort"]
        return hits[:limit]

    # -- alerts -------------------------------------------------------------------------------

    def rule_fields(self, rule: dict[str, Any], preview_id: str, space: str,
                    started: datetime) -> dict[str, Any]:
        return {
            "@timestamp": _iso(datetime.now(timezone.utc)),
            "kibana.space_ids": [space],
            "kibana.alert.status": "active", "kibana.alert.workflow_status": "open",
            "kibana.alert.workflow_tags": [], "kibana.alert.workflow_assignee_ids": [],
            "kibana.alert.depth": 1, "kibana.alert.intended_timestamp": _iso(started),
            "kibana.alert.severity": rule.get("severity"),
            "kibana.alert.risk_score": rule.get("risk_score"),
            "kibana.alert.rule.uuid": preview_id,
            "kibana.alert.rule.rule_id": rule.get("rule_id"),
            "kibana.alert.rule.name": rule.get("name"),
            "kibana.alert.rule.type": rule.get("type"),
            "kibana.alert.rule.severity": rule.get("severity"),
            "kibana.alert.rule.tags": rule.get("tags", []),
            "kibana.alert.rule.from": rule.get("from"), "kibana.alert.rule.to": rule.get("to"),
            "kibana.alert.rule.interval": rule.get("interval"),
            "kibana.alert.rule.max_signals": rule.get("max_signals"),
            "kibana.alert.rule.indices": list(rule.get("index") or _DEFAULT_INDEX),
            "kibana.alert.rule.timestamp_override": rule.get("timestamp_override"),
            "kibana.alert.rule.consumer": "siem",
        }

    def event_alert(self, hit: dict[str, Any], rule: dict[str, Any], preview_id: str,
                    space: str, started: datetime) -> dict[str, Any]:
        """The source document with the alert fields over it (buildAlertFields)."""
        source = json.loads(json.dumps(hit.get("_source") or {}))
        event = source.get("event") if isinstance(source.get("event"), dict) else {}
        alert = dict(source)
        alert["event"] = {**{k: v for k, v in event.items() if k != "kind"}, "kind": "signal"}
        alert.update(self.rule_fields(rule, preview_id, space, started))
        version = hit.get("_version", "undefined")
        alert.update({
            "kibana.alert.uuid": hashlib.sha256(
                f"{hit['_index']}{hit['_id']}{version}{space}:{preview_id}".encode()).hexdigest(),
            "kibana.alert.original_time": source.get("@timestamp"),
            "kibana.alert.original_event": event,
            "kibana.alert.ancestors": [{"id": hit["_id"], "index": hit["_index"],
                                        "type": "event", "depth": 0}],
            "kibana.alert.reason": f"event with action {event.get('action')} created "
                                   f"{rule.get('severity')} alert {rule.get('name')}.",
        })
        return alert

    def threshold_alerts(self, hits: list[dict[str, Any]], rule: dict[str, Any],
                         preview_id: str, space: str, started: datetime) -> list[dict[str, Any]]:
        """One alert per bucket of threshold.field values reaching threshold.value (and the
        cardinality condition), as the terms aggregation would count them."""
        spec = rule.get("threshold") or {}
        fields = spec.get("field") or []
        fields = [fields] if isinstance(fields, str) else list(fields)
        buckets: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for hit in hits:
            for term in _combinations(hit, fields):
                buckets.setdefault(term, []).append(hit)
        alerts = []
        for term, members in buckets.items():
            if len(members) < int(spec.get("value", 1)):
                continue
            cardinality = (spec.get("cardinality") or [None])[0]
            if cardinality and len({str(v) for h in members for v in
                                    (h.get("fields") or {}).get(cardinality["field"], [])}
                                   ) < int(cardinality["value"]):
                continue
            terms = [{"field": f, "value": v} for f, v in zip(fields, term, strict=True)]
            alert = self.rule_fields(rule, preview_id, space, started)
            first = members[0]
            key = json.dumps([preview_id, terms, len(members)])
            alert.update({
                "kibana.alert.uuid": hashlib.sha256(key.encode()).hexdigest(),
                "kibana.alert.original_time": (first.get("_source") or {}).get("@timestamp"),
                "kibana.alert.threshold_result": {"terms": terms, "count": len(members)},
                "kibana.alert.ancestors": [{"id": hashlib.sha256(key.encode()).hexdigest(),
                                            "index": ",".join(rule.get("index") or []),
                                            "type": "event", "depth": 0}],
                "event": {"kind": "signal"},
            })
            alerts.append(alert)
        return alerts

    def new_terms_alerts(self, hits: list[dict[str, Any]], history: list[dict[str, Any]],
                         rule: dict[str, Any], preview_id: str, space: str,
                         started: datetime) -> list[dict[str, Any]]:
        """One alert per value combination of new_terms_fields first seen in the window, on
        the earliest event that has it."""
        fields = list(rule.get("new_terms_fields") or [])
        known = {t for h in history for t in _combinations(h, fields)}
        alerts = []
        for hit in hits:
            fresh = [t for t in _combinations(hit, fields) if t not in known]
            for term in fresh:
                known.add(term)
                alert = self.event_alert(hit, rule, preview_id, space, started)
                alert["kibana.alert.new_terms"] = list(term)
                alert["kibana.alert.uuid"] = hashlib.sha256(
                    f"{alert['kibana.alert.uuid']}{list(term)}".encode()).hexdigest()
                alerts.append(alert)
        return alerts

    def write(self, space: str, alerts: list[dict[str, Any]]) -> int:
        """Bulk-create the alerts (same id = same alert, not a duplicate); failures counted."""
        if not alerts:
            return 0
        alias = self.alerts_index(space)
        operations: list[dict[str, Any]] = []
        for alert in alerts:
            operations.extend(({"create": {"_index": alias, "_id": alert["kibana.alert.uuid"]}},
                               alert))
        result = self.es.bulk(operations=operations, refresh=False)
        return sum(1 for item in result["items"]
                   if item["create"].get("status", 200) not in (200, 201, 409))

    def alerts_index(self, space: str) -> str:
        """The preview alerts alias, with its hidden backing index created on first use."""
        alias = f".preview.alerts-security.alerts-{space}"
        if alias not in self._ready:
            if not self.es.indices.exists_alias(name=alias):
                self.es.indices.create(
                    index=f".internal{alias}-000001", mappings=_ALERT_MAPPINGS,
                    settings={"index.hidden": True, "number_of_shards": 1,
                              "number_of_replicas": 0},
                    aliases={alias: {"is_write_index": True, "is_hidden": True}})
            self._ready.add(alias)
        return alias


def _es_reason(exc: ApiError) -> str:
    """The root cause Elasticsearch gives, as Kibana quotes it in execution errors."""
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    while isinstance(error, dict) and (error.get("caused_by") or error.get("root_cause")):
        nxt = error.get("caused_by") or (error.get("root_cause") or [None])[0]
        if not isinstance(nxt, dict):
            break
        error = nxt
    return str(error.get("reason")) if isinstance(error, dict) else str(exc)


def _combinations(hit: dict[str, Any], fields: list[str]) -> list[tuple[str, ...]]:
    """Every combination of the fields' values (terms aggregations skip missing fields)."""
    values = hit.get("fields") or {}
    combos: list[tuple[str, ...]] = [()]
    for name in fields:
        found = [json.dumps(v) if not isinstance(v, str) else v for v in values.get(name, [])]
        if not found:
            return []
        combos = [c + (v,) for c in combos for v in dict.fromkeys(found)]
    return combos


def _entry_clause(entry: dict[str, Any]) -> dict[str, Any]:
    """One exception entry, as the lists plugin's buildExceptionFilter writes it."""
    name, kind = entry["field"], entry.get("type", "match")
    value = entry.get("value")
    if kind == "exists":
        clause: dict[str, Any] = {"bool": {"minimum_should_match": 1,
                                           "should": [{"exists": {"field": name}}]}}
    elif kind == "wildcard":
        clause = {"bool": {"filter": {"wildcard": {name: value}}}}
    elif kind == "match_any" and isinstance(value, list) and len(value) > 1:
        clause = {"bool": {"minimum_should_match": 1, "should": [
            {"bool": {"minimum_should_match": 1, "should": [{"match_phrase": {name: v}}]}}
            for v in value]}}
    else:
        single = value[0] if isinstance(value, list) else value
        clause = {"bool": {"minimum_should_match": 1,
                           "should": [{"match_phrase": {name: single}}]}}
    return {"bool": {"must_not": clause}} if entry.get("operator") == "excluded" else clause


def _item_clause(item: dict[str, Any]) -> dict[str, Any]:
    clauses = [_entry_clause(e) for e in item.get("entries") or []]
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def _version(text: str) -> tuple[int, int]:
    parts = text.split("-")[0].split(".")
    return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0


def _seconds(duration: str) -> int | None:
    match = re.fullmatch(r"([1-9][0-9]*)([smhdwMy])", duration)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def _date_math(text: str, now: datetime) -> datetime:
    match = re.fullmatch(r"now(?:([+-])([0-9]+)([smhdwMy]))?", text.strip())
    if match is None:
        parsed = _parse_time(text)
        if parsed is None:
            raise _boom(400, f"Failed to parse date-math expression {text!r}")
        return parsed
    if match.group(1) is None:
        return now
    delta = timedelta(seconds=int(match.group(2)) * _UNIT_SECONDS[match.group(3)])
    return now - delta if match.group(1) == "-" else now + delta


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    """``toISOString``: UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
