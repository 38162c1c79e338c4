"""`kmsdet sandbox ...` end to end: Typer -> kmsdet.sandbox -> Docker SDK -> fake Engine API.

Only the compose CLI is a stand-in (it records its arguments); status, logs, down and the
waiting, CA copy and target writing in up all go through the real SDK over HTTP.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest
from typer.testing import CliRunner

from kmsdet.cli.sandbox import app
from kmsdet.errors import EXIT_ENVIRONMENT, EnvironmentProblem, UsageError
from kmsdet.sandbox.env import SECRET_KEYS, read_env
from tests.unit.sandbox.conftest import CA_PEM
from tests.unit.sandbox.fake_docker import FakeContainer, FakeDocker

runner = CliRunner()


def _run(args: list[str], env: dict[str, str], cwd: Path):
    return runner.invoke(app, [*args, "--project-dir", str(cwd)], env=env)


@pytest.fixture
def desktop(fake_docker: FakeDocker) -> FakeDocker:
    """A daemon whose vm.max_map_count is not the host's (so the test machine's is not read)."""
    fake_docker.operating_system = "Docker Desktop"
    return fake_docker


def test_status_ready(fake_docker, sandbox_env, project_dir) -> None:
    fake_docker.add_project()
    result = _run(["status"], sandbox_env, project_dir)
    assert result.exit_code == 0, result.output
    assert "kibana" in result.output and "healthy" in result.output
    assert "failed" not in result.output


def test_status_json_and_unhealthy_exit_1(fake_docker, sandbox_env, project_dir) -> None:
    fake_docker.add_project(kibana_health=["unhealthy"])
    result = _run(["status", "--format", "json"], sandbox_env, project_dir)
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["ready"] is False
    assert {"service": "kibana", "phase": "failed", "detail": "unhealthy"} in payload["services"]
    es = next(c for c in payload["containers"] if c["service"] == "es01")
    assert es["ports"] == ["127.0.0.1:9200->9200"]


def test_status_when_nothing_runs(fake_docker, sandbox_env, project_dir) -> None:
    result = _run(["status"], sandbox_env, project_dir)
    assert result.exit_code == 1
    assert "is not running" in result.output


def test_logs_are_prefixed_and_secrets_masked(fake_docker, sandbox_env, project_dir) -> None:
    (project_dir / ".env").write_text("ELASTIC_PASSWORD=Sup3r-secret-pw\n")
    fake_docker.add_project()
    es = fake_docker.find("kmsdet-es01-1")
    assert es is not None
    es.logs = [(1, "line one\n"), (2, "auth with Sup3r-secret-pw failed\n"), (1, "partial")]
    result = _run(["logs", "es01", "--tail", "0"], sandbox_env, project_dir)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "es01 | line one", "es01 | auth with ******** failed", "es01 | partial"]
    assert fake_docker.unhandled == []


def test_logs_of_all_services_and_unknown_service(fake_docker, sandbox_env,
                                                  project_dir) -> None:
    fake_docker.add_project()
    result = _run(["logs"], sandbox_env, project_dir)
    assert "kibana | Kibana is now available" in result.output
    assert "setup  | setup: done" in result.output
    result = _run(["logs", "nope"], sandbox_env, project_dir)
    assert isinstance(result.exception, UsageError)
    assert "es01" in (result.exception.hint or "")


def test_down_removes_containers_and_network_but_keeps_data(fake_docker, sandbox_env,
                                                            project_dir) -> None:
    fake_docker.add_project()
    result = _run(["down"], sandbox_env, project_dir)
    assert result.exit_code == 0, result.output
    assert "removed 3 containers, 1 networks, 0 volumes" in result.output
    assert fake_docker.containers == [] and fake_docker.networks == []
    assert len(fake_docker.volumes) == 3
    again = _run(["down"], sandbox_env, project_dir)
    assert "nothing to remove" in again.output


def test_down_with_daemon_gone_is_exit_3(sandbox_env, project_dir) -> None:
    env = {**sandbox_env, "DOCKER_HOST": "tcp://127.0.0.1:9"}
    result = _run(["down"], env, project_dir)
    assert isinstance(result.exception, EnvironmentProblem)
    assert result.exception.exit_code == EXIT_ENVIRONMENT
    assert "not running" in result.exception.message


def test_up_end_to_end(desktop, sandbox_env, fake_compose, project_dir) -> None:
    desktop.add_project(ca=CA_PEM, kibana_health=["starting", "healthy"])
    result = _run(["up", "--timeout", "30"], sandbox_env, project_dir)
    assert result.exit_code == 0, result.output

    env_file = project_dir / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    secrets = read_env(env_file).secrets()
    assert len(secrets) == len(SECRET_KEYS)
    assert not any(s in result.output for s in secrets)

    calls = fake_compose[1].read_text().splitlines()
    assert calls == [f"--project-name kmsdet --file {project_dir / 'docker-compose.yml'} "
                     f"--env-file {env_file} up --detach --remove-orphans"]

    ca = project_dir / ".kmsdet" / "sandbox" / "ca.crt"
    assert ca.read_bytes() == CA_PEM
    target_file = project_dir / ".kmsdet" / "targets" / "sandbox.toml"
    assert stat.S_IMODE(target_file.stat().st_mode) == 0o600
    target = tomllib.loads(target_file.read_text())
    assert target["targets"]["sandbox"] == {
        "url": "https://127.0.0.1:5601", "space": "default", "user": "elastic",
        "password_env": "ELASTIC_PASSWORD", "password_env_file": str(env_file.resolve()),
        "ca_cert": str(ca), "elasticsearch_url": "https://127.0.0.1:9200"}
    assert not any(s in target_file.read_text() for s in secrets)
    # `--target sandbox` now works with no other option: the password comes from .env.
    from kmsdet.config import TargetOptions, resolve_target

    cwd = os.getcwd()
    os.chdir(project_dir)
    try:
        resolved = resolve_target(TargetOptions(target="sandbox"), env={},
                                  config_paths=[])
    finally:
        os.chdir(cwd)
    assert resolved.password is not None and resolved.password.reveal() in secrets
    assert resolved.elasticsearch_url == "https://127.0.0.1:9200"
    assert "sandbox -> " in result.output and "https://127.0.0.1:5601" in result.output
    assert desktop.unhandled == []


def test_up_refuses_a_port_held_by_another_container(desktop, sandbox_env,
                                                     project_dir) -> None:
    desktop.containers.append(FakeContainer("es", project="elk", ports=[("0.0.0.0", 9200,
                                                                         9200)]))
    result = _run(["up"], sandbox_env, project_dir)
    assert isinstance(result.exception, EnvironmentProblem)
    assert result.exception.message == ("port 9200 on 127.0.0.1 is already in use by "
                                         "container elk-es-1")


def test_up_refuses_too_little_memory(desktop, sandbox_env, project_dir) -> None:
    desktop.mem_total = 3 * 1024**3
    result = _run(["up"], sandbox_env, project_dir)
    assert isinstance(result.exception, EnvironmentProblem)
    assert "Docker has 3.0 GiB of memory" in result.exception.message


def test_up_fails_fast_on_an_unhealthy_service(desktop, sandbox_env, project_dir) -> None:
    desktop.add_project(ca=CA_PEM, es_health=["unhealthy"])
    result = _run(["up"], sandbox_env, project_dir)
    assert isinstance(result.exception, EnvironmentProblem)
    assert result.exception.message == "sandbox service es01 unhealthy"
    assert not (project_dir / ".kmsdet" / "targets" / "sandbox.toml").exists()


def test_up_reports_a_failing_ping(desktop, sandbox_env, project_dir) -> None:
    desktop.ping_status = 500
    result = _run(["up"], sandbox_env, project_dir)
    assert isinstance(result.exception, EnvironmentProblem)
    assert "/_ping answered HTTP 500" in result.exception.message


def test_up_refuses_a_compose_file_that_breaks_an_invariant(sandbox_env, project_dir) -> None:
    compose = project_dir / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("127.0.0.1:${ES_PORT", "${ES_PORT"))
    result = _run(["up"], sandbox_env, project_dir)
    assert result.exception is not None and result.exception.file == str(compose)
    assert "not bound to 127.0.0.1" in result.exception.message


def test_reset_wipes_volumes_and_starts_again(desktop, sandbox_env, project_dir) -> None:
    desktop.add_project(ca=CA_PEM)
    old_ids = {c.id for c in desktop.containers}
    result = runner.invoke(app, ["reset", "--project-dir", str(project_dir)], env=sandbox_env,
                           input="n\n")
    assert result.exit_code == 1  # declined: nothing touched
    assert {c.id for c in desktop.containers} == old_ids and len(desktop.volumes) == 3
    removed: list[int] = []

    def compose_up() -> None:  # compose recreates everything, fresh and empty
        removed.append(len(desktop.volumes))
        desktop.add_project(ca=CA_PEM)

    desktop.on_compose_up = compose_up
    result = _run(["reset", "--yes"], sandbox_env, project_dir)
    assert result.exit_code == 0, result.output
    assert removed == [0]  # every volume was gone before compose ran again
    assert len(desktop.volumes) == 3 and (project_dir / ".kmsdet/sandbox/ca.crt").is_file()


def test_every_command_has_an_example_in_its_help() -> None:
    for command in ("up", "down", "status", "reset", "logs"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: kmsdet sandbox" in result.output
