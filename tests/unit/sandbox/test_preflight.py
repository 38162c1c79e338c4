"""Pre-flight checks: each problem Elasticsearch would hit later is caught up front."""

from __future__ import annotations

import pytest

from kmsdet.errors import EnvironmentProblem, InputError
from kmsdet.sandbox.engine import Engine, EngineInfo
from kmsdet.sandbox.preflight import (
    PortNeed,
    check_max_map_count,
    check_memory,
    check_ports,
    parse_size,
)
from tests.unit.sandbox.fake_docker import FakeContainer, FakeDocker

GIB = 1024**3


def _info(mem: int = 16 * GIB, os_type: str = "linux", system: str = "Debian",
          host: str = "unix:///var/run/docker.sock") -> EngineInfo:
    return EngineInfo("27.0", "1.45", os_type, system, mem, host)


@pytest.mark.parametrize(("text", "size"), [
    ("2g", 2 * GIB), ("1536m", 1536 * 1024**2), ("1073741824", GIB), ("1.5G", int(1.5 * GIB)),
    ("512mb", 512 * 1024**2),
])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_parse_size_rejects_nonsense() -> None:
    with pytest.raises(InputError):
        parse_size("lots", "ES_MEM_LIMIT")


def test_memory_too_low() -> None:
    check_memory(_info(mem=8 * GIB), {"ES_MEM_LIMIT": 2 * GIB, "KIBANA_MEM_LIMIT": 2 * GIB})
    with pytest.raises(EnvironmentProblem) as caught:
        check_memory(_info(mem=4 * GIB), {"ES_MEM_LIMIT": 2 * GIB, "KIBANA_MEM_LIMIT": 2 * GIB})
    assert "needs about 4.5 GiB" in caught.value.message
    assert "ES_MEM_LIMIT" in (caught.value.hint or "")


@pytest.mark.parametrize(("info", "value", "fails"), [
    (_info(), 65530, True),
    (_info(), 262144, False),
    (_info(), None, False),  # unreadable: nothing to say
    (_info(system="Docker Desktop"), 65530, False),  # the VM has its own value
    (_info(host="tcp://build-host.example:2376"), 65530, False),  # remote daemon
    (_info(os_type="windows"), 65530, False),
])
def test_max_map_count(info: EngineInfo, value: int | None, fails: bool) -> None:
    if fails:
        with pytest.raises(EnvironmentProblem) as caught:
            check_max_map_count(info, read=lambda: value)
        assert "sysctl -w vm.max_map_count=262144" in (caught.value.hint or "")
    else:
        check_max_map_count(info, read=lambda: value)


def test_port_taken_by_a_container_names_it(fake_docker: FakeDocker) -> None:
    fake_docker.containers.append(FakeContainer("db", project="other",
                                                ports=[("0.0.0.0", 9200, 9200)]))
    engine = Engine.connect({"DOCKER_HOST": fake_docker.url})
    with pytest.raises(EnvironmentProblem) as caught:
        check_ports(engine, _info(), [PortNeed("ES_PORT", 9200)], own_ports=set(),
                    in_use=lambda _port: True)
    assert caught.value.message == "port 9200 on 127.0.0.1 is already in use by container " \
                                   "other-db-1"
    assert caught.value.field == "ES_PORT"
    assert "ES_PORT=9201" in (caught.value.hint or "")


def test_port_taken_by_another_program_and_own_ports(fake_docker: FakeDocker) -> None:
    engine = Engine.connect({"DOCKER_HOST": fake_docker.url})
    with pytest.raises(EnvironmentProblem, match="another program"):
        check_ports(engine, _info(), [PortNeed("KIBANA_PORT", 5601)], own_ports=set(),
                    in_use=lambda port: port == 5601)
    # The sandbox's own running containers hold their ports: no conflict on a second `up`.
    check_ports(engine, _info(), [PortNeed("KIBANA_PORT", 5601)], own_ports={5601},
                in_use=lambda _port: True)
