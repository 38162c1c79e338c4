"""Starting the stack with the compose CLI, the one step not done through the Docker SDK.

`up` is Compose's own job: interpolating .env, creating the network and named volumes in the
right order, honouring depends_on conditions (setup healthy, then completed) and recreating
containers whose configuration changed. Re-implementing that over the SDK would be a second,
diverging Compose. So `up` runs `docker compose up --detach` in the background and watches the
containers through the SDK meanwhile; every other command works from labels through the SDK.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kmsdet.errors import EnvironmentProblem

ENV_COMMAND = "KMSDET_COMPOSE"  # e.g. "docker-compose"; tests point it at a stand-in


def _works(command: Sequence[str]) -> bool:
    try:
        result = subprocess.run([*command, "version"], capture_output=True, text=True,
                                timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and "v1." not in result.stdout.split("\n")[0]


def find_compose(environment: Mapping[str, str] | None = None,
                 which: Callable[[str], str | None] = shutil.which,
                 works: Callable[[Sequence[str]], bool] = _works) -> list[str]:
    """The compose v2 command: $KMSDET_COMPOSE, `docker compose`, or `docker-compose`."""
    env = os.environ if environment is None else environment
    if env.get(ENV_COMMAND):
        return shlex.split(env[ENV_COMMAND])
    candidates: list[list[str]] = []
    if which("docker"):
        candidates.append(["docker", "compose"])
    if which("docker-compose"):
        candidates.append(["docker-compose"])
    for command in candidates:
        if works(command):
            return command
    raise EnvironmentProblem(
        "Docker Compose v2 is not installed (neither `docker compose` nor `docker-compose`)",
        hint="install the compose plugin (Debian/Ubuntu: apt-get install docker-compose-plugin; "
             "Docker Desktop ships it), or set KMSDET_COMPOSE to its command")


def up_command(compose: Sequence[str], project: str, compose_file: Path,
               env_file: Path) -> list[str]:
    return [*compose, "--project-name", project, "--file", str(compose_file),
            "--env-file", str(env_file), "up", "--detach", "--remove-orphans"]


def start_up(command: Sequence[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """Run compose up in the background, its output going to a file (a pipe nobody reads
    while we poll could fill up and stall compose); the file feeds the error message."""
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("wb") as handle:
            return subprocess.Popen(list(command), cwd=cwd, stdout=handle,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot run {command[0]}: {exc.strerror}",
                                 hint="check that Docker Compose v2 is installed") from exc
