"""EQL rules through the embedded backend: Kibana's window, exceptions, size and alert shape."""

from __future__ import annotations

from kmsdet.backends.base import Execution
from kmsdet.backends.embedded import EmbeddedBackend
from tests.unit.backends.test_embedded import NOW, doc, rule

QUERY_TEXT = '''event.provider: "kms.amazonaws.com"
and event.action: "DisableKey"'''
SEQUENCE = ('sequence by aws.cloudtrail.user_identity.arn, aws.cloudtrail.resources.arn '
            'with maxspan=10m\n  [any where event.action == "PutKeyPolicy"]\n'
            '  [any where event.action in ("DisableKey", "ScheduleKeyDeletion")]')


def eql_rule(query: str, append: str = "", extra: dict[str, str] | None = None):
    replace = {'type = "query"': 'type = "eql"', 'language = "kuery"': 'language = "eql"',
               QUERY_TEXT: query, 'from = "now-6m"': 'from = "now-20m"'}
    replace.update(extra or {})
    return rule(replace, append)


def test_a_sequence_rule_raises_one_alert_per_sequence_with_its_events() -> None:
    docs = [doc("PutKeyPolicy", at=-9, ingested=-9, event_id="p"),
            doc("DisableKey", at=-4, ingested=-4, event_id="d"),
            doc("DisableKey", at=-3, ingested=-3, arn="other", event_id="o")]
    alerts = EmbeddedBackend().run(eql_rule(SEQUENCE), docs, NOW)
    assert len(alerts) == 1
    assert [e["event"]["id"] for e in alerts[0].source["sequence"]] == ["p", "d"]


def test_documents_outside_the_run_window_cannot_start_a_sequence() -> None:
    docs = [doc("PutKeyPolicy", at=-25, ingested=-25), doc("DisableKey", at=-4, ingested=-4)]
    assert EmbeddedBackend().run(eql_rule(SEQUENCE), docs, NOW) == []


def test_event_query_rule_raises_one_alert_per_event_capped_by_max_signals() -> None:
    r = eql_rule('any where event.action : "disablekey"', extra={
        'timestamp_override = "event.ingested"': 'timestamp_override = "event.ingested"\n'
                                                 'max_signals = 2'})
    docs = [doc(event_id=str(i), at=-5 + i, ingested=-5 + i) for i in range(4)]
    assert [a.event_id for a in EmbeddedBackend().run(r, docs, NOW)] == ["0", "1"]


def test_exceptions_filter_every_step() -> None:
    r = eql_rule(SEQUENCE, append='\n[[kmsdet.exceptions]]\nfield = "event.action"\n'
                                  'type = "match"\nvalue = "PutKeyPolicy"\n')
    docs = [doc("PutKeyPolicy", at=-9, ingested=-9), doc("DisableKey", at=-4, ingested=-4)]
    assert EmbeddedBackend().run(r, docs, NOW) == []


def test_execute_runs_eql_beside_kql_rules_on_shared_documents() -> None:
    docs = [doc("PutKeyPolicy", at=-9, ingested=-5), doc("DisableKey", at=-4, ingested=-4)]
    executions = [Execution(eql_rule(SEQUENCE), docs, NOW, "r1"),
                  Execution(rule(), docs, NOW, "r1")]
    sequence_alerts, query_alerts = EmbeddedBackend().execute(executions)
    assert len(sequence_alerts) == 1 and len(query_alerts) == 1


def test_the_per_run_document_cap_counts_building_blocks() -> None:
    from kmsdet.eql.program import EqlMatch
    from kmsdet.eql.rule import ALERTS_MAX, to_alerts

    three_events = EqlMatch(({"event": {"id": "a"}}, {"event": {"id": "b"}},
                             {"event": {"id": "c"}}), True)
    alerts = to_alerts("r", [three_events] * ALERTS_MAX)
    # 1 + 3 documents per sequence: the 250th shell alert is the 997th document, the 251st
    # would be the 1001st.
    assert len(alerts) == 250
    assert alerts[0].event_id == "sequence:a+b+c"


def test_eql_rules_run_over_a_chunked_baseline_as_over_its_documents() -> None:
    from kmsdet.cases.baseline import BaselineDocuments

    query = 'any where event.action in ("Decrypt", "GenerateDataKey") and user.name : "*a*"'
    r = eql_rule(query, extra={'from = "now-20m"': 'from = "now-2d"'})
    baseline = BaselineDocuments(600, seed=5, now=NOW, run_id="b", chunk_size=200)
    [chunked] = EmbeddedBackend(workers=1).execute([Execution(r, baseline, NOW, "b")])
    listed = EmbeddedBackend().run(r, list(baseline), NOW)
    assert chunked == listed and len(listed) > 0
