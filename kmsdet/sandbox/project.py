"""Where the sandbox's files live, and the names the compose file and the code agree on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kmsdet.errors import UsageError

COMPOSE_FILE = "docker-compose.yml"
ENV_FILE = ".env"
ENV_EXAMPLE = ".env.example"
DEFAULT_PROJECT = "kmsdet"

# Service names in docker-compose.yml; the invariant checks and the health wait rely on them.
SETUP = "setup"
ELASTICSEARCH = "es01"
KIBANA = "kibana"
SERVICES = (SETUP, ELASTICSEARCH, KIBANA)
ONE_SHOT = frozenset({SETUP})

# Where the setup service leaves the CA certificate, as seen inside the es01 container.
CA_PATH_IN_ES = "/usr/share/elasticsearch/config/certs/ca/ca.crt"

TARGET_NAME = "sandbox"


@dataclass(frozen=True)
class SandboxPaths:
    """Every file the sandbox reads or writes, anchored at the folder of docker-compose.yml."""

    root: Path
    compose_file: Path

    @property
    def env_file(self) -> Path:
        return self.root / ENV_FILE

    @property
    def env_example(self) -> Path:
        return self.root / ENV_EXAMPLE

    @property
    def state_dir(self) -> Path:
        return self.root / ".kmsdet" / "sandbox"

    @property
    def ca_cert(self) -> Path:
        return self.state_dir / "ca.crt"

    @property
    def target_file(self) -> Path:
        return self.root / ".kmsdet" / "targets" / f"{TARGET_NAME}.toml"


def locate(start: Path | None = None, compose_file: Path | None = None,
           required: bool = True) -> SandboxPaths:
    """Find docker-compose.yml in ``start`` or a parent, as ``docker compose`` itself does.

    With ``required=False`` a missing file is not an error (status, logs and down only need
    container labels) and the paths are anchored at ``start``.
    """
    start = (start or Path.cwd()).resolve()
    if compose_file is not None:
        path = compose_file if compose_file.is_absolute() else start / compose_file
        if not path.is_file():
            raise UsageError(f"compose file not found: {path}", field="--compose-file",
                             hint="pass the path of the kmsdet docker-compose.yml")
        return SandboxPaths(root=path.parent, compose_file=path)
    for folder in (start, *start.parents):
        candidate = folder / COMPOSE_FILE
        if candidate.is_file():
            return SandboxPaths(root=folder, compose_file=candidate)
    if required:
        raise UsageError(f"no {COMPOSE_FILE} in {start} or any parent folder",
                         field="--project-dir",
                         hint="run from the kmsdet checkout, or pass --project-dir / "
                              "--compose-file")
    return SandboxPaths(root=start, compose_file=start / COMPOSE_FILE)
