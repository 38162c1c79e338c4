"""Wildcards on a keyed flattened sub-field: the embedded matcher against Elasticsearch.

Found by the pack parity check: on Elasticsearch 8.19 a KQL wildcard becomes a query_string
that matches prefix-only patterns within ``flattened.<key>``, runs any other pattern over the
"key\\0value" terms of every key (so a leading ``*`` reaches other keys' values) and therefore
never matches a pattern that starts with a literal. Each pattern is one regression case of the
embedded matcher against the real engine.
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
                "granteePrincipal": VALUE, "origin": "EXTERNAL"}}}}}


@pytest.mark.parametrize("pattern", [
    r"arn\:aws\:iam\:\:*",
    r"*\:root",
    r"arn\:aws\:iam\:\:444455556666\:root",
    r"arn\:aws*\:iam\:\:*",
    r"arn*root",
    r"*EXTERNAL*",  # leading *: Elasticsearch also matches the values of other keys
    r"*nothing*",
])
def test_flattened_wildcard_agrees(es_client: Elasticsearch, pattern: str) -> None:
    execution = Execution(_rule(pattern), [_doc()], NOW, uuid.uuid4().hex)
    embedded = EmbeddedBackend().execute([execution])[0]
    with ElasticsearchBackend(es_client, namespace="kmsdet_it", warn=lambda _: None) as es:
        real = es.execute([execution])[0]
    assert len(real) == len(embedded)
