"""The Docker Engine, through the Docker SDK: connect, inspect, logs, stop and remove.

Everything here works from the labels Compose puts on what it creates
(com.docker.compose.project / .service), so status, logs and down need neither the compose
file nor the compose CLI. Starting the stack is the one job left to the compose CLI (see
compose_cli.py). Every failure becomes an EnvironmentProblem with a hint, never a traceback.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import docker
import requests
from docker.errors import APIError, DockerException, NotFound

from kmsdet.errors import EnvironmentProblem

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class EngineInfo:
    """The daemon facts the pre-flight checks need."""

    server_version: str
    api_version: str
    os_type: str
    operating_system: str
    mem_total: int
    host: str

    @property
    def is_desktop(self) -> bool:
        """Docker Desktop runs in a VM: host sysctls and ports are not the daemon's."""
        return "docker desktop" in self.operating_system.lower()

    @property
    def is_local(self) -> bool:
        parts = urlsplit(self.host)
        return parts.scheme in ("unix", "npipe", "") or parts.hostname in (
            "127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class PublishedPort:
    host_ip: str
    host_port: int
    container_port: int

    def __str__(self) -> str:
        return f"{self.host_ip}:{self.host_port}->{self.container_port}"


@dataclass(frozen=True)
class ContainerState:
    """One container of the project, as `status` shows it and `up` waits on it."""

    id: str
    name: str
    service: str
    state: str  # created, running, restarting, exited, dead, paused
    health: str | None  # starting, healthy, unhealthy, or None without a healthcheck
    exit_code: int | None
    ports: tuple[PublishedPort, ...] = ()
    image: str = ""

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass
class DownReport:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(a for a in current.args if isinstance(a, BaseException))


def _safe_host(host: str) -> str:
    """The endpoint without any user:password part, fit to print."""
    parts = urlsplit(host)
    if parts.username or parts.password:
        return host.replace(parts.netloc, parts.hostname or "", 1)
    return host


def endpoint(env: Mapping[str, str]) -> str:
    """The daemon address the SDK will use: DOCKER_HOST, else the current docker context."""
    if env.get("DOCKER_HOST"):
        return env["DOCKER_HOST"]
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_context(env.get("DOCKER_CONTEXT"))
        if context is not None and context.Host:
            return str(context.Host)
    except DockerException:
        pass
    return DEFAULT_SOCKET


def classify_connect_error(exc: BaseException, host: str,
                           which: Callable[[str], str | None] = shutil.which
                           ) -> EnvironmentProblem:
    """Tell 'Docker is not installed' from 'daemon down' from 'no permission'."""
    where = _safe_host(host)
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, PermissionError) for e in chain) or "Permission denied" in text:
        return EnvironmentProblem(
            f"permission denied on the Docker socket ({where})",
            hint="add your user to the docker group (sudo usermod -aG docker $USER, then log "
                 "in again), or use rootless Docker / Docker Desktop")
    missing_socket = any(isinstance(e, FileNotFoundError) for e in chain) or (
        "No such file or directory" in text)
    if missing_socket and which("docker") is None:
        return EnvironmentProblem(
            "Docker is not installed (no docker command, no socket at "
            f"{where})",
            hint="install Docker Engine (Linux) or Docker Desktop, start it, and run "
                 "`docker info` to check")
    if missing_socket or any(isinstance(e, (ConnectionRefusedError, requests.ConnectionError))
                             for e in chain) or "Connection refused" in text:
        return EnvironmentProblem(
            f"the Docker daemon is not running (nothing answers at {where})",
            hint="start it (sudo systemctl start docker, or open Docker Desktop); if it "
                 "listens elsewhere set DOCKER_HOST or run `docker context use NAME`")
    return EnvironmentProblem(f"cannot talk to the Docker daemon at {where}: {exc}",
                              hint="check `docker info`; set DOCKER_HOST if the daemon is "
                                   "remote")


class Engine:
    """A connected Docker daemon; build one with ``Engine.connect()``."""

    def __init__(self, client: docker.DockerClient, host: str) -> None:
        self.client = client
        self.host = host

    @classmethod
    def connect(cls, environment: Mapping[str, str] | None = None,
                timeout: int = 30) -> Engine:
        """Connect as the docker CLI would (DOCKER_HOST, then the current context), and ping."""
        env = dict(os.environ if environment is None else environment)
        host = endpoint(env)
        try:
            client = docker.from_env(environment=env, timeout=timeout)
        except DockerException as exc:
            raise classify_connect_error(exc, host) from exc
        try:
            client.ping()
        except APIError as exc:
            raise EnvironmentProblem(
                f"the Docker daemon at {_safe_host(host)} failed its health check (/_ping "
                f"answered HTTP {exc.status_code}: {exc.explanation or exc})",
                hint="restart the daemon (sudo systemctl restart docker, or restart Docker "
                     "Desktop) and check `docker info`") from exc
        except (requests.RequestException, DockerException) as exc:
            raise classify_connect_error(exc, host) from exc
        return cls(client, host)

    def _call(self, what: str, func: Callable[[], Any]) -> Any:
        try:
            return func()
        except APIError as exc:
            raise EnvironmentProblem(f"Docker refused to {what}: {exc.explanation or exc}",
                                     hint="check `docker info` and the daemon's log") from exc
        except (requests.RequestException, DockerException) as exc:
            raise classify_connect_error(exc, self.host) from exc

    def info(self) -> EngineInfo:
        info = self._call("report its info", self.client.info)
        version = self._call("report its version", self.client.version)
        return EngineInfo(
            server_version=str(info.get("ServerVersion") or version.get("Version", "?")),
            api_version=str(version.get("ApiVersion", "?")),
            os_type=str(info.get("OSType", "")),
            operating_system=str(info.get("OperatingSystem", "")),
            mem_total=int(info.get("MemTotal") or 0),
            host=self.host,
        )

    def project_containers(self, project: str) -> list[ContainerState]:
        """Every container of the compose project, stopped ones included, by service name."""
        containers = self._call("list containers", lambda: self.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={project}"}))
        states = [_state(c.attrs) for c in containers]
        return sorted(states, key=lambda s: (s.service, s.name))

    def containers_publishing(self, host_port: int) -> list[str]:
        """Names of running containers (any project) that publish host_port."""
        containers = self._call("list containers", lambda: self.client.containers.list(
            filters={"publish": str(host_port)}, sparse=True))
        names: list[str] = []
        for container in containers:
            raw = container.attrs.get("Names") or [container.attrs.get("Name", "")]
            ports = container.attrs.get("Ports") or []
            if not ports or any(p.get("PublicPort") == host_port for p in ports):
                names.append(str(raw[0]).lstrip("/") or container.short_id)
        return names

    def logs(self, container_id: str, tail: int | None = 100, follow: bool = False,
             timestamps: bool = False) -> Iterator[bytes]:
        """Log output (stdout and stderr), as chunks; follows until the container stops."""
        container = self._call("find the container",
                               lambda: self.client.containers.get(container_id))
        stream = self._call("read logs", lambda: container.logs(
            stdout=True, stderr=True, stream=True, follow=follow, timestamps=timestamps,
            tail="all" if tail is None else tail))
        try:
            yield from stream
        except (requests.RequestException, DockerException) as exc:
            raise classify_connect_error(exc, self.host) from exc

    def read_file(self, container_id: str, path: str) -> bytes:
        """One regular file out of a container (running or stopped), via the archive API."""
        container = self._call("find the container",
                               lambda: self.client.containers.get(container_id))
        try:
            chunks, _stat = container.get_archive(path)
            data = b"".join(chunks)
        except NotFound as exc:
            raise EnvironmentProblem(f"{path} does not exist in {container.name}",
                                     hint="the setup service may have failed: "
                                          "kmsdet sandbox logs setup") from exc
        except (APIError, requests.RequestException, DockerException) as exc:
            raise classify_connect_error(exc, self.host) from exc
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        return handle.read()
        raise EnvironmentProblem(f"{path} in {container.name} is not a regular file")

    def remove_project(self, project: str, volumes: bool = False, stop_timeout: int = 20,
                       on_step: Callable[[str], None] | None = None) -> DownReport:
        """Stop and remove the project's containers and networks; volumes only when asked."""
        step = on_step or (lambda _message: None)
        report = DownReport()
        label = {"label": f"{PROJECT_LABEL}={project}"}
        for container in self._call("list containers",
                                    lambda: self.client.containers.list(all=True, filters=label)):
            if container.status in ("running", "restarting", "paused"):
                step(f"stopping {container.name}")
                self._call(f"stop {container.name}", lambda c=container: c.stop(
                    timeout=stop_timeout))
            step(f"removing {container.name}")
            self._call(f"remove {container.name}", lambda c=container: c.remove())
            report.containers.append(container.name)
        for network in self._call("list networks", lambda: self.client.networks.list(
                filters=label)):
            step(f"removing network {network.name}")
            self._call(f"remove network {network.name}", network.remove)
            report.networks.append(network.name)
        if volumes:
            for volume in self._call("list volumes", lambda: self.client.volumes.list(
                    filters=label)):
                step(f"removing volume {volume.name}")
                self._call(f"remove volume {volume.name}", volume.remove)
                report.volumes.append(volume.name)
        return report


def _state(attrs: dict[str, Any]) -> ContainerState:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    health = (state.get("Health") or {}).get("Status")
    ports: list[PublishedPort] = []
    for spec, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        container_port = int(str(spec).split("/")[0])
        for binding in bindings or []:
            ports.append(PublishedPort(host_ip=str(binding.get("HostIp") or "0.0.0.0"),
                                       host_port=int(binding.get("HostPort") or 0),
                                       container_port=container_port))
    status = str(state.get("Status") or "unknown")
    return ContainerState(
        id=str(attrs.get("Id", "")),
        name=str(attrs.get("Name", "")).lstrip("/"),
        service=str(labels.get(SERVICE_LABEL, "?")),
        state=status,
        health=str(health) if health else None,
        exit_code=int(state["ExitCode"]) if status in ("exited", "dead") else None,
        ports=tuple(sorted(ports, key=lambda p: p.host_port)),
        image=str(config.get("Image", "")),
    )
