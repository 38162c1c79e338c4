"""``scripts/es_test_cluster.py up`` and ``url`` reuse the node the session runs on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPO, SCRIPT


def _run(command: str) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), command], capture_output=True,
                          text=True, check=True, cwd=REPO, timeout=120)
    return done.stdout.strip()


def test_up_is_idempotent_and_url_agrees(es_url: str) -> None:
    if os.environ.get("KMSDET_ES_URL"):
        pytest.skip("KMSDET_ES_URL names an external cluster; the script does not manage it")
    assert _run("up") == es_url
    assert _run("up") == es_url
    assert _run("url") == es_url
    with urllib.request.urlopen(f"{es_url}/_cluster/health", timeout=10) as resp:
        assert json.load(resp)["status"] in ("green", "yellow")


def test_the_session_says_when_it_starts_elasticsearch(tmp_path: Path) -> None:
    """A pytest run that has to start a node prints one line first (the download and the JVM
    take a while); here the start fails at once for want of Maven, so nothing is fetched."""
    env = {k: v for k, v in os.environ.items() if k not in ("KMSDET_ES_URL", "CI")}
    env.update(KMSDET_ES_STATE=f"{tmp_path}/none.json", KMSDET_ES_CACHE=f"{tmp_path}/cache",
               KMSDET_M2_REPO=f"{tmp_path}/m2", PATH=str(tmp_path))  # no mvn on PATH
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p",
                           "no:cacheprovider", "tests/integration/es/test_cluster.py"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    output = done.stdout + done.stderr
    assert "starting a local Elasticsearch for the integration tests" in output
    assert "Maven Central" in output and "JDK 17+" in output and "112 MB" in output
    assert "mvn not found" in output  # it stopped at the missing prerequisite: a skip
