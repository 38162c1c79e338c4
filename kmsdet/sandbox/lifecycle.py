"""The sandbox commands as functions: up, status, logs, down, reset.

The CLI parses options and renders; everything it shows comes from the values returned here,
and every callback (progress, steps) is optional so tests can drive these without a terminal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from kmsdet.errors import EnvironmentProblem, UsageError
from kmsdet.sandbox import compose_cli, health, preflight
from kmsdet.sandbox.engine import ContainerState, DownReport, Engine
from kmsdet.sandbox.env import EnvChange, EnvFile, ensure_env, port_setting, read_env, redact
from kmsdet.sandbox.invariants import load_and_check
from kmsdet.sandbox.project import (
    CA_PATH_IN_ES,
    DEFAULT_PROJECT,
    ELASTICSEARCH,
    ONE_SHOT,
    SERVICES,
    SandboxPaths,
)
from kmsdet.sandbox.target import SandboxTarget, write_target

Step = Callable[[str], None]
EngineFactory = Callable[[Mapping[str, str]], Engine]


def _connect(environment: Mapping[str, str]) -> Engine:
    return Engine.connect(environment)


@dataclass(frozen=True)
class UpResult:
    target: SandboxTarget
    target_file: Path
    env_change: EnvChange
    services: list[health.ServiceProgress]


@dataclass(frozen=True)
class StatusReport:
    project: str
    services: list[health.ServiceProgress]
    containers: list[ContainerState]

    @property
    def ready(self) -> bool:
        return all(s.phase == "ready" for s in self.services)

    @property
    def running(self) -> bool:
        return bool(self.containers)


class Sandbox:
    """One sandbox: the files under ``paths`` and the compose project on the Docker daemon."""

    def __init__(self, paths: SandboxPaths, environment: Mapping[str, str] | None = None,
                 connect: EngineFactory = _connect, project: str | None = None) -> None:
        self.paths = paths
        self.environment = dict(os.environ if environment is None else environment)
        self._connect = connect
        self._project = project
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._connect(self.environment)
        return self._engine

    def env(self) -> EnvFile:
        return read_env(self.paths.env_file)

    def project(self, env: EnvFile | None = None) -> str:
        """-p wins, then COMPOSE_PROJECT_NAME from the environment or .env, as Compose does."""
        if self._project:
            return self._project
        env = env if env is not None else self.env()
        return (self.environment.get("COMPOSE_PROJECT_NAME")
                or env.get("COMPOSE_PROJECT_NAME") or DEFAULT_PROJECT)

    # -- up ------------------------------------------------------------------------------------

    def up(self, timeout: float = 600.0, skip_preflight: bool = False,
           on_progress: Callable[[list[health.ServiceProgress]], None] | None = None,
           on_step: Step | None = None, interval: float = 2.0,
           sleep: Callable[[float], None] | None = None) -> UpResult:
        step = on_step or (lambda _message: None)
        step(f"checking {self.paths.compose_file.name}")
        load_and_check(self.paths.compose_file)
        change = ensure_env(self.paths.env_file, self.paths.env_example)
        env = self.env()
        project = self.project(env)
        es_port, kibana_port = port_setting(env, "ES_PORT"), port_setting(env, "KIBANA_PORT")
        step("connecting to Docker")
        engine = self.engine
        if not skip_preflight:
            step("pre-flight checks: memory, vm.max_map_count, ports")
            self._preflight(engine, env, project, es_port, kibana_port)
        command = compose_cli.up_command(compose_cli.find_compose(self.environment), project,
                                         self.paths.compose_file, self.paths.env_file)
        log = self.paths.state_dir / "compose-up.log"
        compose = " ".join(command[:command.index("--project-name")])
        step(f"starting: {compose} up (output in {log})")
        process = compose_cli.start_up(command, self.paths.root, log)
        try:
            progress = health.wait_ready(
                lambda: engine.project_containers(project), SERVICES, ONE_SHOT, timeout,
                process=process, on_update=on_progress, interval=interval,
                process_output=lambda: redact(_read_text(log), env.secrets()),
                sleep=sleep or time.sleep)
        except BaseException:
            if process.poll() is None:
                process.terminate()
            raise
        process.wait()
        step("copying the CA certificate out of es01")
        ca_cert = self._copy_ca(engine, project)
        target = SandboxTarget.for_ports(es_port, kibana_port, self.paths.env_file, ca_cert,
                                         project)
        target_file = write_target(self.paths.target_file, target)
        return UpResult(target=target, target_file=target_file, env_change=change,
                        services=progress)

    def _preflight(self, engine: Engine, env: EnvFile, project: str, es_port: int,
                   kibana_port: int) -> None:
        info = engine.info()
        limits = {key: preflight.parse_size(env.get(key) or default, key)
                  for key, default in (("ES_MEM_LIMIT", "2g"), ("KIBANA_MEM_LIMIT", "2g"))}
        preflight.check_memory(info, limits)
        preflight.check_max_map_count(info)
        own = {p.host_port for c in engine.project_containers(project) for p in c.ports}
        preflight.check_ports(engine, info, [preflight.PortNeed("ES_PORT", es_port),
                                             preflight.PortNeed("KIBANA_PORT", kibana_port)],
                              own_ports=own)

    def _copy_ca(self, engine: Engine, project: str) -> Path:
        containers = [c for c in engine.project_containers(project)
                      if c.service == ELASTICSEARCH]
        if not containers:
            raise EnvironmentProblem(f"no {ELASTICSEARCH} container in project {project}",
                                     hint="kmsdet sandbox status")
        data = engine.read_file(containers[0].id, CA_PATH_IN_ES)
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise EnvironmentProblem(f"{CA_PATH_IN_ES} in {containers[0].name} is not a PEM "
                                     "certificate", hint="kmsdet sandbox reset")
        path = self.paths.ca_cert
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    # -- status, logs --------------------------------------------------------------------------

    def status(self) -> StatusReport:
        project = self.project()
        containers = self.engine.project_containers(project)
        services = list(SERVICES) + sorted({c.service for c in containers} - set(SERVICES))
        return StatusReport(project=project,
                            services=health.snapshot(services, ONE_SHOT, containers),
                            containers=containers)

    def logs(self, service: str | None = None, tail: int | None = 100, follow: bool = False,
             timestamps: bool = False) -> Iterator[str]:
        """Log lines prefixed with the service, with every .env secret masked."""
        env = self.env()
        containers = self.engine.project_containers(self.project(env))
        if service is not None:
            containers = [c for c in containers if c.service == service]
            if not containers:
                known = ", ".join(sorted({c.service for c in self.engine.project_containers(
                    self.project(env))})) or "none (is the sandbox up?)"
                raise UsageError(f"no sandbox service named '{service}'", field="SERVICE",
                                 hint=f"services: {known}")
        elif follow and len(containers) > 1:
            raise UsageError("--follow needs one SERVICE", field="--follow",
                             hint="e.g. kmsdet sandbox logs kibana --follow")
        secrets = env.secrets()
        width = max((len(c.service) for c in containers), default=0)
        for container in containers:
            pending = ""
            for chunk in self.engine.logs(container.id, tail=tail, follow=follow,
                                          timestamps=timestamps):
                pending += chunk.decode("utf-8", errors="replace")
                *lines, pending = pending.split("\n")
                for line in lines:
                    yield f"{container.service:<{width}} | {redact(line, secrets)}"
            if pending:
                yield f"{container.service:<{width}} | {redact(pending, secrets)}"

    # -- down, reset ---------------------------------------------------------------------------

    def down(self, volumes: bool = False, on_step: Step | None = None) -> DownReport:
        report = self.engine.remove_project(self.project(), volumes=volumes, on_step=on_step)
        if volumes:
            # The CA is gone with the certs volume; a stale copy would fail TLS checks later.
            self.paths.ca_cert.unlink(missing_ok=True)
        return report

    def reset(self, timeout: float = 600.0, skip_preflight: bool = False,
              on_progress: Callable[[list[health.ServiceProgress]], None] | None = None,
              on_step: Step | None = None) -> tuple[DownReport, UpResult]:
        """Wipe the data (containers, network, volumes, certificates) and start afresh.

        .env is kept: the passwords and encryption keys stay what they were.
        """
        report = self.down(volumes=True, on_step=on_step)
        return report, self.up(timeout=timeout, skip_preflight=skip_preflight,
                               on_progress=on_progress, on_step=on_step)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
