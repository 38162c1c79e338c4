"""An Elasticsearch stand-in that echoes every request's headers back in its error answers.

It answers ``GET /`` as an 8.x node (so clients get past their product check) unless told to
refuse that too, and every other request with an Elasticsearch-shaped error whose reason is the
request's Authorization header and all its headers: the worst a proxy or a debugging endpoint
can do with credentials.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EsEchoDouble:
    def __init__(self, *, status: int = 500, echo_root: bool = False) -> None:
        self.status = status
        self.echo_root = echo_root
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> EsEchoDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.command == "HEAD":  # no body to echo in: say "exists", go on
                    self.send_response(200)
                    self.send_header("X-elastic-product", "Elasticsearch")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.split("?")[0] == "/" and not double.echo_root:
                    status, body = 200, {"name": "echo", "cluster_name": "echo",
                                         "version": {"number": "8.15.0"},
                                         "tagline": "You Know, for Search"}
                else:
                    reason = f"echo: {headers.get('authorization', '')} {json.dumps(headers)}"
                    status, body = double.status, {
                        "error": {"root_cause": [{"type": "echo_exception", "reason": reason}],
                                  "type": "echo_exception", "reason": reason},
                        "status": double.status}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-elastic-product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"
