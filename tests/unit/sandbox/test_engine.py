"""The Docker SDK layer against the fake Engine API, including the ways a daemon can fail."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from kmsdet.errors import EXIT_ENVIRONMENT, EnvironmentProblem
from kmsdet.sandbox.engine import Engine, classify_connect_error
from tests.unit.sandbox.conftest import CA_PEM
from tests.unit.sandbox.fake_docker import FakeContainer, FakeDocker


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_project_containers_come_from_compose_labels(fake_docker: FakeDocker) -> None:
    fake_docker.add_project()
    fake_docker.containers.append(FakeContainer("web", project="other"))
    engine = Engine.connect({"DOCKER_HOST": fake_docker.url})
    states = engine.project_containers("kmsdet")
    assert [(s.service, s.state, s.health, s.exit_code) for s in states] == [
        ("es01", "running", "healthy", None),
        ("kibana", "running", "healthy", None),
        ("setup", "exited", "healthy", 0),
    ]
    assert [str(p) for p in states[0].ports] == ["127.0.0.1:9200->9200"]


def test_read_file_unpacks_the_archive(fake_docker: FakeDocker) -> None:
    fake_docker.add_project(ca=CA_PEM)
    engine = Engine.connect({"DOCKER_HOST": fake_docker.url})
    es = next(c for c in engine.project_containers("kmsdet") if c.service == "es01")
    path = "/usr/share/elasticsearch/config/certs/ca/ca.crt"
    assert engine.read_file(es.id, path) == CA_PEM
    with pytest.raises(EnvironmentProblem, match="does not exist"):
        engine.read_file(es.id, "/nope")


def test_remove_project_keeps_volumes_unless_asked(fake_docker: FakeDocker) -> None:
    fake_docker.add_project()
    engine = Engine.connect({"DOCKER_HOST": fake_docker.url})
    steps: list[str] = []
    report = engine.remove_project("kmsdet", on_step=steps.append)
    assert sorted(report.containers) == ["kmsdet-es01-1", "kmsdet-kibana-1", "kmsdet-setup-1"]
    assert report.networks == ["kmsdet_default"] and report.volumes == []
    assert "stopping kmsdet-es01-1" in steps and "stopping kmsdet-setup-1" not in steps
    assert fake_docker.containers == [] and len(fake_docker.volumes) == 3
    assert engine.remove_project("kmsdet", volumes=True).volumes == [
        "kmsdet_certs", "kmsdet_esdata01", "kmsdet_kibanadata"]
    assert fake_docker.unhandled == []


def test_daemon_down_is_an_environment_problem_with_a_hint() -> None:
    with pytest.raises(EnvironmentProblem) as caught:
        Engine.connect({"DOCKER_HOST": f"tcp://127.0.0.1:{_closed_port()}"})
    assert "not running" in caught.value.message
    assert "systemctl start docker" in (caught.value.hint or "")
    assert caught.value.exit_code == EXIT_ENVIRONMENT


def test_failed_ping_is_reported_as_an_unhealthy_daemon(fake_docker: FakeDocker) -> None:
    fake_docker.ping_status = 500
    with pytest.raises(EnvironmentProblem) as caught:
        Engine.connect({"DOCKER_HOST": fake_docker.url})
    assert "/_ping answered HTTP 500" in caught.value.message
    assert "restart" in (caught.value.hint or "")


def test_missing_socket_without_docker_cli_means_not_installed(tmp_path: Path) -> None:
    try:
        import docker

        docker.from_env(environment={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    except docker.errors.DockerException as exc:
        problem = classify_connect_error(exc, f"unix://{tmp_path}/none.sock",
                                         which=lambda _name: None)
        with_cli = classify_connect_error(exc, "unix:///x", which=lambda _n: "/usr/bin/docker")
    else:
        pytest.fail("connecting to a missing socket succeeded")
    assert problem.message.startswith("Docker is not installed")
    assert "install Docker Engine" in (problem.hint or "")
    assert "not running" in with_cli.message


def test_credentials_in_docker_host_are_never_shown() -> None:
    problem = classify_connect_error(ConnectionRefusedError(), "tcp://bob:hunter2@127.0.0.1:1")
    assert "hunter2" not in problem.render()


def test_containers_publishing_names_the_port_holder(fake_docker: FakeDocker) -> None:
    fake_docker.containers.append(FakeContainer("db", project="other",
                                                ports=[("0.0.0.0", 9200, 9200)]))
    engine = Engine.connect({"DOCKER_HOST": fake_docker.url})
    assert engine.containers_publishing(9200) == ["other-db-1"]
    assert engine.containers_publishing(5601) == []
