"""Fixtures: a copy of the sandbox files in a temp folder, the fake Docker Engine, and a stand-in
for the compose CLI that only records how it was called."""

from __future__ import annotations

import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.sandbox.fake_docker import FakeDocker

REPO = Path(__file__).resolve().parents[3]
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """The repository's compose file, setup script and .env.example, nothing else."""
    root = tmp_path / "checkout"
    (root / "sandbox").mkdir(parents=True)
    shutil.copy(REPO / "docker-compose.yml", root / "docker-compose.yml")
    shutil.copy(REPO / ".env.example", root / ".env.example")
    shutil.copy(REPO / "sandbox" / "setup.sh", root / "sandbox" / "setup.sh")
    return root


@pytest.fixture
def fake_docker() -> Iterator[FakeDocker]:
    with FakeDocker() as fake:
        yield fake


@pytest.fixture
def fake_compose(tmp_path: Path) -> tuple[str, Path]:
    """(command, record file): a script standing in for `docker compose`. It records its
    arguments and, for `up`, tells the fake daemon (which then runs its on_compose_up)."""
    record = tmp_path / "compose-args.txt"
    script = tmp_path / "fake-compose"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, urllib.request\n"
        f"open({str(record)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "if 'version' in sys.argv[1:]:\n"
        "    print('Docker Compose version v2.40.3')\n"
        "if 'up' in sys.argv[1:]:\n"
        "    host = os.environ['DOCKER_HOST'].replace('tcp://', 'http://')\n"
        "    urllib.request.urlopen(urllib.request.Request(host + '/_fake/compose-up',\n"
        "                                                  method='POST'))\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), record


@pytest.fixture
def sandbox_env(fake_docker: FakeDocker, fake_compose: tuple[str, Path]) -> dict[str, str]:
    """Process environment for the code under test: the fake daemon and fake compose."""
    return {"DOCKER_HOST": fake_docker.url, "KMSDET_COMPOSE": fake_compose[0],
            "PATH": "/usr/bin:/bin", "HOME": str(Path(fake_compose[0]).parent)}
