"""kmsdet's own schema of the create/import rule payload (public API 2023-10-31).

Written from the documented API (field names, types, enumerations and bounds of
RuleCreateProps), not generated from Kibana's code. Kibana strips unknown fields without a word,
so a typo'd or misplaced field would silently vanish: every payload is validated here, strictly
(unknown keys are errors), before anything is sent or exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from kmsdet.errors import InputError

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Interval = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[smhd]$")]
DateMath = Annotated[str, StringConstraints(pattern=r"^now(-[1-9][0-9]*[smhdwMy])?$")]
Severity = Literal["low", "medium", "high", "critical"]


class _Api(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ThreatSubtechnique(_Api):
    id: NonEmpty
    name: NonEmpty
    reference: NonEmpty


class ThreatTechnique(_Api):
    id: NonEmpty
    name: NonEmpty
    reference: NonEmpty
    subtechnique: list[ThreatSubtechnique] | None = None


class ThreatTactic(_Api):
    id: NonEmpty
    name: NonEmpty
    reference: NonEmpty


class Threat(_Api):
    framework: NonEmpty
    tactic: ThreatTactic
    technique: list[ThreatTechnique] | None = None


class InvestigationFields(_Api):
    field_names: Annotated[list[NonEmpty], Field(min_length=1)]


class RelatedIntegration(_Api):
    package: NonEmpty
    version: NonEmpty
    integration: NonEmpty | None = None


class RequiredField(_Api):
    name: NonEmpty
    type: NonEmpty


class RiskScoreMapping(_Api):
    field: str
    operator: Literal["equals"]
    value: str
    risk_score: Annotated[int, Field(ge=0, le=100)] | None = None


class SeverityMapping(_Api):
    field: str
    operator: Literal["equals"]
    value: str
    severity: Severity


class ExceptionListRef(_Api):
    id: NonEmpty
    list_id: NonEmpty
    type: Literal["detection", "rule_default", "endpoint", "endpoint_trusted_apps",
                  "endpoint_events", "endpoint_host_isolation_exceptions",
                  "endpoint_blocklists"]
    namespace_type: Literal["single", "agnostic"]


class SuppressionDuration(_Api):
    value: Annotated[int, Field(ge=1)]
    unit: Literal["s", "m", "h"]


class AlertSuppression(_Api):
    group_by: Annotated[list[NonEmpty], Field(min_length=1, max_length=3)]
    duration: SuppressionDuration | None = None
    missing_fields_strategy: Literal["suppress", "doNotSuppress"] | None = None


class ThresholdCardinality(_Api):
    field: str
    value: Annotated[int, Field(ge=0)]


class Threshold(_Api):
    field: str | list[str]
    value: Annotated[int, Field(ge=1)]
    cardinality: list[ThresholdCardinality] | None = None


class _Common(_Api):
    """Fields every rule type shares (RuleCreateProps minus the type-specific part)."""

    name: NonEmpty
    description: NonEmpty
    risk_score: Annotated[int, Field(ge=0, le=100)]
    severity: Severity
    rule_id: NonEmpty | None = None
    enabled: bool | None = None
    interval: Interval | None = None
    from_: DateMath | None = Field(default=None, alias="from")
    to: NonEmpty | None = None
    max_signals: Annotated[int, Field(ge=1)] | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    tags: list[str] | None = None
    author: list[str] | None = None
    references: list[str] | None = None
    false_positives: list[str] | None = None
    threat: list[Threat] | None = None
    note: str | None = None
    setup: str | None = None
    license: str | None = None
    timestamp_override: NonEmpty | None = None
    timestamp_override_fallback_disabled: bool | None = None
    investigation_fields: InvestigationFields | list[NonEmpty] | None = None
    related_integrations: list[RelatedIntegration] | None = None
    required_fields: list[RequiredField] | None = None
    risk_score_mapping: list[RiskScoreMapping] | None = None
    severity_mapping: list[SeverityMapping] | None = None
    rule_name_override: NonEmpty | None = None
    building_block_type: Literal["default"] | None = None
    exceptions_list: list[ExceptionListRef] | None = None
    actions: list[dict[str, Any]] | None = None
    response_actions: list[dict[str, Any]] | None = None
    throttle: str | None = None
    timeline_id: NonEmpty | None = None
    timeline_title: NonEmpty | None = None
    meta: dict[str, Any] | None = None
    namespace: str | None = None
    output_index: str | None = None


class _Queryable(_Common):
    index: list[str] | None = None
    data_view_id: NonEmpty | None = None
    filters: list[dict[str, Any]] | None = None


class QueryRule(_Queryable):
    type: Literal["query"]
    language: Literal["kuery", "lucene"] | None = None
    query: str | None = None
    saved_id: str | None = None
    alert_suppression: AlertSuppression | None = None


class SavedQueryRule(_Queryable):
    type: Literal["saved_query"]
    saved_id: NonEmpty
    language: Literal["kuery", "lucene"] | None = None
    query: str | None = None
    alert_suppression: AlertSuppression | None = None


class EqlRule(_Queryable):
    type: Literal["eql"]
    language: Literal["eql"]
    query: NonEmpty
    event_category_override: str | None = None
    tiebreaker_field: str | None = None
    timestamp_field: str | None = None
    alert_suppression: AlertSuppression | None = None


class EsqlRule(_Common):
    type: Literal["esql"]
    language: Literal["esql"]
    query: NonEmpty
    alert_suppression: AlertSuppression | None = None


class ThresholdRule(_Queryable):
    type: Literal["threshold"]
    query: str
    threshold: Threshold
    language: Literal["kuery", "lucene"] | None = None
    saved_id: str | None = None
    alert_suppression: dict[str, Any] | None = None


class NewTermsRule(_Queryable):
    type: Literal["new_terms"]
    query: str
    new_terms_fields: Annotated[list[NonEmpty], Field(min_length=1, max_length=3)]
    history_window_start: NonEmpty
    language: Literal["kuery", "lucene"] | None = None
    alert_suppression: AlertSuppression | None = None


class ThreatMatchRule(_Queryable):
    type: Literal["threat_match"]
    query: str
    threat_query: str
    threat_mapping: Annotated[list[dict[str, Any]], Field(min_length=1)]
    threat_index: list[str]
    language: Literal["kuery", "lucene"] | None = None
    threat_language: Literal["kuery", "lucene"] | None = None
    threat_indicator_path: str | None = None
    threat_filters: list[dict[str, Any]] | None = None
    concurrent_searches: Annotated[int, Field(ge=1)] | None = None
    items_per_search: Annotated[int, Field(ge=1)] | None = None
    saved_id: str | None = None
    alert_suppression: AlertSuppression | None = None


class MachineLearningRule(_Common):
    type: Literal["machine_learning"]
    anomaly_threshold: Annotated[int, Field(ge=0)]
    machine_learning_job_id: str | list[str]
    alert_suppression: AlertSuppression | None = None


RULE_MODELS: dict[str, type[_Common]] = {
    "query": QueryRule, "saved_query": SavedQueryRule, "eql": EqlRule, "esql": EsqlRule,
    "threshold": ThresholdRule, "new_terms": NewTermsRule, "threat_match": ThreatMatchRule,
    "machine_learning": MachineLearningRule,
}


def payload_problems(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (dotted field, message) wrong with a create payload; empty when it is valid."""
    rule_type = payload.get("type")
    model = RULE_MODELS.get(rule_type) if isinstance(rule_type, str) else None
    if model is None:
        return [("type", f"unknown rule type {rule_type!r}; expected one of "
                         f"{', '.join(sorted(RULE_MODELS))}")]
    problems: list[tuple[str, str]] = []
    try:
        model.model_validate(dict(payload))
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            kind = err["type"]
            message = ("not a field of the Kibana API (Kibana would drop it silently)"
                       if kind == "extra_forbidden" else err["msg"])
            problems.append((loc, message))
    timeline = (payload.get("timeline_id"), payload.get("timeline_title"))
    if (timeline[0] is None) != (timeline[1] is None):
        problems.append(("timeline_title" if timeline[1] is None else "timeline_id",
                         "timeline_id and timeline_title go together"))
    if payload.get("index") is not None and payload.get("data_view_id") is not None:
        problems.append(("data_view_id", "index and data_view_id are mutually exclusive"))
    return problems


def validate_payload(payload: Mapping[str, Any], *, file: str | None = None,
                     line_of: Any = None) -> None:
    """Raise an InputError for the first problem (with the rule file's line when known)."""
    problems = payload_problems(payload)
    if not problems:
        return
    field, message = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    line = line_of(field) if callable(line_of) else None
    raise InputError(f"payload for rule {payload.get('rule_id', '?')} is invalid: "
                     f"{field}: {message}{more}", file=file, line=line, field=f"rule.{field}",
                     hint="fix the rule so that it matches Kibana's rule API")
