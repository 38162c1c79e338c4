"""No credential kmsdet sent is ever printed, in any form, even when a server echoes it back.

Every command that talks to a service runs through the real entry point against doubles that
echo the request headers (Authorization included) in their error answers; all of stdout,
stderr and the report files are scanned for every form of every credential.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.contract.es_echo_double import EsEchoDouble
from tests.contract.kibana_double import Fault, KibanaDouble

pytestmark = pytest.mark.contract
REPO = Path(__file__).resolve().parents[2]
RULES = str(REPO / "rules" / "aws_kms")

API_KEY_ID, API_KEY_SECRET = "VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw"
API_KEY = base64.b64encode(f"{API_KEY_ID}:{API_KEY_SECRET}".encode()).decode()  # as Elastic
USER, PASSWORD = "deployer", "Pa55-w0rd-Never-Print"
ES_USER, ES_PASSWORD = "elastic", "Es-Pa55w0rd-Hidden-77"
ES_API_KEY = "es-key-id:Es-ApiKey-Secret-0123"


def forms(secret: str, user: str | None = None) -> list[str]:
    """The forms a credential takes on the wire and back."""
    out = [secret]
    if user is not None:
        out.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
        out.append(f"{user}:{secret}")
    if ":" in secret:
        out += [secret.split(":", 1)[1], base64.b64encode(secret.encode()).decode()]
    return out


FORBIDDEN = [*forms(API_KEY), API_KEY_SECRET, f"{API_KEY_ID}:{API_KEY_SECRET}",
             *forms(PASSWORD, USER), *forms(ES_PASSWORD, ES_USER), *forms(ES_API_KEY)]


@dataclass
class Run:
    args: list[str]
    output: str


@pytest.fixture
def echo_es() -> Iterator[EsEchoDouble]:
    double = EsEchoDouble().start()
    yield double
    double.stop()


def kibana_double(echo_path: str = "", status: int = 500) -> KibanaDouble:
    double = KibanaDouble()
    double.add_api_key(API_KEY)
    double.add_user(USER, PASSWORD)
    double.faults.append(Fault("echo", path=echo_path, status=status, times=1000))
    return double.start()


def kmsdet(args: list[str], cwd: Path, env: dict[str, str]) -> Run:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KMSDET_")}
    result = subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                            text=True, cwd=cwd, timeout=180,
                            env={**base, "KMSDET_CONFIG": str(cwd / "none.toml"), **env})
    files = "".join(p.read_text(errors="replace") for p in cwd.rglob("*") if p.is_file())
    return Run(args, result.stdout + result.stderr + files)


def assert_masked(*runs: Run) -> None:
    for run in runs:
        for secret in FORBIDDEN:
            assert secret not in run.output, f"{run.args}: printed {secret!r}:\n{run.output}"
    # The scan means something only if the echoed header reached the output (masked).
    assert any("echo: " in r.output and "********" in r.output for r in runs), \
        "\n".join(r.output for r in runs)


KIBANA_AUTH = {
    "api key": {"KMSDET_KIBANA_API_KEY": API_KEY},
    "basic": {"KMSDET_KIBANA_USER": USER, "KMSDET_KIBANA_PASSWORD": PASSWORD},
}
ES_AUTH = {
    "api key": {"KMSDET_ES_API_KEY": ES_API_KEY},
    "basic": {"KMSDET_ES_USER": ES_USER, "KMSDET_ES_PASSWORD": ES_PASSWORD},
}


@pytest.mark.parametrize("auth", sorted(KIBANA_AUTH))
@pytest.mark.parametrize(("echo_path", "status"), [
    ("", 500),            # every request: the preflight fails with the echo
    ("/privileges", 500),
    ("/_import", 500),    # the plan succeeds, the import fails rule by rule
    ("/_find", 400),
])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_deploy_and_pull_mask_echoed_credentials(tmp_path: Path, auth: str, echo_path: str,
                                                 status: int, fmt: str) -> None:
    double = kibana_double(echo_path, status)
    env = {"KMSDET_KIBANA_URL": double.url, **KIBANA_AUTH[auth]}
    try:
        assert_masked(*(kmsdet([*args, "--format", fmt], tmp_path, env)
                        for args in (["deploy", RULES], ["deploy", RULES, "--plan"],
                                     ["pull", "--output", "pulled"])))
    finally:
        double.stop()


@pytest.mark.parametrize("auth", sorted(ES_AUTH))
@pytest.mark.parametrize("echo_root", [False, True])
def test_elasticsearch_commands_mask_echoed_credentials(tmp_path: Path, auth: str,
                                                        echo_root: bool) -> None:
    double = EsEchoDouble(status=500, echo_root=echo_root).start()
    env = {"KMSDET_ES_URL": double.url, **ES_AUTH[auth]}
    try:
        assert_masked(*(kmsdet(args, tmp_path, env) for args in (
            ["seed", RULES], ["seed", RULES, "--format", "json"],
            ["test", RULES, "--backend", "elasticsearch", "--junit", "j.xml"],
            ["test", RULES, "--backend", "elasticsearch", "--format", "json"])))
    finally:
        double.stop()


@pytest.mark.parametrize("auth", sorted(KIBANA_AUTH))
def test_kibana_backend_masks_echoed_credentials(tmp_path: Path, auth: str,
                                                 echo_es: EsEchoDouble) -> None:
    double = kibana_double("", 500)
    env = {"KMSDET_KIBANA_URL": double.url, "KMSDET_ES_URL": echo_es.url, **KIBANA_AUTH[auth],
           **ES_AUTH["basic"]}
    try:
        assert_masked(*(kmsdet(["test", RULES, "--backend", "kibana", "--skip-unsupported",
                                "--format", fmt],
                               tmp_path, env) for fmt in ("text", "json")))
    finally:
        double.stop()
