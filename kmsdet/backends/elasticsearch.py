"""The elasticsearch backend: real indexing, real searches, the executor's request shape.

All executions of a batch are seeded in one bulk (each document tagged with its execution's
run id), the data stream is refreshed once, and every query rule's search - built as Kibana's
query rule executor builds it (kmsdet.es.search) - goes out in one multi-search. The hits, in
the executor's order and up to ``max_signals``, are the alerts. Threshold and new_terms rules
run their aggregations on the same filtered search (kmsdet.es.rule_types). Documents stay in
the stream afterwards; run ids keep executions apart, and content ids make re-seeding a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from kmsdet.backends.base import (
    EQL_TYPE,
    RUN_ID_FIELD,
    Alert,
    Backend,
    Execution,
    distinct_document_sets,
    require_supported,
)
from kmsdet.backends.documents import first_value
from kmsdet.errors import InputError, UsageError
from kmsdet.es.client import (
    EsTarget,
    SearchRefused,
    connect,
    root_cause,
    shard_failures,
    translate_errors,
)
from kmsdet.es.rule_types import new_terms_alerts, threshold_alerts
from kmsdet.es.search import RuleSearch, rule_query, rule_search
from kmsdet.es.seed import SeedReport, prepare_target, seed_documents
from kmsdet.es.template import INDEX_PATTERN, Warn
from kmsdet.fields.schema import FieldSchema
from kmsdet.rules.model import Rule

SchemaFor = Callable[[Sequence[str]], FieldSchema]
MSEARCH_BATCH = 100
#: Rule types whose alerts come from aggregations rather than from the hits themselves.
AGGREGATING: Mapping[str, Callable[..., list[Alert]]] = {
    "threshold": threshold_alerts,
    "new_terms": new_terms_alerts,
}
DEFAULT_NAMESPACE = "kmsdet"


def tag_run(doc: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """A copy of ``doc`` carrying ``labels.kmsdet_run_id`` (nested form, other labels kept)."""
    labels = doc.get("labels")
    merged = dict(labels) if isinstance(labels, Mapping) else {}
    merged[RUN_ID_FIELD.split(".", 1)[1]] = run_id
    return {**doc, "labels": merged}


class ElasticsearchBackend(Backend):
    name = "elasticsearch"
    runs_eql = True

    def __init__(self, client: Elasticsearch, *, target: EsTarget | None = None,
                 namespace: str = DEFAULT_NAMESPACE, schema_for: SchemaFor | None = None,
                 warn: Warn | None = None) -> None:
        """``schema_for`` maps index patterns to the field schema the KQL translation uses
        (default: kmsdet.fields.registry); the data stream's template is built from the
        schema of ``logs-aws.cloudtrail-*``."""
        if schema_for is None:
            from kmsdet.fields.registry import schema_for_indices
            schema_for = schema_for_indices
        self.client = client
        self.target = target
        self.namespace = namespace
        self.schema_for = schema_for
        self.warn = warn
        self.last_seed: SeedReport | None = None
        self._prepared = False
        self._owns_client = False
        self._queries: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._has_eql: bool | None = None

    @classmethod
    def from_environment(cls, target: EsTarget | None = None, *,
                         namespace: str = DEFAULT_NAMESPACE,
                         warn: Warn | None = None) -> ElasticsearchBackend:
        """A backend on ``target`` (default: ``KMSDET_ES_*``, else the ``make es-up`` node);
        it owns the connection and closes it on ``close()``."""
        target = target or EsTarget.from_options()
        backend = cls(connect(target), target=target, namespace=namespace, warn=warn)
        backend._owns_client = True
        return backend

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def execute(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        if not executions:
            return []
        queries = [self.query(e.rule) for e in executions]
        eql = [i for i, e in enumerate(executions) if e.rule.rule.type == EQL_TYPE]
        if eql:
            self._require_eql(executions[eql[0]].rule)
        self.seed(executions)
        plain = [i for i, e in enumerate(executions) if e.rule.rule.type == "query"]
        searches = [rule_search(executions[i].rule, queries[i], now=executions[i].now,
                                run_id=executions[i].run_id) for i in plain]
        results: list[list[Alert]] = [[] for _ in executions]
        for i, response in zip(plain, self._msearch(searches), strict=True):
            results[i] = self._alerts(executions[i].rule, response)
        with translate_errors(self.target, "search"):
            for i, e in enumerate(executions):
                runner = AGGREGATING.get(e.rule.rule.type)
                if runner is not None:
                    results[i] = self._aggregate(runner, e, queries[i])
            for i in eql:
                results[i] = self._eql(executions[i])
        return results

    def cannot_run(self, rule: Rule) -> str | None:
        reason = super().cannot_run(rule)
        if reason is None and rule.rule.type == EQL_TYPE:
            try:
                self._require_eql(rule)
            except UsageError as exc:
                return exc.message
        return reason

    def _require_eql(self, rule: Rule) -> None:
        """Refuse EQL rules, before anything is seeded, on a cluster without the EQL API."""
        from kmsdet.eql.elasticsearch import has_eql, no_eql_error

        if self._has_eql is None:
            with translate_errors(self.target, "nodes info"):
                self._has_eql = has_eql(self.client)
        if not self._has_eql:
            raise no_eql_error(rule)

    def _eql(self, execution: Execution) -> list[Alert]:
        """An EQL rule's run through the EQL search API, as Kibana's EQL executor sends it."""
        from kmsdet.eql.elasticsearch import alerts_from_response, eql_request

        rule = execution.rule
        body = eql_request(rule, self.schema_for(tuple(rule.rule.index or ())),
                           now=execution.now, run_id=execution.run_id)
        try:
            response = self.client.eql.search(index=list(rule.rule.index or [INDEX_PATTERN]),
                                              **body)
        except BadRequestError as exc:
            body_ = exc.body if isinstance(exc.body, Mapping) else {}
            raise rejected_search(rule, body_.get("error") or str(exc)) from None
        return alerts_from_response(rule, response)

    def _aggregate(self, runner: Callable[..., list[Alert]], execution: Execution,
                   query: dict[str, Any]) -> list[Alert]:
        """A threshold or new_terms run; a search the cluster rejects is the rule's error."""
        try:
            return runner(self.client, execution.rule, query, now=execution.now,
                          run_id=execution.run_id)
        except BadRequestError as exc:
            body = exc.body if isinstance(exc.body, Mapping) else {}
            raise rejected_search(execution.rule, body.get("error") or str(exc)) from None
        except SearchRefused as exc:
            raise rejected_search(execution.rule, exc.error) from None

    def query(self, rule: Rule) -> dict[str, Any]:
        """The rule's translated query, once per rule, query text, exceptions and indices."""
        require_supported(rule, "elasticsearch", eql=True)
        data = rule.rule
        if data.type == EQL_TYPE:  # run through the EQL search API, not translated
            return {}
        exceptions = rule.kmsdet.exceptions if rule.kmsdet else []
        key = (rule.rule_id, data.query or "", repr(exceptions), repr(data.index))
        if key not in self._queries:
            self._queries[key] = rule_query(rule, self.schema_for(tuple(data.index or ())))
        return self._queries[key]

    def seed(self, executions: Sequence[Execution]) -> SeedReport:
        """Index every execution's documents in one bulk, then refresh."""
        if not self._prepared:
            prepare_target(self.client, namespace=self.namespace,
                           schema=self.schema_for((INDEX_PATTERN,)), warn=self.warn,
                           target=self.target)
            self._prepared = True
        docs = (tag_run(doc, e.run_id) for e in distinct_document_sets(executions)
                for doc in e.documents)
        report = seed_documents(self.client, docs, namespace=self.namespace, refresh=True,
                                target=self.target, prepare=False)
        self.last_seed = report
        report.raise_for_failures()
        return report

    def _msearch(self, searches: Sequence[RuleSearch]) -> list[Mapping[str, Any]]:
        out: list[Mapping[str, Any]] = []
        with translate_errors(self.target, "search"):
            for start in range(0, len(searches), MSEARCH_BATCH):
                lines: list[Mapping[str, Any]] = []
                for search in searches[start:start + MSEARCH_BATCH]:
                    lines.extend((search.msearch_header(), search.body))
                out.extend(self.client.msearch(searches=lines)["responses"])
        return out

    def _alerts(self, rule: Rule, response: Mapping[str, Any]) -> list[Alert]:
        error = response.get("error") or shard_failures(response)
        if error:
            raise rejected_search(rule, error)
        hits = response.get("hits", {}).get("hits", [])
        alerts = []
        for hit in hits:
            source = hit.get("_source", {})
            event_id = first_value(source, "event.id")
            timestamp = first_value(source, "@timestamp")
            alerts.append(Alert(rule_id=rule.rule_id,
                                event_id=str(event_id) if event_id is not None else None,
                                timestamp=str(timestamp) if timestamp is not None else None,
                                source=source))
        return alerts


def rejected_search(rule: Rule, error: Any) -> InputError:
    """The cluster refused a rule's search: name the rule and the cluster's root cause."""
    kind, reason = root_cause(error)
    if kind in _TOO_MANY_CLAUSES or "maxClauseCount" in reason:
        hint = ("the query expands to more clauses than the node allows (maxClauseCount); "
                "`kmsdet lint` counts them (KD350): split the values over several rules")
    elif kind in _MAPPING_ERRORS:
        hint = "the translated query does not fit the index mappings"
    else:
        hint = "Elasticsearch's reason above says what it refused"
    return InputError(
        f"Elasticsearch rejected the search of '{rule.name}': "
        + (f"{kind}: {reason}" if kind else reason),
        file=str(rule.source.path), field="rule.query", hint=hint)


_TOO_MANY_CLAUSES = frozenset({"too_many_clauses", "too_many_nested_clauses"})
_MAPPING_ERRORS = frozenset({"query_shard_exception", "illegal_argument_exception",
                             "number_format_exception", "mapper_parsing_exception"})
