"""The KMS pack's own test cases on both backends: the same alert count per case, and every
case passing on the real Elasticsearch.

A disagreement is a bug in kmsdet's matcher, its KQL translation or a rule. Known ones are
listed with their cause and asserted to still disagree, so that fixing one fails this test
until its entry is removed (and becomes a plain regression case).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from elasticsearch import Elasticsearch

from kmsdet.backends.elasticsearch import ElasticsearchBackend
from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.runner import CaseResult, run_tests
from kmsdet.rules.loader import load_rules

PACK = Path(__file__).resolve().parents[3] / "rules" / "aws_kms"

# (rule_id, case name) -> why the backends disagree. Empty: the last entry (a wildcard inside
# a pattern on a keyed flattened field, see test_flattened_wildcards.py) was fixed in the rule.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}


def _key(result: CaseResult) -> tuple[str, str]:
    return (result.rule.rule_id, result.case.name)


def test_pack_cases_agree_on_both_backends(es_client: Elasticsearch) -> None:
    from kmsdet.eql.elasticsearch import has_eql

    # EQL rules run where the cluster has the EQL API (the test distribution does not: there
    # test_eql_rules_are_refused_without_the_eql_api holds instead).
    rules = [r for r in load_rules([PACK]) if r.rule.type != "eql" or has_eql(es_client)]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    embedded = run_tests(rules, EmbeddedBackend(), now=now, seed=0)
    with ElasticsearchBackend(es_client, namespace="kmsdet_pack", warn=lambda _: None) as es:
        real = run_tests(rules, es, now=now, seed=0)
    assert embedded.results, "the pack has no test cases"
    assert [_key(r) for r in embedded.results] == [_key(r) for r in real.results]
    disagree = {_key(a): (a.expected, a.actual, b.actual)
                for a, b in zip(embedded.results, real.results, strict=True)
                if a.actual != b.actual}
    unexpected = {k: v for k, v in disagree.items() if k not in KNOWN_DISAGREEMENTS}
    assert not unexpected, f"(expected, embedded, elasticsearch) per case: {unexpected}"
    fixed = set(KNOWN_DISAGREEMENTS) - set(disagree)
    assert not fixed, f"fixed, remove from KNOWN_DISAGREEMENTS: {sorted(fixed)}"
    failing = [_key(r) for r in real.results if not r.passed and _key(r) not in disagree]
    assert not failing


def test_eql_rules_are_refused_without_the_eql_api(es_client: Elasticsearch) -> None:
    import pytest

    from kmsdet.eql.elasticsearch import has_eql
    from kmsdet.errors import UsageError

    eql_rules = [r for r in load_rules([PACK]) if r.rule.type == "eql"]
    assert eql_rules, "the pack has EQL rules"
    if has_eql(es_client):
        pytest.skip("this cluster has the EQL API; the parity test runs the EQL rules")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with ElasticsearchBackend(es_client, namespace="kmsdet_pack", warn=lambda _: None) as es, \
            pytest.raises(UsageError, match="no EQL API"):
        run_tests(eql_rules, es, now=now, seed=0)
