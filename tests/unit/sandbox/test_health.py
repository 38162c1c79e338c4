"""wait_ready: ready when setup completed and the daemons are healthy; fails fast otherwise."""

from __future__ import annotations

import pytest

from kmsdet.errors import EnvironmentProblem
from kmsdet.sandbox.engine import ContainerState
from kmsdet.sandbox.health import service_progress, wait_ready

SERVICES = ("setup", "es01", "kibana")
ONE_SHOT = frozenset({"setup"})


def _c(service: str, state: str = "running", health: str | None = "healthy",
       code: int | None = None) -> ContainerState:
    return ContainerState(id=service, name=service, service=service, state=state, health=health,
                          exit_code=code)


@pytest.mark.parametrize(("container", "one_shot", "phase", "detail"), [
    (None, False, "waiting", "not created yet"),
    (_c("setup", "exited", code=0), True, "ready", "completed"),
    (_c("setup", "exited", code=1), True, "failed", "exited with code 1"),
    (_c("setup", "running"), True, "starting", "running"),
    (_c("es01", health="starting"), False, "starting", "running, health starting"),
    (_c("es01"), False, "ready", "healthy"),
    (_c("es01", health="unhealthy"), False, "failed", "unhealthy"),
    (_c("es01", "exited", code=137), False, "failed", "exited with code 137 (out of memory?)"),
    (_c("kibana", "created", None), False, "starting", "created"),
])
def test_service_progress(container, one_shot, phase, detail) -> None:
    progress = service_progress("x", container, one_shot)
    assert (progress.phase, progress.detail) == (phase, detail)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_waits_through_starting_until_ready() -> None:
    rounds = iter([
        [_c("setup", "running")],
        [_c("setup", "exited", code=0), _c("es01", health="starting")],
        [_c("setup", "exited", code=0), _c("es01"), _c("kibana")],
    ])
    clock, seen = _Clock(), []
    result = wait_ready(lambda: next(rounds), SERVICES, ONE_SHOT, timeout=60,
                        on_update=lambda p: seen.append([x.phase for x in p]),
                        clock=clock, sleep=clock.sleep)
    assert [p.phase for p in result] == ["ready"] * 3
    assert seen[0] == ["starting", "waiting", "waiting"]
    assert len(seen) == 3


def test_unhealthy_service_fails_at_once_naming_its_logs() -> None:
    clock = _Clock()
    with pytest.raises(EnvironmentProblem) as caught:
        wait_ready(lambda: [_c("setup", "exited", code=0), _c("es01", health="unhealthy")],
                   SERVICES, ONE_SHOT, timeout=600, clock=clock, sleep=clock.sleep)
    assert caught.value.message == "sandbox service es01 unhealthy"
    assert caught.value.hint == "see kmsdet sandbox logs es01"
    assert clock.now == 0


def test_timeout_lists_what_is_not_ready() -> None:
    clock = _Clock()
    with pytest.raises(EnvironmentProblem) as caught:
        wait_ready(lambda: [_c("setup", "exited", code=0), _c("es01", health="starting")],
                   SERVICES, ONE_SHOT, timeout=10, clock=clock, sleep=clock.sleep)
    assert "not ready after 10s" in caught.value.message
    assert "es01 (running, health starting)" in caught.value.message
    assert "kibana (not created yet)" in caught.value.message


class _Process:
    def __init__(self, code: int | None) -> None:
        self.code = code

    def poll(self) -> int | None:
        return self.code


def test_failed_compose_up_reports_its_last_output_lines() -> None:
    clock = _Clock()
    with pytest.raises(EnvironmentProblem) as caught:
        wait_ready(lambda: [], SERVICES, ONE_SHOT, timeout=60, process=_Process(1),
                   process_output=lambda: "pulling\nError: port is already allocated\n",
                   clock=clock, sleep=clock.sleep)
    assert caught.value.message.startswith("docker compose up failed (exit 1)")
    assert "port is already allocated" in caught.value.message


def test_ready_containers_still_wait_for_compose_to_finish() -> None:
    clock, process = _Clock(), _Process(None)
    ready = [_c("setup", "exited", code=0), _c("es01"), _c("kibana")]

    def poll() -> list[ContainerState]:
        if clock.now >= 4:
            process.code = 0
        return ready

    wait_ready(poll, SERVICES, ONE_SHOT, timeout=60, process=process, interval=2, clock=clock,
               sleep=clock.sleep)
    assert clock.now == 0.25 + 0.5 + 1 + 2 + 2  # backing off from 0.25 s to the interval
