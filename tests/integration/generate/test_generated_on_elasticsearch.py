"""Generated events are checked on the real Elasticsearch, not only by the in-memory matcher.

For every query rule of the KMS pack, each generated must-fire event must raise one alert and
each near miss none, on the elasticsearch backend as on the embedded one.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from elasticsearch import Elasticsearch

from kmsdet.backends.base import Execution
from kmsdet.backends.elasticsearch import ElasticsearchBackend
from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.generate.for_rule import generate_for_rule
from kmsdet.rules.loader import load_rules

RULES = Path(__file__).resolve().parents[3] / "rules" / "aws_kms"


def test_generated_events_fire_and_miss_on_elasticsearch(es_client: Elasticsearch) -> None:
    executions: list[Execution] = []
    expected: list[tuple[str, str, int]] = []
    for rule in load_rules([RULES]):
        if rule.rule.type != "query":
            continue
        result = generate_for_rule(rule)
        for kind, events, count in (("fires", result.firing, 1),
                                    ("near miss", result.near_misses, 0)):
            for event in events:
                if event.raw is None:
                    continue  # only realistic documents, rebuilt from raw CloudTrail
                executions.append(Execution(rule, [event.raw.document], result.now,
                                            f"gen-{uuid.uuid4().hex[:10]}"))
                expected.append((rule.name, kind, count))
    assert len(executions) > 40
    embedded = [len(a) for a in EmbeddedBackend().execute(executions)]
    with ElasticsearchBackend(es_client, namespace="kmsdet_gen", warn=lambda _: None) as es:
        real = [len(a) for a in es.execute(executions)]
    wanted = [count for _, _, count in expected]
    assert embedded == wanted
    mismatches = [(e, r) for e, r, w in zip(expected, real, wanted, strict=True) if r != w]
    assert mismatches == []
