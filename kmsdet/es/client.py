"""Target options, connecting, and turning transport failures into messages a person can act on.

Every command that talks to Elasticsearch takes the same options (``--es-url``, ``--es-api-key``,
``--es-user``/``--es-password``, ``--es-ca-cert``, ``--insecure``), each also read from a
``KMSDET_ES_*`` variable; without a URL the node recorded by ``scripts/es_test_cluster.py``
(``.kmsdet/es.json``) is used, so ``make es-up`` is all a developer needs.

The official Python client speaks its own major version of the REST API (9.x sends
``compatible-with=9``), which an 8.x server rejects. Elastic's REST compatibility works one
major back, so after probing the server we downgrade those headers to the server's major: one
client then serves 8.x and 9.x clusters alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, HttpHeaders, TlsError, Transport
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    UnsupportedProductError,
)
from elasticsearch import __versionstr__ as CLIENT_VERSION

from kmsdet.errors import EnvironmentProblem, UsageError

ENV_URL = "KMSDET_ES_URL"
ENV_API_KEY = "KMSDET_ES_API_KEY"
ENV_USER = "KMSDET_ES_USER"
ENV_PASSWORD = "KMSDET_ES_PASSWORD"
ENV_CA_CERT = "KMSDET_ES_CA_CERT"
ENV_STATE = "KMSDET_ES_STATE"
STATE_FILE = Path(".kmsdet") / "es.json"

SUPPORTED_MAJORS = (8, 9)
CLIENT_MAJOR = int(CLIENT_VERSION.split(".")[0])
_COMPAT_WITH = re.compile(r"compatible-with=\d+")


@dataclass(frozen=True)
class EsTarget:
    """Where Elasticsearch is and how to authenticate; secrets never appear in ``repr``."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: Path | None = None
    insecure: bool = False
    request_timeout: float = 30.0
    source: str = "--es-url"

    def __post_init__(self) -> None:
        from kmsdet.masking import register_credentials

        register_credentials(api_key=self.api_key, user=self.user, password=self.password)

    @classmethod
    def from_options(
        cls,
        *,
        url: str | None = None,
        api_key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        ca_cert: str | Path | None = None,
        insecure: bool = False,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> EsTarget:
        """Options first, then ``KMSDET_ES_*``, then the test cluster's state file."""
        env = os.environ if env is None else env
        source = "--es-url"
        if not url and env.get(ENV_URL):
            url, source = env[ENV_URL], ENV_URL
        if not url:
            url, source = _url_from_state_file(env, cwd or Path.cwd())
        api_key = api_key or env.get(ENV_API_KEY) or None
        user = user or env.get(ENV_USER) or None
        password = password or env.get(ENV_PASSWORD) or None
        ca_text = ca_cert or env.get(ENV_CA_CERT) or None
        target = cls(url=url.rstrip("/"), api_key=api_key, user=user, password=password,
                     ca_cert=Path(ca_text) if ca_text else None, insecure=insecure,
                     source=source)
        target.validate()
        return target

    def validate(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"not an Elasticsearch URL: {self.redacted_url}", field=self.source,
                             hint="give a URL such as https://localhost:9200")
        if self.api_key and (self.user or self.password):
            raise UsageError("give either an API key or a user and password, not both",
                             field="--es-api-key",
                             hint=f"unset {ENV_API_KEY} or {ENV_USER}/{ENV_PASSWORD}")
        if bool(self.user) != bool(self.password):
            missing = "--es-password" if self.user else "--es-user"
            raise UsageError("a user needs a password and a password needs a user",
                             field=missing, hint=f"set {ENV_USER} and {ENV_PASSWORD} together")
        if self.ca_cert is not None and not self.ca_cert.is_file():
            raise UsageError(f"CA certificate not found: {self.ca_cert}", field="--es-ca-cert",
                             hint="give the PEM file of the CA that signed the cluster's cert")
        if self.ca_cert is not None and self.insecure:
            raise UsageError("--insecure turns off the verification --es-ca-cert configures",
                             field="--insecure", hint="drop one of the two")

    @property
    def redacted_url(self) -> str:
        """The URL without any ``user:password@`` part, safe to print."""
        parts = urlsplit(self.url)
        if parts.username is None and parts.password is None:
            return self.url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _url_from_state_file(env: Mapping[str, str], cwd: Path) -> tuple[str, str]:
    """The URL ``scripts/es_test_cluster.py up`` recorded, looked up from ``cwd`` upwards."""
    candidates = [Path(env[ENV_STATE])] if env.get(ENV_STATE) else [
        d / STATE_FILE for d in (cwd, *cwd.parents)]
    for path in candidates:
        try:
            url = json.loads(path.read_text(encoding="utf-8"))["url"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(url, str) and url:
            return url, str(path)
    raise UsageError("no Elasticsearch to talk to", field="--es-url",
                     hint=f"pass --es-url, set {ENV_URL}, or start the test node with "
                          "`make es-up`")


@dataclass(frozen=True)
class ServerInfo:
    version: str
    major: int
    minor: int


class CompatTransport(Transport):
    """A transport that asks for the server's REST API major when the client is newer."""

    compat_major: int | None = None

    def perform_request(self, method: str, target: str, *, headers: Any = None,
                        **kwargs: Any) -> Any:
        if self.compat_major is not None and headers:
            headers = HttpHeaders(headers)
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value and "compatible-with=" in value:
                    headers[name] = _COMPAT_WITH.sub(
                        f"compatible-with={self.compat_major}", value)
        if headers is None:
            return super().perform_request(method, target, **kwargs)
        return super().perform_request(method, target, headers=headers, **kwargs)


def connect(target: EsTarget) -> Elasticsearch:
    """A client for ``target``, after checking it is a reachable, supported Elasticsearch."""
    kwargs: dict[str, Any] = {
        "request_timeout": target.request_timeout,
        "transport_class": CompatTransport,
        "retry_on_timeout": False,
        "max_retries": 0,
    }
    if target.api_key:
        key = target.api_key
        kwargs["api_key"] = tuple(key.split(":", 1)) if ":" in key else key
    elif target.user and target.password:
        kwargs["basic_auth"] = (target.user, target.password)
    if target.url.startswith("https"):
        if target.insecure:
            kwargs.update(verify_certs=False, ssl_show_warn=False)
        elif target.ca_cert is not None:
            kwargs["ca_certs"] = str(target.ca_cert)
    client = Elasticsearch(target.url, **kwargs)
    info = server_info(client, target)
    transport = client.transport
    if isinstance(transport, CompatTransport):
        transport.compat_major = info.major if info.major < CLIENT_MAJOR else None
    return client


def server_info(client: Elasticsearch, target: EsTarget) -> ServerInfo:
    """The server's version, probed in the oldest REST dialect both supported majors accept.

    ``GET /`` answers on every full distribution; the minimal test distribution lacks that
    handler, so the node's own entry in ``_nodes`` is the fallback.
    """
    transport = client.transport
    compat = isinstance(transport, CompatTransport)
    previous = transport.compat_major if compat else None
    if compat:
        transport.compat_major = min(SUPPORTED_MAJORS)
    try:
        with translate_errors(target, "connect to"):
            version = _probe(client, "/", ("version", "number"))
            if version is None:
                version = _probe(client, "/_nodes/_local", ("nodes", "*", "version"))
    finally:
        if compat:
            transport.compat_major = previous
    if version is None:
        raise EnvironmentProblem(f"{target.redacted_url} did not report a version",
                                 field=target.source, hint="is this Elasticsearch?")
    match = re.match(r"(\d+)\.(\d+)", version)
    if not match:
        raise EnvironmentProblem(f"unreadable Elasticsearch version {version!r}",
                                 field=target.source)
    major, minor = int(match.group(1)), int(match.group(2))
    if major not in SUPPORTED_MAJORS:
        raise _version_problem(version, target)
    return ServerInfo(version=version, major=major, minor=minor)


def _version_problem(version: str, target: EsTarget) -> EnvironmentProblem:
    majors = " and ".join(f"{m}.x" for m in SUPPORTED_MAJORS)
    return EnvironmentProblem(
        f"Elasticsearch {version} at {target.redacted_url} is not supported "
        f"(client {CLIENT_VERSION})", field=target.source,
        hint=f"kmsdet works with Elasticsearch {majors}")


def _probe(client: Elasticsearch, path: str, keys: tuple[str, ...]) -> str | None:
    """The string at ``keys`` (``*`` = any child) in ``GET path``; None if the path is absent."""
    try:
        body: Any = client.perform_request("GET", path, headers={"accept": "application/json"})
    except ApiError as exc:
        if exc.meta.status in (404, 405):
            return None
        raise
    values: list[Any] = [body.body if hasattr(body, "body") else body]
    for key in keys:
        children: list[Any] = []
        for value in values:
            if isinstance(value, Mapping):
                children.extend(value.values() if key == "*" else [value.get(key)])
        values = children
    return next((v for v in values if isinstance(v, str)), None)


def _auth_problem(status: int, target: EsTarget | None) -> EnvironmentProblem:
    where = target.redacted_url if target else "the cluster"
    cred_field = "--es-api-key" if target and target.api_key else "--es-user"
    if status == 401:
        how = ("API key" if target and target.api_key else
               f"user {target.user!r}" if target and target.user else "no credentials")
        return EnvironmentProblem(
            f"Elasticsearch at {where} rejected the credentials ({how}): HTTP 401",
            field=cred_field, hint=f"check {ENV_API_KEY} or {ENV_USER}/{ENV_PASSWORD}")
    return EnvironmentProblem(
        f"Elasticsearch at {where} refused the request: HTTP 403 (authenticated, but not "
        "allowed)", field=cred_field,
        hint="the key or user needs read/write on logs-aws.cloudtrail-* and "
             "manage_index_templates to seed")


@contextlib.contextmanager
def translate_errors(target: EsTarget | None, action: str = "talk to") -> Iterator[None]:
    """Turn the client's exceptions into one-line EnvironmentProblems (no tracebacks).

    ``target`` only names the cluster in messages; without it they say "the cluster".
    """
    where = target.redacted_url if target else "the cluster"
    url_field = target.source if target else "--es-url"
    try:
        yield
    except TlsError as exc:
        raise EnvironmentProblem(
            f"TLS handshake with {where} failed: {_short(exc)}", field="--es-ca-cert",
            hint="pass --es-ca-cert with the cluster's CA, or --insecure for a throw-away "
                 "test cluster") from None
    except ConnectionTimeout:
        raise EnvironmentProblem(f"timed out trying to {action} Elasticsearch at {where}",
                                 field=url_field, hint="is the cluster overloaded?") from None
    except TransportConnectionError as exc:
        raise EnvironmentProblem(
            f"cannot {action} Elasticsearch at {where}: {_short(exc)}", field=url_field,
            hint="is it running? `make es-up` starts a local test node") from None
    except AuthenticationException:
        raise _auth_problem(401, target) from None
    except AuthorizationException:
        raise _auth_problem(403, target) from None
    except UnsupportedProductError:
        raise EnvironmentProblem(f"{where} is not Elasticsearch", field=url_field,
                                 hint="kmsdet needs Elasticsearch 8.x or 9.x") from None
    except ApiError as exc:
        if "media_type_header_exception" in _reason(exc):
            raise EnvironmentProblem(
                f"Elasticsearch at {where} does not speak this client's REST API version "
                f"(client {CLIENT_VERSION}): {_reason(exc)}", field=url_field,
                hint="kmsdet works with Elasticsearch 8.x and 9.x") from None
        raise EnvironmentProblem(
            f"Elasticsearch at {where} answered HTTP {exc.meta.status}: {_reason(exc)}",
            field=url_field) from None


def _reason(exc: ApiError) -> str:
    body = exc.body
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        kind, reason = root_cause(body["error"])
        return f"{kind}: {reason}"
    return str(exc.message)


def root_cause(error: Any) -> tuple[str | None, str]:
    """The most specific (type, reason) of an Elasticsearch error object.

    A refused search says "search_phase_execution_exception: all shards failed" at the top;
    the reason a person can act on ("maxClauseCount is set to 8192") is the deepest
    ``caused_by`` of a failed shard, else of the first root cause.
    """
    if not isinstance(error, Mapping):
        return None, str(error)
    shards = error.get("failed_shards")
    chains = [s.get("reason") for s in shards if isinstance(s, Mapping)] \
        if isinstance(shards, list) else []
    roots = error.get("root_cause")
    chains += list(roots) if isinstance(roots, list) else []
    for start in [*chains, error]:
        deepest = start
        while isinstance(deepest, Mapping) and isinstance(deepest.get("caused_by"), Mapping):
            deepest = deepest["caused_by"]
        if isinstance(deepest, Mapping) and deepest.get("reason"):
            return deepest.get("type"), str(deepest["reason"])
    return error.get("type"), str(error.get("reason"))


def _short(exc: BaseException) -> str:
    """The useful part of a transport error: its root cause, in a few words."""
    seen: list[BaseException] = []
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        if isinstance(current, ConnectionRefusedError) or "Connection refused" in str(current):
            return "connection refused"
        queue.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        queue.extend(e for e in getattr(current, "errors", ()) if isinstance(e, BaseException))
    text = str(exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__


class SearchRefused(Exception):  # noqa: N818 - it names what happened, like the client's errors
    """Some shards refused a search that still answered 200 with the others' results.

    Counting alerts from part of the data would be a wrong answer that looks right, so a
    partial result is a refusal like any other; ``error`` is shaped as Elasticsearch's own
    error object, so :func:`root_cause` reads it the same way.
    """

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(root_cause(error)[1])
        self.error = error


def shard_failures(response: Mapping[str, Any]) -> dict[str, Any] | None:
    """The failed shards of a search response as an error object, or None when all answered."""
    shards = response.get("_shards")
    if not isinstance(shards, Mapping) or not shards.get("failed"):
        return None
    return {"type": "search_phase_execution_exception",
            "reason": f"{shards['failed']} of {shards.get('total')} shards failed",
            "failed_shards": list(shards.get("failures") or [])}


def complete_search(client: Elasticsearch, **request: Any) -> Any:
    """``client.search`` that raises SearchRefused instead of returning partial results."""
    response = client.search(**request)
    failure = shard_failures(response)
    if failure is not None:
        raise SearchRefused(failure)
    return response
