"""A fake Docker Engine API on 127.0.0.1, answering the endpoints the Docker SDK calls.

It serves what kmsdet's sandbox commands need (ping, version, info, containers with compose
labels, inspect, logs as a multiplexed stream, stop, remove, archive, networks, volumes) with
the shapes the real daemon uses, records every request, and 404s anything else so a test can
assert that no unexpected endpoint was hit.
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import struct
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PROJECT = "kmsdet"
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+")


@dataclass
class FakeContainer:
    service: str
    project: str = PROJECT
    state: str = "running"
    exit_code: int = 0
    # Health per inspect call; the last value repeats. None: no healthcheck.
    health: list[str | None] = field(default_factory=lambda: [None])
    ports: list[tuple[str, int, int]] = field(default_factory=list)  # host ip, host, container
    logs: list[tuple[int, str]] = field(default_factory=list)  # (1 stdout | 2 stderr, text)
    files: dict[str, bytes] = field(default_factory=dict)
    name: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"{self.project}-{self.service}-1"
        self.id = self.id or (self.name.encode().hex() + "0" * 64)[:64]

    def current_health(self) -> str | None:
        return self.health[0]

    def advance_health(self) -> str | None:
        value = self.health[0]
        if len(self.health) > 1:
            self.health.pop(0)
        return value


class FakeDocker:
    """State plus a threaded HTTP server; use as a context manager."""

    def __init__(self, mem_total: int = 16 * 1024**3, os_type: str = "linux",
                 operating_system: str = "Fake Linux") -> None:
        self.containers: list[FakeContainer] = []
        self.networks: list[dict[str, Any]] = []
        self.volumes: list[dict[str, Any]] = []
        self.mem_total = mem_total
        self.os_type = os_type
        self.operating_system = operating_system
        self.ping_status = 200
        # Called when the stand-in compose CLI reports `up` (POST /_fake/compose-up).
        self.on_compose_up: Callable[[], None] | None = None
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # The SDK keeps connections alive; closing must not wait for it to hang up.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"tcp://{host}:{port}"

    def __enter__(self) -> FakeDocker:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- helpers for tests ---------------------------------------------------------------------

    def add_project(self, project: str = PROJECT, es_health: list[str | None] | None = None,
                    kibana_health: list[str | None] | None = None, es_port: int = 9200,
                    kibana_port: int = 5601, ca: bytes = b"") -> None:
        """The three containers `docker compose up` creates for the sandbox."""
        self.containers += [
            FakeContainer("setup", project, state="exited", exit_code=0,
                          health=["healthy"], logs=[(1, "setup: done\n")]),
            FakeContainer("es01", project, health=es_health or ["healthy"],
                          ports=[("127.0.0.1", es_port, 9200)],
                          logs=[(1, "started es01\n")],
                          files={"/usr/share/elasticsearch/config/certs/ca/ca.crt": ca}),
            FakeContainer("kibana", project, health=kibana_health or ["healthy"],
                          ports=[("127.0.0.1", kibana_port, 5601)],
                          logs=[(1, "Kibana is now available\n")]),
        ]
        labels = {"com.docker.compose.project": project}
        self.networks.append({"Id": f"net-{project}", "Name": f"{project}_default",
                              "Labels": labels})
        self.volumes += [{"Name": f"{project}_{v}", "Driver": "local", "Labels": labels}
                         for v in ("certs", "esdata01", "kibanadata")]

    def find(self, ref: str) -> FakeContainer | None:
        for container in self.containers:
            if ref in (container.id, container.name) or (
                    len(ref) >= 12 and container.id.startswith(ref)):
                return container
        return None

    def summary(self, c: FakeContainer) -> dict[str, Any]:
        return {"Id": c.id, "Names": [f"/{c.name}"], "Image": "fake", "State": c.state,
                "Status": c.state, "Labels": self.labels(c),
                "Ports": [{"IP": ip, "PrivatePort": inner, "PublicPort": host, "Type": "tcp"}
                          for ip, host, inner in c.ports]}

    def inspect(self, c: FakeContainer) -> dict[str, Any]:
        health = c.advance_health()
        state: dict[str, Any] = {"Status": c.state, "Running": c.state == "running",
                                 "ExitCode": c.exit_code if c.state == "exited" else 0}
        if health is not None:
            state["Health"] = {"Status": health, "FailingStreak": 0, "Log": []}
        ports: dict[str, Any] = {}
        for ip, host, inner in c.ports:
            ports.setdefault(f"{inner}/tcp", []).append({"HostIp": ip, "HostPort": str(host)})
        return {"Id": c.id, "Name": f"/{c.name}", "State": state,
                "Config": {"Labels": self.labels(c), "Tty": False, "Image": "fake"},
                "NetworkSettings": {"Ports": ports}, "HostConfig": {}}

    @staticmethod
    def labels(c: FakeContainer) -> dict[str, str]:
        return {"com.docker.compose.project": c.project, "com.docker.compose.service": c.service}


def _matches(labels: dict[str, str], filters: dict[str, Any]) -> bool:
    wanted = filters.get("label", [])
    wanted = wanted if isinstance(wanted, list) else list(wanted)
    for item in wanted:
        key, _, value = item.partition("=")
        if labels.get(key) != value:
            return False
    return True


def _handler_for(fake: FakeDocker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:  # keep test output quiet
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Api-Version", "1.45")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode())

        def _error(self, status: int, message: str) -> None:
            self._json(status, {"message": message})

        def _route(self) -> None:
            parts = urlsplit(self.path)
            path = _VERSION_PREFIX.sub("", parts.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            filters = json.loads(query.get("filters", "{}") or "{}")
            fake.requests.append((self.command, path))
            method = self.command
            if path == "/_fake/compose-up" and method == "POST":
                if fake.on_compose_up is not None:
                    fake.on_compose_up()
                return self._send(204)
            if path == "/_ping":
                if fake.ping_status != 200:
                    return self._error(fake.ping_status, "fake daemon is unwell")
                return self._send(200, b"OK", "text/plain")
            if path == "/version":
                return self._json(200, {"ApiVersion": "1.45", "Version": "27.0.3",
                                        "MinAPIVersion": "1.24", "Os": fake.os_type})
            if path == "/info":
                return self._json(200, {"MemTotal": fake.mem_total, "OSType": fake.os_type,
                                        "OperatingSystem": fake.operating_system,
                                        "ServerVersion": "27.0.3", "NCPU": 2})
            if path == "/containers/json":
                everything = query.get("all") in ("1", "True", "true")
                found = [c for c in fake.containers if _matches(fake.labels(c), filters)
                         and (everything or c.state == "running")]
                if "publish" in filters:
                    ports = {int(p) for p in filters["publish"]}
                    found = [c for c in found if any(h in ports for _, h, _ in c.ports)]
                return self._json(200, [fake.summary(c) for c in found])
            match = re.fullmatch(r"/containers/([^/]+)(/[a-z]+)?", path)
            if match:
                return self._container(method, unquote(match.group(1)), match.group(2), query)
            if path == "/networks" and method == "GET":
                return self._json(200, [n for n in fake.networks
                                        if _matches(n["Labels"], filters)])
            match = re.fullmatch(r"/networks/([^/]+)", path)
            if match and method == "DELETE":
                fake.networks = [n for n in fake.networks if n["Id"] != match.group(1)]
                return self._send(204)
            if path == "/volumes" and method == "GET":
                return self._json(200, {"Volumes": [v for v in fake.volumes
                                                     if _matches(v["Labels"], filters)],
                                         "Warnings": []})
            match = re.fullmatch(r"/volumes/([^/]+)", path)
            if match and method == "DELETE":
                fake.volumes = [v for v in fake.volumes if v["Name"] != match.group(1)]
                return self._send(204)
            fake.unhandled.append((method, path))
            return self._error(404, f"fake docker: no route for {method} {path}")

        def _container(self, method: str, ref: str, action: str | None,
                       query: dict[str, str]) -> None:
            container = fake.find(ref)
            if container is None:
                return self._error(404, f"No such container: {ref}")
            if method == "GET" and action == "/json":
                return self._json(200, fake.inspect(container))
            if method == "GET" and action == "/logs":
                return self._send(200, _frames(container.logs, query.get("tail", "all")),
                                  "application/vnd.docker.multiplexed-stream")
            if method == "POST" and action == "/stop":
                container.state = "exited"
                return self._send(204)
            if method == "DELETE" and action is None:
                fake.containers.remove(container)
                return self._send(204)
            if method == "GET" and action == "/archive":
                wanted = query.get("path", "")
                if wanted not in container.files:
                    return self._error(404, f"Could not find the file {wanted} in container")
                data = container.files[wanted]
                name = wanted.rsplit("/", 1)[-1]
                stat = {"name": name, "size": len(data), "mode": 0o644,
                        "mtime": "2026-01-01T00:00:00Z", "linkTarget": ""}
                header = base64.b64encode(json.dumps(stat).encode()).decode()
                return self._send(200, _tar(name, data), "application/x-tar",
                                  {"X-Docker-Container-Path-Stat": header})
            fake.unhandled.append((method, f"/containers/{ref}{action or ''}"))
            return self._error(404, "fake docker: unsupported container action")

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
            self._route()

        def do_HEAD(self) -> None:  # noqa: N802
            self._route()

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._route()

        def do_DELETE(self) -> None:  # noqa: N802
            self._route()

    return Handler


def _frames(lines: list[tuple[int, str]], tail: str) -> bytes:
    """Docker's multiplexed log stream: 8-byte header (stream, 0, 0, 0, size) per frame."""
    chosen = lines if tail in ("all", "") else lines[-int(tail):] if int(tail) else []
    out = b""
    for stream, text in chosen:
        data = text.encode()
        out += struct.pack(">BxxxL", stream, len(data)) + data
    return out


def _tar(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
