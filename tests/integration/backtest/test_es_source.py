"""Backtesting on the user's Elasticsearch gives the alerts a backtest over files gives.

The same synthetic trail is replayed from its S3-style files and, indexed as the integration
would index it, from the real Elasticsearch, where each rule's query runs as a paged point in
time search and only matching documents come back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from kmsdet.backtest.engine import backtest
from kmsdet.backtest.es_source import backtest_elasticsearch
from kmsdet.backtest.scan import discover
from kmsdet.backtest.synthetic_trail import TrailSpec, write_trail
from kmsdet.cloudtrail.readers import stream_events
from kmsdet.cloudtrail.to_ecs import to_ecs
from kmsdet.es.seed import seed_documents
from kmsdet.rules.loader import load_rules

PACK = Path(__file__).resolve().parents[3] / "rules"
START = datetime(2026, 9, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trail")
    write_trail(root, TrailSpec(records=1500, start=START, days=2, seed=11, per_file=250,
                                attack_every=20))
    return root


@pytest.fixture(scope="module")
def seeded(es_client: Elasticsearch, trail: Path) -> Iterator[str]:
    """The trail's records as the integration indexes them, in file order, into a data stream
    of their own (kmsdet seed's path)."""
    namespace = f"kmsdet_bt_{uuid.uuid4().hex[:10]}"

    def documents() -> Iterator[dict]:
        for source in discover([trail]):
            for _, record, _ in stream_events(source.path):
                when = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
                yield to_ecs(record, ingested=when)

    report = seed_documents(es_client, documents(), namespace=namespace, refresh=True,
                            warn=lambda _: None)
    assert report.ok
    # The test distribution cannot delete a data stream; a namespace of its own keeps this one
    # apart from every other test's documents.
    yield report.target


def test_elasticsearch_source_gives_the_alerts_of_the_files(es_client: Elasticsearch,
                                                            trail: Path, seeded: str) -> None:
    rules = load_rules([PACK])
    from_files = backtest(rules, [trail], workers=1)
    from_es = backtest_elasticsearch(rules, es_client, index=seeded, page=97)
    assert len({a.rule_id for a in from_files.alerts}) >= 8
    assert any(a.event_id and a.event_id.startswith("sequence:") for a in from_files.alerts), \
        "the trail's injected sequences should wake the EQL rule"
    assert from_es.alerts == from_files.alerts
    assert from_es.events == from_files.events


def test_since_and_until_agree_too(es_client: Elasticsearch, trail: Path, seeded: str) -> None:
    rules = load_rules([PACK])
    since = datetime(2026, 9, 1, 18, tzinfo=timezone.utc)
    until = datetime(2026, 9, 2, 6, tzinfo=timezone.utc)
    from_files = backtest(rules, [trail], since=since, until=until, workers=1)
    from_es = backtest_elasticsearch(rules, es_client, index=seeded, since=since, until=until)
    assert from_files.alerts and from_es.alerts == from_files.alerts


def test_replay_cli_with_elasticsearch_source(es_url: str, trail: Path, seeded: str) -> None:
    command = [sys.executable, "-m", "kmsdet", "replay", "--rules", str(PACK), "--format",
               "json"]
    es = subprocess.run([*command, "--source", "elasticsearch", "--es-url", es_url,
                         "--index", seeded], capture_output=True, text=True, timeout=300,
                        env={"PATH": "/usr/bin:/bin"})
    assert es.returncode == 0, es.stderr
    files = subprocess.run([*command, str(trail)], capture_output=True, text=True, timeout=300)
    assert json.loads(es.stdout)["alerts"] == json.loads(files.stdout)["alerts"]
