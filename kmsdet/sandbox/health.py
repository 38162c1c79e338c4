"""Waiting until the sandbox is usable: setup finished, es01 and kibana healthy.

Docker's own healthchecks (in docker-compose.yml) decide health; this loop only reads them
through the SDK, reports progress through a callback (the CLI draws it with rich) and fails
early, with the service to look at, as soon as something can no longer become ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kmsdet.errors import EnvironmentProblem
from kmsdet.sandbox.engine import ContainerState


class Process(Protocol):
    def poll(self) -> int | None: ...


@dataclass(frozen=True)
class ServiceProgress:
    service: str
    phase: str  # waiting, starting, ready, failed
    detail: str


def service_progress(service: str, container: ContainerState | None,
                     one_shot: bool) -> ServiceProgress:
    """Where one service stands; a one-shot job is ready when it has exited 0."""
    if container is None:
        return ServiceProgress(service, "waiting", "not created yet")
    if one_shot:
        if container.state == "exited":
            if container.exit_code == 0:
                return ServiceProgress(service, "ready", "completed")
            return ServiceProgress(service, "failed", f"exited with code {container.exit_code}")
        return ServiceProgress(service, "starting", container.state)
    if container.state in ("exited", "dead"):
        code = container.exit_code
        why = " (out of memory?)" if code == 137 else ""
        return ServiceProgress(service, "failed", f"exited with code {code}{why}")
    if container.state != "running":
        return ServiceProgress(service, "starting", container.state)
    if container.health == "healthy":
        return ServiceProgress(service, "ready", "healthy")
    if container.health == "unhealthy":
        return ServiceProgress(service, "failed", "unhealthy")
    return ServiceProgress(service, "starting", f"running, health {container.health or '?'}")


def snapshot(services: Sequence[str], one_shot: frozenset[str],
             containers: Sequence[ContainerState]) -> list[ServiceProgress]:
    by_service = {c.service: c for c in containers}
    return [service_progress(s, by_service.get(s), s in one_shot) for s in services]


def wait_ready(poll: Callable[[], Sequence[ContainerState]], services: Sequence[str],
               one_shot: frozenset[str], timeout: float, process: Process | None = None,
               process_output: Callable[[], str] = lambda: "",
               on_update: Callable[[list[ServiceProgress]], None] | None = None,
               interval: float = 2.0, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> list[ServiceProgress]:
    """Poll until every service is ready; raise EnvironmentProblem on failure or timeout.

    Polls start fast (a restarted, already-healthy stack is seen at once) and back off to
    ``interval`` so a first start that pulls images does not hammer the daemon.
    """
    deadline = clock() + timeout
    delay = min(0.25, interval)
    while True:
        progress = snapshot(services, one_shot, poll())
        if on_update is not None:
            on_update(progress)
        failed = [p for p in progress if p.phase == "failed"]
        if failed:
            first = failed[0]
            raise EnvironmentProblem(f"sandbox service {first.service} {first.detail}",
                                     field=first.service,
                                     hint=f"see kmsdet sandbox logs {first.service}")
        code = process.poll() if process is not None else 0
        if code not in (None, 0):
            tail = "\n".join(process_output().strip().splitlines()[-5:])
            raise EnvironmentProblem(f"docker compose up failed (exit {code}): {tail}",
                                     hint="fix the error above, then run kmsdet sandbox up "
                                          "again")
        if code == 0 and all(p.phase == "ready" for p in progress):
            return progress
        if clock() >= deadline:
            pending = ", ".join(f"{p.service} ({p.detail})" for p in progress
                                if p.phase != "ready")
            raise EnvironmentProblem(
                f"the sandbox was not ready after {timeout:.0f}s: {pending or 'compose up'}",
                hint="first start downloads the images and can take minutes: rerun with a "
                     "larger --timeout, or see kmsdet sandbox logs SERVICE")
        sleep(delay)
        delay = min(delay * 2, interval)
