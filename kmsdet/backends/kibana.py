"""The kibana backend: Kibana's own detection engine decides which alerts a rule raises.

Every execution's documents are seeded into the stack's Elasticsearch in one bulk (each tagged
with its run id), then each execution is one call of the rule preview API at ``Execution.now``
(``invocationCount`` 1). The preview payload is the deploy payload with two additions that
travel as ordinary Kibana filters, so Kibana builds them into the search itself:

* a term on ``labels.kmsdet_run_id``, so that a run never sees another run's documents and
  ``max_signals`` counts this run's hits only (executions share one data stream and window);
* the rule's ``[[kmsdet.exceptions]]``, negated, in the shape Kibana gives a rule's exception
  list. Sending them inline means ``kmsdet test`` never writes exception lists into a space
  that may hold the deployed rule.

Preview alerts land in ``.preview.alerts-security.alerts-<space>`` under
``kibana.alert.rule.uuid = previewId``; they are read back, after one refresh, restricted to
the run's own source documents (``kibana.alert.ancestors.id``) for query and new_terms rules;
threshold alerts stand for a bucket, not an event, and the run filter alone isolates them.

Kibana 8.18+ returns the searches a query rule ran (``enable_logged_requests``, 8.16+ for the
parameter). The first one is compared with what kmsdet predicts - its KQL translation plus
the filters above, the time range and the index patterns - and every difference is recorded in
``fidelity`` per run id: a difference means kmsdet's other backends would not search the way
this Kibana does.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from kmsdet.backends.base import (
    RUN_ID_FIELD,
    Alert,
    Backend,
    Execution,
    distinct_document_sets,
    require_supported,
)
from kmsdet.backends.documents import first_value
from kmsdet.backends.elasticsearch import DEFAULT_NAMESPACE, tag_run
from kmsdet.config import Target, TargetOptions, resolve_target
from kmsdet.errors import EnvironmentProblem, InputError
from kmsdet.es.client import EsTarget, connect, translate_errors
from kmsdet.es.search import iso, max_alerts, time_filter
from kmsdet.es.seed import (
    SeedReport,
    document_id,
    encode,
    prepare_target,
    seed_documents,
    with_namespace,
)
from kmsdet.es.template import INDEX_PATTERN, Warn
from kmsdet.fields.registry import DEFAULT_SECURITY_INDICES
from kmsdet.fields.schema import FieldSchema
from kmsdet.kibana.client import KibanaClient
from kmsdet.rules.model import ExceptionItem, Rule

SchemaFor = Callable[[Sequence[str]], FieldSchema]
PREVIEW_ALERTS = ".preview.alerts-security.alerts-{space}"
LOGGED_REQUESTS_PARAM_SINCE = (8, 16)  # older Kibana rejects the unknown query parameter
MSEARCH_BATCH = 100
# Types whose alerts copy one source event, so kibana.alert.ancestors names the run's documents.
EVENT_ALERT_TYPES = ("query", "new_terms")
_SEARCH_LINE = re.compile(r"^(?:GET|POST)\s+/([^/?\s]*)/_search")


@dataclass(frozen=True)
class Difference:
    """One place where Kibana's search differs from kmsdet's prediction."""

    part: str  # "query", "time range" or "index"
    path: str  # where inside ``part`` the two first differ ("" = the whole value)
    kmsdet: Any
    kibana: Any

    def render(self) -> str:
        where = f"{self.part} at {self.path}" if self.path else self.part
        return (f"{where}: kmsdet {_compact(self.kmsdet)} but Kibana "
                f"{_compact(self.kibana)}")


@dataclass
class FidelityCheck:
    """kmsdet's prediction of one preview's search against the search Kibana logged."""

    rule_id: str
    run_id: str
    preview_id: str
    compared: bool = False  # False: this Kibana did not return the requests it ran
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


class FidelityError(InputError):
    """Kibana searched differently from what kmsdet predicts for at least one rule."""


@dataclass
class _Preview:
    execution: Execution
    preview_id: str
    doc_ids: list[str]


class KibanaBackend(Backend):
    name = "kibana"

    def __init__(self, kibana: KibanaClient, es: Elasticsearch, *,
                 es_target: EsTarget | None = None, namespace: str = DEFAULT_NAMESPACE,
                 schema_for: SchemaFor | None = None, warn: Warn | None = None,
                 logged_requests: bool = True) -> None:
        """``kibana`` runs the rules; ``es`` is the same stack's Elasticsearch, used to seed
        documents and read preview alerts. ``schema_for`` is the field schema kmsdet's own
        KQL translation uses (default kmsdet.fields.registry); ``logged_requests=False``
        skips the fidelity comparison."""
        if schema_for is None:
            from kmsdet.fields.registry import schema_for_indices
            schema_for = schema_for_indices
        self.kibana = kibana
        self.es = es
        self.es_target = es_target
        self.namespace = namespace
        self.schema_for = schema_for
        self.warn = warn
        self.logged_requests = logged_requests
        self.fidelity: dict[str, FidelityCheck] = {}
        # Fields kmsdet's own template had to map with a core type on this cluster: Kibana sees
        # those types, so the prediction must use them too.
        self.degraded: dict[str, str] = {}
        self.last_seed: SeedReport | None = None
        self._stack: tuple[int, int] | None = None
        self._prepared = False
        self._owns_clients = False

    @classmethod
    def from_environment(cls, kibana: Target | None = None, es: EsTarget | None = None, *,
                         namespace: str = DEFAULT_NAMESPACE,
                         warn: Warn | None = None) -> KibanaBackend:
        """A backend on ``kibana`` (default: ``KMSDET_KIBANA_*`` or the config file's target)
        and ``es`` (default: ``KMSDET_ES_*``, else the ``make es-up`` node); it owns both
        connections and closes them on ``close()``."""
        kibana = kibana or resolve_target(TargetOptions())
        es = es or EsTarget.from_options()
        es_client = connect(es)
        backend = cls(KibanaClient(kibana), es_client, es_target=es, namespace=namespace,
                      warn=warn)
        backend._owns_clients = True
        return backend

    def close(self) -> None:
        if self._owns_clients:
            self.kibana.close()
            self.es.close()

    # -- the run -------------------------------------------------------------------------------

    def execute(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        if not executions:
            return []
        for execution in executions:
            require_supported(execution.rule, "kibana")
        stack = self.stack()
        self.seed(executions)
        previews = [self.preview(e, stack) for e in executions]
        return self.read_alerts(previews)

    def stack(self) -> tuple[int, int]:
        """Kibana's version, checked once along with authentication and the encryption key."""
        if self._stack is None:
            self._stack = self.kibana.preflight().version_tuple
        return self._stack

    def seed(self, executions: Sequence[Execution]) -> SeedReport:
        """Index every execution's documents (run id added) in one bulk, then refresh."""
        if not self._prepared:
            _, plan = prepare_target(self.es, namespace=self.namespace,
                                     schema=self.schema_for((INDEX_PATTERN,)), warn=self.warn,
                                     target=self.es_target)
            self.degraded = {d.field: d.used for d in plan.degradations} if plan else {}
            self._prepared = True
        docs = (tag_run(doc, e.run_id) for e in distinct_document_sets(executions)
                for doc in e.documents)
        report = seed_documents(self.es, docs, namespace=self.namespace, refresh=True,
                                target=self.es_target, prepare=False)
        self.last_seed = report
        report.raise_for_failures()
        return report

    def preview(self, execution: Execution, stack: tuple[int, int]) -> _Preview:
        """One preview call; records its fidelity check and returns what finds its alerts."""
        rule = execution.rule
        logged = self.logged_requests and stack >= LOGGED_REQUESTS_PARAM_SINCE
        answer = self.kibana.preview(preview_payload(rule, execution.run_id, stack),
                                     invocation_count=1, timeframe_end=iso(execution.now),
                                     logged_requests=logged)
        preview_id = answer.get("previewId") if isinstance(answer, Mapping) else None
        if not isinstance(preview_id, str) or not preview_id:
            raise EnvironmentProblem(f"Kibana's preview of '{rule.name}' returned no previewId",
                                     file=str(rule.source.path),
                                     hint="is this Kibana's detection engine API?")
        logs = [log for log in answer.get("logs") or [] if isinstance(log, Mapping)]
        self._check_logs(rule, logs, bool(answer.get("isAborted")))
        check = FidelityCheck(rule.rule_id, execution.run_id, preview_id)
        request = first_search(logs)
        if request is not None:
            check.compared = True
            check.differences = self.compare(execution, *request)
        self.fidelity[execution.run_id] = check
        return _Preview(execution, preview_id, self._doc_ids(execution))

    def _check_logs(self, rule: Rule, logs: Sequence[Mapping[str, Any]], aborted: bool) -> None:
        errors = [str(e) for log in logs for e in log.get("errors") or []]
        if errors:
            raise InputError(f"Kibana could not run '{rule.name}': {'; '.join(errors)}",
                             file=str(rule.source.path), field="rule.query",
                             hint="the message is Kibana's rule execution error")
        if aborted:
            raise EnvironmentProblem(f"Kibana aborted the preview of '{rule.name}' (it took "
                                     "too long)", file=str(rule.source.path),
                                     hint="Kibana stops previews after a time limit; retry "
                                          "when the stack is less busy")
        if self.warn is not None:
            for log in logs:
                for warning in log.get("warnings") or []:
                    self.warn(f"{rule.name}: Kibana: {warning}")

    def _doc_ids(self, execution: Execution) -> list[str]:
        """The ids seeding gave the execution's documents (content hashes, as seed computes)."""
        return [document_id(encode(with_namespace(tag_run(doc, execution.run_id),
                                                  self.namespace)))
                for doc in execution.documents]

    # -- fidelity ------------------------------------------------------------------------------

    def expected_query(self, execution: Execution) -> dict[str, Any]:
        """What Kibana's buildEsQuery should return: kmsdet's KQL translation, then the
        preview's filters (positive ones in ``filter``, negated ones in ``must_not``)."""
        from kmsdet.kql.dsl import build_es_query
        from kmsdet.kql.parser import parse
        from kmsdet.rules.query_errors import located_in_rule

        rule = execution.rule
        with located_in_rule(rule):
            query = build_es_query(parse(rule.rule.query or ""),
                                   self.cluster_schema(tuple(rule.rule.index or ())))
        must_not: list[Any] = []
        filters = list(query["bool"]["filter"])
        for item in preview_filters(rule, execution.run_id):
            meta = item.get("meta") or {}
            if meta.get("disabled"):
                continue
            (must_not if meta.get("negate") else filters).append(item["query"])
        return {"bool": {"must": [], "filter": filters, "should": [], "must_not": must_not}}

    def cluster_schema(self, index: tuple[str, ...]) -> FieldSchema:
        """kmsdet's schema for ``index`` with the types this cluster actually maps."""
        schema = self.schema_for(index)
        if not self.degraded:
            return schema
        return FieldSchema({name: dataclasses.replace(info, type=self.degraded[name])
                            if name in self.degraded else info
                            for name, info in schema.items()}, source=f"{schema.source} "
                           "(as mapped on this cluster)")

    def compare(self, execution: Execution, index: list[str],
                body: Mapping[str, Any]) -> list[Difference]:
        rule = execution.rule
        clauses = (body.get("query") or {}).get("bool", {}).get("filter")
        if not isinstance(clauses, list) or len(clauses) < 2:
            return [Difference("query", "", "bool.filter [query, time range]",
                               body.get("query"))]
        differences = []
        expected_index = list(rule.rule.index or DEFAULT_SECURITY_INDICES)
        if sorted(index) != sorted(expected_index):
            differences.append(Difference("index", "", expected_index, index))
        for part, mine, theirs in (
                ("query", self.expected_query(execution), clauses[0]),
                ("time range", time_filter(rule, execution.now), clauses[1])):
            found = first_difference(mine, theirs)
            if found is not None:
                differences.append(Difference(part, *found))
        return differences

    def failures(self) -> list[FidelityCheck]:
        """Fidelity checks with differences, in execution order."""
        return [c for c in self.fidelity.values() if c.differences]

    def raise_for_fidelity(self) -> None:
        """A FidelityError naming every rule whose search Kibana built differently."""
        failed = self.failures()
        if not failed:
            return
        by_rule: dict[str, FidelityCheck] = {}
        for check in failed:
            by_rule.setdefault(check.rule_id, check)
        lines = [f"{rule_id}: {c.differences[0].render()}" for rule_id, c in by_rule.items()]
        raise FidelityError(
            f"Kibana's search differs from kmsdet's translation for {len(by_rule)} rule(s):\n  "
            + "\n  ".join(lines),
            hint="kmsdet's embedded and elasticsearch backends may raise different alerts than "
                 "this Kibana; check the field mappings and the space's advanced settings")

    # -- alerts --------------------------------------------------------------------------------

    def read_alerts(self, previews: Sequence[_Preview]) -> list[list[Alert]]:
        """Each preview's alerts on its own run's documents, oldest event first."""
        index = PREVIEW_ALERTS.format(space=self.kibana.target.space)
        out: list[list[Alert]] = []
        with translate_errors(self.es_target, "read preview alerts from"):
            self.es.indices.refresh(index=index, ignore_unavailable=True)
            for start in range(0, len(previews), MSEARCH_BATCH):
                lines: list[Mapping[str, Any]] = []
                batch = previews[start:start + MSEARCH_BATCH]
                for preview in batch:
                    rule = preview.execution.rule
                    doc_ids = preview.doc_ids if rule.rule.type in EVENT_ALERT_TYPES else None
                    lines.extend(({"index": index, "ignore_unavailable": True},
                                  alerts_search(preview.preview_id, doc_ids, max_alerts(rule))))
                responses = self.es.msearch(searches=lines)["responses"]
                out.extend(_alerts(p.execution.rule, r)
                           for p, r in zip(batch, responses, strict=True))
        return out


def run_filter(run_id: str) -> dict[str, Any]:
    """The Kibana filter that keeps a preview to one execution's documents."""
    return {"meta": {"alias": None, "disabled": False, "negate": False, "key": RUN_ID_FIELD},
            "query": {"term": {RUN_ID_FIELD: run_id}}}


def exception_clause(item: ExceptionItem) -> dict[str, Any]:
    """One exception entry as Kibana's exception filter builder writes it."""
    values = [item.value] if isinstance(item.value, str) else list(item.value)
    if item.type == "exists":
        clause: dict[str, Any] = {"bool": {"minimum_should_match": 1,
                                           "should": [{"exists": {"field": item.field}}]}}
    elif item.type == "wildcard":
        # Kibana's wildcard entry holds one pattern; several mean "any of them".
        clauses = [{"bool": {"filter": {"wildcard": {item.field: v}}}} for v in values]
        clause = clauses[0] if len(clauses) == 1 else {
            "bool": {"minimum_should_match": 1, "should": clauses}}
    elif len(values) == 1:
        clause = {"bool": {"minimum_should_match": 1,
                           "should": [{"match_phrase": {item.field: values[0]}}]}}
    else:
        clause = {"bool": {"minimum_should_match": 1, "should": [
            {"bool": {"minimum_should_match": 1,
                      "should": [{"match_phrase": {item.field: v}}]}} for v in values]}}
    return {"bool": {"must_not": clause}} if item.operator == "excluded" else clause


def exception_filter(items: Sequence[ExceptionItem]) -> dict[str, Any]:
    """The negated filter Kibana builds from a rule's exception items (one should per item)."""
    return {"meta": {"alias": None, "disabled": False, "negate": True},
            "query": {"bool": {"should": [exception_clause(i) for i in items]}}}


def preview_filters(rule: Rule, run_id: str) -> list[dict[str, Any]]:
    """The rule's own filters, then the run filter, then its exceptions (if any)."""
    filters = [dict(f) for f in rule.rule.filters or [] if isinstance(f, Mapping)]
    filters.append(run_filter(run_id))
    items = rule.kmsdet.exceptions if rule.kmsdet else []
    if items:
        filters.append(exception_filter(items))
    return filters


def preview_payload(rule: Rule, run_id: str, stack: tuple[int, int]) -> dict[str, Any]:
    """The deploy payload, with the run filter and the exceptions inline (see module doc)."""
    from kmsdet.kibana.payload import build_payload, exception_list_id

    body = dict(build_payload(rule, stack=stack, enabled=True).body)
    own_list = exception_list_id(rule.rule_id)
    refs = [r for r in body.get("exceptions_list") or [] if r.get("list_id") != own_list]
    if refs:
        body["exceptions_list"] = refs
    else:
        body.pop("exceptions_list", None)
    body["filters"] = preview_filters(rule, run_id)
    return body


def alerts_search(preview_id: str, doc_ids: Sequence[str] | None, size: int) -> dict[str, Any]:
    """The preview's alerts; with ``doc_ids``, only those raised on these source documents."""
    filters: list[dict[str, Any]] = [{"term": {"kibana.alert.rule.uuid": preview_id}}]
    if doc_ids is not None:
        filters.append({"terms": {"kibana.alert.ancestors.id": list(doc_ids)}})
    return {
        "size": size,
        "query": {"bool": {"filter": filters}},
        "sort": [{"kibana.alert.original_time": {"order": "asc", "unmapped_type": "date"}}],
        "track_total_hits": False,
    }


def _alerts(rule: Rule, response: Mapping[str, Any]) -> list[Alert]:
    error = response.get("error")
    if error:
        reason = error.get("reason") if isinstance(error, Mapping) else error
        raise EnvironmentProblem(f"reading the preview alerts of '{rule.name}' failed: {reason}",
                                 file=str(rule.source.path),
                                 hint="the Elasticsearch user needs read access to "
                                      ".preview.alerts-security.alerts-*")
    alerts = []
    for hit in response.get("hits", {}).get("hits", []):
        source = hit.get("_source", {})
        rule_id = first_value(source, "kibana.alert.rule.rule_id")
        event_id = first_value(source, "event.id")
        when = first_value(source, "kibana.alert.original_time")
        alerts.append(Alert(rule_id=str(rule_id) if rule_id is not None else rule.rule_id,
                            event_id=str(event_id) if event_id is not None else None,
                            timestamp=str(when) if when is not None else None, source=source))
    return alerts


def first_search(logs: Sequence[Mapping[str, Any]]) -> tuple[list[str], dict[str, Any]] | None:
    """The index and body of the first event search Kibana logged, if it logged any."""
    for log in logs:
        for entry in log.get("requests") or []:
            text = entry.get("request") if isinstance(entry, Mapping) else None
            parsed = parse_logged_request(text) if isinstance(text, str) else None
            if parsed is not None and "query" in parsed[1]:
                return parsed
    return None


def parse_logged_request(text: str) -> tuple[list[str], dict[str, Any]] | None:
    """``POST /<index,...>/_search?...`` then the JSON body, as Kibana's preview logs it."""
    first, _, rest = text.partition("\n")
    match = _SEARCH_LINE.match(first.strip())
    if match is None:
        return None
    try:
        body = json.loads(rest) if rest.strip() else {}
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return [i for i in match.group(1).split(",") if i], body


def first_difference(mine: Any, theirs: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """Where two JSON values first differ (dict keys in any order), with both sides there."""
    if isinstance(mine, Mapping) and isinstance(theirs, Mapping):
        for key in sorted(set(mine) | set(theirs)):
            sub = f"{path}.{key}" if path else str(key)
            if key not in mine or key not in theirs:
                return sub, mine.get(key), theirs.get(key)
            found = first_difference(mine[key], theirs[key], sub)
            if found is not None:
                return found
        return None
    if isinstance(mine, list) and isinstance(theirs, list):
        for position, (a, b) in enumerate(zip(mine, theirs, strict=False)):
            found = first_difference(a, b, f"{path}[{position}]")
            if found is not None:
                return found
        if len(mine) != len(theirs):
            return path, mine, theirs
        return None
    return None if mine == theirs else (path, mine, theirs)


def _compact(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."
