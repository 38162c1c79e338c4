"""Target options and the connection checks, against a stub HTTP server on 127.0.0.1.

The stub answers like Elasticsearch would (status, X-Elastic-Product header, version body), so
each failure a user can meet - refused, 401, 403, not Elasticsearch, unsupported version - is
exercised without a real cluster.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kmsdet.errors import EXIT_ENVIRONMENT, EnvironmentProblem, UsageError
from kmsdet.es.client import CLIENT_MAJOR, CompatTransport, EsTarget, connect


class Stub:
    """What the stub server answers: per path, a status, a body and the product header."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any, bool]] = {}
        self.seen: list[dict[str, str]] = []


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            stub.seen.append({k.lower(): v for k, v in self.headers.items()})
            path = self.path.split("?")[0]
            status, body, product = stub.routes.get(path, (404, {"error": "nope"}, True))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            if product:
                self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- options

def test_option_wins_over_env_and_env_over_state_file(tmp_path: Path) -> None:
    state = tmp_path / ".kmsdet" / "es.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"url": "http://127.0.0.1:1111"}))
    env = {"KMSDET_ES_URL": "http://127.0.0.1:2222"}
    assert EsTarget.from_options(url="http://h:3", env=env, cwd=tmp_path).url == "http://h:3"
    from_env = EsTarget.from_options(env=env, cwd=tmp_path)
    assert (from_env.url, from_env.source) == ("http://127.0.0.1:2222", "KMSDET_ES_URL")
    from_state = EsTarget.from_options(env={}, cwd=tmp_path)
    assert from_state.url == "http://127.0.0.1:1111"
    assert from_state.source == str(state)


def test_state_file_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / ".kmsdet").mkdir()
    (tmp_path / ".kmsdet" / "es.json").write_text(json.dumps({"url": "http://127.0.0.1:9"}))
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert EsTarget.from_options(env={}, cwd=nested).url == "http://127.0.0.1:9"


def test_credentials_come_from_env() -> None:
    env = {"KMSDET_ES_URL": "https://es:9200", "KMSDET_ES_USER": "u",
           "KMSDET_ES_PASSWORD": "s3cret"}
    target = EsTarget.from_options(env=env)
    assert (target.user, target.password) == ("u", "s3cret")
    assert "s3cret" not in repr(target)


def test_secrets_never_in_repr_or_redacted_url() -> None:
    target = EsTarget(url="https://admin:hunter2@es.example:9200/", api_key="k3y")
    assert "k3y" not in repr(target)
    assert "hunter2" not in target.redacted_url
    assert target.redacted_url == "https://es.example:9200/"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"url": "es:9200"}, "--es-url"),
    ({"url": "ftp://es"}, "--es-url"),
    ({"url": "http://es", "api_key": "k", "user": "u", "password": "p"}, "--es-api-key"),
    ({"url": "http://es", "user": "u"}, "--es-password"),
    ({"url": "http://es", "password": "p"}, "--es-user"),
    ({"url": "https://es", "ca_cert": "/nonexistent/ca.pem"}, "--es-ca-cert"),
])
def test_contradictory_or_bad_options_are_usage_errors(kwargs: dict[str, Any],
                                                       field: str) -> None:
    with pytest.raises(UsageError) as info:
        EsTarget.from_options(env={}, **kwargs)
    assert info.value.field == field
    assert info.value.hint


def test_ca_cert_with_insecure_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(UsageError) as info:
        EsTarget.from_options(url="https://es", ca_cert=ca, insecure=True, env={})
    assert info.value.field == "--insecure"


def test_no_url_anywhere_names_the_options(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        EsTarget.from_options(env={}, cwd=tmp_path)
    assert "--es-url" in (info.value.hint or "")
    assert "es-up" in (info.value.hint or "")


# --------------------------------------------------------------------------- connecting

def test_connection_refused_is_an_environment_problem() -> None:
    target = EsTarget(url=f"http://127.0.0.1:{_free_port()}", request_timeout=5)
    with pytest.raises(EnvironmentProblem) as info:
        connect(target)
    assert "connection refused" in info.value.message
    assert info.value.exit_code == EXIT_ENVIRONMENT
    assert "es-up" in (info.value.hint or "")


@pytest.mark.parametrize(("status", "words"), [
    (401, "rejected the credentials"),
    (403, "HTTP 403"),
])
def test_auth_failures_are_explained(stub: tuple[Stub, str], status: int, words: str) -> None:
    state, url = stub
    state.routes["/"] = (status, {"error": {"type": "security_exception", "reason": "x"}},
                         True)
    with pytest.raises(EnvironmentProblem) as info:
        connect(EsTarget(url=url, api_key="id:s3cret"))
    assert words in info.value.message
    assert "s3cret" not in info.value.render()
    assert info.value.field == "--es-api-key"


def test_api_key_and_basic_auth_are_sent(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.routes["/"] = (200, {"version": {"number": f"{CLIENT_MAJOR}.1.0"}}, True)
    connect(EsTarget(url=url, api_key="abc"))
    connect(EsTarget(url=url, user="u", password="p"))
    assert state.seen[0]["authorization"] == "ApiKey abc"
    assert state.seen[1]["authorization"].startswith("Basic ")


def test_not_elasticsearch_is_refused(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.routes["/"] = (200, {"version": {"number": "2.11.0", "distribution": "opensearch"}},
                         False)
    with pytest.raises(EnvironmentProblem) as info:
        connect(EsTarget(url=url))
    assert "not Elasticsearch" in info.value.message


@pytest.mark.parametrize("version", ["7.17.9", "10.0.0"])
def test_unsupported_versions_are_refused(stub: tuple[Stub, str], version: str) -> None:
    state, url = stub
    state.routes["/"] = (200, {"version": {"number": version}}, True)
    with pytest.raises(EnvironmentProblem) as info:
        connect(EsTarget(url=url))
    assert version in info.value.message
    assert "8.x and 9.x" in (info.value.hint or "")


def test_version_falls_back_to_nodes_when_root_is_missing(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.routes["/"] = (405, {"error": "Incorrect HTTP method"}, True)
    state.routes["/_nodes/_local"] = (200, {"nodes": {"n1": {"version": "8.19.21"}}}, True)
    client = connect(EsTarget(url=url))
    transport = client.transport
    assert isinstance(transport, CompatTransport)
    assert transport.compat_major == (8 if CLIENT_MAJOR > 8 else None)


def test_newer_client_speaks_the_servers_major(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.routes["/"] = (200, {"version": {"number": "8.19.0"}}, True)
    state.routes["/_cluster/health"] = (200, {"status": "green"}, True)
    client = connect(EsTarget(url=url))
    client.cluster.health()
    accept = state.seen[-1].get("accept", "")
    assert "compatible-with=9" not in accept
    if CLIENT_MAJOR > 8:
        assert "compatible-with=8" in accept


def test_root_cause_is_the_deepest_reason_of_a_failed_shard() -> None:
    from kmsdet.es.client import root_cause

    refused = {"root_cause": [{"type": "query_shard_exception",
                               "reason": "failed to create query: maxClauseCount is set to 8192"}],
               "type": "search_phase_execution_exception", "reason": "all shards failed",
               "failed_shards": [{"shard": 0, "reason": {
                   "type": "query_shard_exception", "reason": "failed to create query",
                   "caused_by": {"type": "too_many_nested_clauses",
                                 "reason": "Query contains too many nested clauses; "
                                           "maxClauseCount is set to 8192"}}}]}
    assert root_cause(refused) == ("too_many_nested_clauses", "Query contains too many nested "
                                   "clauses; maxClauseCount is set to 8192")
    del refused["failed_shards"]
    assert root_cause(refused) == ("query_shard_exception",
                                   "failed to create query: maxClauseCount is set to 8192")
    assert root_cause({"type": "x", "reason": "y"}) == ("x", "y")
    assert root_cause("plain text") == (None, "plain text")


def test_a_partly_failed_search_is_refused_with_the_shards_reason() -> None:
    """A 200 whose shards partly failed holds only some documents' hits: never an answer."""
    from kmsdet.es.client import SearchRefused, complete_search, root_cause, shard_failures

    partial = {"_shards": {"total": 3, "successful": 1, "skipped": 0, "failed": 2, "failures": [
        {"shard": 0, "index": "a", "reason": {
            "type": "query_shard_exception", "reason": "failed to create query",
            "caused_by": {"type": "too_many_clauses",
                          "reason": "maxClauseCount is set to 8192"}}}]},
        "hits": {"hits": [{"_source": {"event": {"id": "only-from-one-shard"}}}]}}
    assert shard_failures({"_shards": {"total": 3, "failed": 0}, "hits": {}}) is None
    error = shard_failures(partial)
    assert error is not None
    assert root_cause(error) == ("too_many_clauses", "maxClauseCount is set to 8192")

    class Client:
        def search(self, **_: object) -> dict:
            return partial

    try:
        complete_search(Client(), index="a")
    except SearchRefused as refused:
        assert "maxClauseCount" in str(refused)
    else:
        raise AssertionError("a partial result was returned as complete")
