"""The elasticsearch backend's pure parts (the live behaviour is in tests/integration)."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest

from kmsdet.backends.base import Execution
from kmsdet.backends.elasticsearch import ElasticsearchBackend, tag_run
from kmsdet.errors import UsageError
from kmsdet.rules.model import Rule


class NoClient:
    """Fails the test if the backend talks to Elasticsearch when it should not."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call to Elasticsearch: {name}")


def make_rule(**rule: Any) -> Rule:
    base: dict[str, Any] = {
        "author": ["t"], "description": "d", "name": "n", "risk_score": 1, "rule_id": "r",
        "severity": "low", "type": "query", "language": "kuery", "query": "event.action: x",
    }
    base.update(rule)
    return Rule.model_validate({"metadata": {"creation_date": "2026/01/01",
                                             "updated_date": "2026/01/01"}, "rule": base})


@pytest.mark.parametrize(("doc", "labels"), [
    ({"a": 1}, {"kmsdet_run_id": "r1"}),
    ({"labels": {"team": "x"}}, {"team": "x", "kmsdet_run_id": "r1"}),
    ({"labels": {"kmsdet_run_id": "old"}}, {"kmsdet_run_id": "r1"}),
])
def test_tag_run_adds_the_run_id_and_keeps_other_labels(doc: dict[str, Any],
                                                        labels: dict[str, str]) -> None:
    before = copy.deepcopy(doc)
    tagged = tag_run(doc, "r1")
    assert tagged["labels"] == labels
    assert doc == before  # the caller's document is not changed


@pytest.mark.parametrize("rule_args", [
    {"type": "esql", "language": "esql", "query": "FROM x"},
    {"type": "query", "language": "lucene", "query": "event.action:x"},
])
def test_non_kql_rules_are_refused_before_any_request(rule_args: dict[str, Any]) -> None:
    backend = ElasticsearchBackend(NoClient(), schema_for=lambda _: None)  # type: ignore[arg-type]
    execution = Execution(make_rule(**rule_args), [], datetime.now(timezone.utc), "run")
    with pytest.raises(UsageError) as info:
        backend.execute([execution])
    assert info.value.field == "rule.type"


def test_no_executions_no_requests() -> None:
    backend = ElasticsearchBackend(NoClient())  # type: ignore[arg-type]
    assert backend.execute([]) == []
