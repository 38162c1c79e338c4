"""Wildcards on a keyed flattened sub-field: the embedded matcher against Elasticsearch.

Found by the pack parity check: on Elasticsearch 8.19 a KQL wildcard becomes a query_string
that matches prefix-only and leading-only patterns on ``flattened.<key>``, but nothing when a
wildcard sits inside the pattern. The embedded matcher treats the sub-field like a keyword and
matches all of them. Each pattern below is one regression case; the ones that still disagree
are strict xfails, so a fix in the matcher turns them into failures until the mark is removed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from kmsdet.backends.base import Execution
from kmsdet.backends.elasticsearch import ElasticsearchBackend
from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.rules.model import Rule

NOW = datetime.now(timezone.utc).replace(microsecond=0)
FIELD = "aws.cloudtrail.flattened.request_parameters.granteePrincipal"
VALUE = "arn:aws:iam::444455556666:root"
MIDDLE = pytest.mark.xfail(strict=True, reason="Elasticsearch matches no mid-pattern wildcard "
                                                "on keyed flattened fields; the matcher does")


def _rule(pattern: str) -> Rule:
    return Rule.model_validate({
        "metadata": {"creation_date": "2026/01/01", "updated_date": "2026/01/01"},
        "rule": {"author": ["t"], "description": "d", "name": "flattened wildcard",
                 "risk_score": 1, "rule_id": "flat-wc", "severity": "low", "type": "query",
                 "language": "kuery", "index": ["logs-aws.cloudtrail-*"],
                 "query": f"{FIELD}: {pattern}"}})


def _doc() -> dict[str, Any]:
    ts = (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    return {"@timestamp": ts, "event": {"id": "grant"},
            "aws": {"cloudtrail": {"flattened": {"request_parameters": {
                "granteePrincipal": VALUE}}}}}


@pytest.mark.parametrize("pattern", [
    r"arn\:aws\:iam\:\:*",
    r"*\:root",
    r"arn\:aws\:iam\:\:444455556666\:root",
    pytest.param(r"arn\:aws*\:iam\:\:*", marks=MIDDLE),
    pytest.param(r"arn*root", marks=MIDDLE),
])
def test_flattened_wildcard_agrees(es_client: Elasticsearch, pattern: str) -> None:
    execution = Execution(_rule(pattern), [_doc()], NOW, uuid.uuid4().hex)
    embedded = EmbeddedBackend().execute([execution])[0]
    with ElasticsearchBackend(es_client, namespace="kmsdet_it", warn=lambda _: None) as es:
        real = es.execute([execution])[0]
    assert len(real) == len(embedded)
