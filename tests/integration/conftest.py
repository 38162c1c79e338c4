"""A real Elasticsearch for the integration tests, found or started once per session.

Order: ``KMSDET_ES_URL`` (someone else's cluster), else the node recorded by
``scripts/es_test_cluster.py`` (``make es-up``, or .ci/run), else the script starts one and the
session stops it at the end (set ``KMSDET_ES_KEEP=1`` to keep it). Without a JDK or Maven the
tests are skipped with one line on a developer machine, but in CI (``CI=true``) a missing
prerequisite is a failure: integration tests must never vanish silently there.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from kmsdet.es.client import EsTarget, connect
from kmsdet.es.template import DEGRADED_TYPES, build_mappings, supported_types
from kmsdet.fields.schema import FieldSchema

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "es_test_cluster.py"
MISSING_PREREQUISITE = 3


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _script(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), command], capture_output=True,
                          text=True, check=False, cwd=REPO)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


STARTING = ("starting a local Elasticsearch for the integration tests: Elastic's test "
            "distribution from Maven Central (needs a JDK 17+ and Maven; about 112 MB the "
            "first time, cached in ~/.m2); `make es-up` keeps one running between runs")


def _announce(config: pytest.Config, text: str) -> None:
    """One line on the terminal even while pytest captures output: starting a JVM and
    downloading a distribution must not look like a hang."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{text}", file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def es_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if os.environ.get("KMSDET_ES_URL"):
        yield os.environ["KMSDET_ES_URL"]
        return
    running = _script("url")
    if running.returncode == 0:
        yield running.stdout.strip()
        return
    _announce(request.config, STARTING)
    started = _script("up")
    reason = (started.stderr.strip().splitlines() or ["no output"])[-1]
    reason = reason.removeprefix("es-test-cluster: ").removeprefix("error: ")
    if started.returncode == MISSING_PREREQUISITE:
        message = f"no local Elasticsearch: {reason}"
        if _in_ci():
            pytest.fail(f"{message} (CI=true: integration tests must run)", pytrace=False)
        pytest.skip(message)
    if started.returncode != 0:
        pytest.fail(f"could not start Elasticsearch: {reason}", pytrace=False)
    try:
        yield started.stdout.strip()
    finally:
        if not os.environ.get("KMSDET_ES_KEEP"):
            _script("down")


@pytest.fixture(scope="session")
def es_target(es_url: str) -> EsTarget:
    return EsTarget.from_options(url=es_url, env={})


@pytest.fixture(scope="session")
def es_client(es_target: EsTarget) -> Iterator[Elasticsearch]:
    client = connect(es_target)
    yield client
    client.close()


@pytest.fixture(scope="session")
def es_optional_types(es_client: Elasticsearch) -> set[str]:
    """The optional mapping types (constant_keyword, wildcard, ...) this node supports."""
    return {t for t, ok in supported_types(es_client, DEGRADED_TYPES).items() if ok}


@pytest.fixture
def es_scratch_index(es_client: Elasticsearch,
                     es_optional_types: set[str]) -> Iterator[Callable[[FieldSchema], str]]:
    """Make throw-away indices whose mappings follow a field schema (for differential tests);
    types the node lacks degrade as in kmsdet's template. Deleted after the test."""
    created: list[str] = []

    def make(schema: FieldSchema) -> str:
        name = f"kmsdet-scratch-{uuid.uuid4().hex[:12]}"
        mappings, _ = build_mappings(schema, es_optional_types)
        es_client.indices.create(index=name, mappings=mappings,
                                 settings={"number_of_shards": 1, "number_of_replicas": 0})
        created.append(name)
        return name

    yield make
    for name in created:
        es_client.indices.delete(index=name, ignore_unavailable=True)
