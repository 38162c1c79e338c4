"""``scripts/es_test_cluster.py up`` and ``url`` reuse the node the session runs on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

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
