"""Checks before `up` that turn Elasticsearch's obscure start-up failures into clear advice.

Without them a too-small Docker VM shows up as es01 "exited with code 137" minutes later, and a
taken port as a compose error about a bind; here each becomes an EnvironmentProblem that says
what to change.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kmsdet.errors import EnvironmentProblem, InputError
from kmsdet.sandbox.engine import Engine, EngineInfo

MIN_MAX_MAP_COUNT = 262144  # Elasticsearch's bootstrap-check value
HEADROOM = 512 * 1024**2  # for the daemon itself and the setup job
MAX_MAP_COUNT_FILE = Path("/proc/sys/vm/max_map_count")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class PortNeed:
    setting: str  # the .env key that moves it, e.g. ES_PORT
    port: int


def parse_size(text: str, setting: str = "") -> int:
    """Docker's size syntax (2g, 1536m, 1073741824) in bytes."""
    match = _SIZE.match(text)
    if not match:
        raise InputError(f"{setting or 'size'} is not a size: {text!r}", field=setting or None,
                         hint="write it as Docker does: 512m, 2g")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _gib(size: int) -> str:
    return f"{size / 1024**3:.1f} GiB"


def check_memory(info: EngineInfo, limits: dict[str, int]) -> None:
    need = sum(limits.values()) + HEADROOM
    if info.mem_total and info.mem_total < need:
        parts = " + ".join(f"{k}={_gib(v)}" for k, v in limits.items())
        raise EnvironmentProblem(
            f"Docker has {_gib(info.mem_total)} of memory; the sandbox needs about "
            f"{_gib(need)} ({parts} + headroom)",
            hint="give Docker more memory (Docker Desktop: Settings > Resources), or lower "
                 "ES_MEM_LIMIT / KIBANA_MEM_LIMIT in .env (not below 1g each)")


def read_max_map_count(path: Path = MAX_MAP_COUNT_FILE) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def check_max_map_count(info: EngineInfo,
                        read: Callable[[], int | None] = read_max_map_count) -> None:
    """Only meaningful for a local Linux daemon: Docker Desktop's VM sets its own value."""
    if info.os_type != "linux" or info.is_desktop or not info.is_local:
        return
    value = read()
    if value is not None and value < MIN_MAX_MAP_COUNT:
        raise EnvironmentProblem(
            f"vm.max_map_count is {value}; Elasticsearch needs at least {MIN_MAX_MAP_COUNT}",
            field="vm.max_map_count",
            hint=f"sudo sysctl -w vm.max_map_count={MIN_MAX_MAP_COUNT} (and add "
                 f"vm.max_map_count={MIN_MAX_MAP_COUNT} to /etc/sysctl.d/99-elasticsearch.conf "
                 "to keep it after a reboot)")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def check_ports(engine: Engine, info: EngineInfo, needs: Iterable[PortNeed],
                own_ports: set[int], in_use: Callable[[int], bool] = port_in_use) -> None:
    """A port is a conflict when something other than this sandbox already holds it."""
    for need in needs:
        if need.port in own_ports:
            continue
        users = engine.containers_publishing(need.port)
        taken = bool(users) or (info.is_local and in_use(need.port))
        if not taken:
            continue
        who = f"container {', '.join(users)}" if users else "another program"
        raise EnvironmentProblem(
            f"port {need.port} on 127.0.0.1 is already in use by {who}",
            field=need.setting,
            hint=(f"stop it (docker stop {users[0]}), " if users else "stop that program, ")
            + f"or set {need.setting}={need.port + 1} in .env")
