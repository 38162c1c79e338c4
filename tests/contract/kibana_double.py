"""A stand-in for Kibana's detection engine API, for contract tests and benchmarks.

It answers the endpoints kmsdet uses as Kibana documents them (reference/kibana.md): core's
XSRF check (400 without kbn-xsrf on writes), the api-version header, 401/403 Boom bodies,
/s/<space> prefixes with 404 for unknown spaces, CRUD by rule_id with the SIEM 409/404 bodies,
_find with paging, multipart _import with its limits and its 200-with-errors summary,
_bulk_action with the partial-failure 500, preview, privileges, and exception items. Like
Kibana it silently drops unknown rule fields and fills in defaults. Its field list is written
independently of kmsdet's schema so that the contract tests check kmsdet against Kibana's
documented behaviour, not against itself.

Faults can be injected per path: an HTTP status (429 with Retry-After, 500, 503), a slow
answer, or a dropped connection.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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

    kind: str  # "status" | "slow" | "drop"
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
                 has_encryption_key: bool = True) -> None:
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
            return self._preview(_json(raw))
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

    def _preview(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            raise _boom(400, "[request body]: expected an object")
        payload = {k: v for k, v in body.items() if k not in ("invocationCount",
                                                                "timeframeEnd")}
        problems = self._validate(payload)
        if problems or "invocationCount" not in body or "timeframeEnd" not in body:
            raise _boom(400, "; ".join(problems) or "invocationCount: Required")
        return 200, {"previewId": str(uuid.uuid4()), "isAborted": False,
                     "logs": [{"errors": [], "warnings": [], "duration": 1,
                               "startedAt": body["timeframeEnd"]}]}


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
