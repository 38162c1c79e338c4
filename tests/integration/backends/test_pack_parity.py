"""The KMS pack's own test cases on both backends: every case passes on each, with the same
alert count per case."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from elasticsearch import Elasticsearch

from kmsdet.backends.elasticsearch import ElasticsearchBackend
from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.runner import run_tests
from kmsdet.rules.loader import load_rules

RULES = Path(__file__).resolve().parents[3] / "rules"


def test_pack_cases_agree_on_both_backends(es_client: Elasticsearch) -> None:
    rules = load_rules([RULES])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    embedded = run_tests(rules, EmbeddedBackend(), now=now, seed=0)
    with ElasticsearchBackend(es_client, namespace="kmsdet_pack", warn=lambda _: None) as es:
        real = run_tests(rules, es, now=now, seed=0)
    assert embedded.results, "the pack has no test cases"
    counts = [(r.case, r.expected, r.actual) for r in embedded.results]
    assert counts == [(r.case, r.expected, r.actual) for r in real.results]
    assert real.failed == 0 and embedded.failed == 0
