"""The Rule model: one representation of a detection rule, shared by every consumer.

It follows the TOML layout of Elastic's detection-rules repository ([metadata], [rule],
[[rule.threat]], ...) so that Elastic's published rules load unchanged. The model checks
shapes and types only; what a value *means* (enumerations, bands, ATT&CK ids, dates) is the
job of the lint checks, so that one bad value yields one precise finding instead of a failed
load that hides every other problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from kmsdet.rules.lines import KeyPath, index_lines

StrOrList = str | list[str]


class _Strict(BaseModel):
    """Unknown keys are errors (Kibana silently drops unknown fields; we refuse them early)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, frozen=False)


class Subtechnique(_Strict):
    id: str
    name: str
    reference: str


class Technique(_Strict):
    id: str
    name: str
    reference: str
    subtechnique: list[Subtechnique] = Field(default_factory=list)


class Tactic(_Strict):
    id: str
    name: str
    reference: str


class Threat(_Strict):
    framework: str
    tactic: Tactic
    technique: list[Technique] = Field(default_factory=list)


class ThreatMapping(_Strict):
    framework: str
    version: str
    threat: list[Threat] = Field(default_factory=list)


class InvestigationFields(_Strict):
    field_names: list[str]


class ThresholdCardinality(_Strict):
    field: str
    value: int


class Threshold(_Strict):
    field: list[str] | str
    value: int
    cardinality: list[ThresholdCardinality] = Field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        return [self.field] if isinstance(self.field, str) else list(self.field)


class HistoryWindowStart(_Strict):
    field: str
    value: str


class NewTerms(_Strict):
    field: str
    value: list[str]
    history_window_start: list[HistoryWindowStart] = Field(default_factory=list)

    @property
    def history_window(self) -> str | None:
        return self.history_window_start[0].value if self.history_window_start else None


class SuppressionDuration(_Strict):
    unit: str
    value: int


class AlertSuppression(_Strict):
    """Threshold rules suppress on their threshold fields and take only a duration; the other
    types need ``group_by`` (KD105 checks it per type)."""

    group_by: list[str] | None = None
    duration: SuppressionDuration | None = None
    missing_fields_strategy: str | None = None


class ExceptionItem(_Strict):
    """An exception entry kept in the repo beside the rule (kmsdet extension, optional)."""

    field: str
    operator: str = "included"
    type: str = "match"
    value: str | list[str]


class Metadata(_Strict):
    creation_date: str
    updated_date: str
    maturity: str | None = None
    integration: StrOrList | None = None
    min_stack_version: str | None = None
    min_stack_comments: str | None = None
    deprecation_date: str | None = None
    deprecated_reason: str | None = None
    bypass_bbr_timing: bool | None = None
    comments: str | None = None
    os_type_list: list[str] | None = None
    query_schema_validation: bool | None = None
    related_endpoint_rules: list[str] | None = None
    promotion: bool | None = None
    extended: dict[str, Any] | None = None


class RuleData(_Strict):
    # Required for every rule type.
    author: list[str]
    description: str
    name: str
    risk_score: int
    rule_id: str
    severity: str
    type: str
    # Query and data.
    language: str | None = None
    query: str | None = None
    index: list[str] | None = None
    data_view_id: str | None = None
    filters: list[dict[str, Any]] | None = None
    # Schedule.
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    interval: str | None = None
    max_signals: int | None = None
    timestamp_override: str | None = None
    timestamp_override_fallback_disabled: bool | None = None
    # Documentation.
    note: str | None = None
    setup: str | None = None
    references: list[str] | None = None
    false_positives: list[str] | None = None
    tags: list[str] | None = None
    license: str | None = None
    # ATT&CK.
    threat: list[Threat] | None = None
    threat_mappings: list[ThreatMapping] | None = None
    # Kibana knobs.
    enabled: bool | None = None
    building_block_type: str | None = None
    exceptions_list: list[dict[str, Any]] | None = None
    actions: list[dict[str, Any]] | None = None
    response_actions: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    risk_score_mapping: list[dict[str, Any]] | None = None
    severity_mapping: list[dict[str, Any]] | None = None
    rule_name_override: str | None = None
    timeline_id: str | None = None
    timeline_title: str | None = None
    investigation_fields: InvestigationFields | None = None
    related_integrations: list[dict[str, Any]] | None = None
    required_fields: list[dict[str, Any]] | None = None
    version: int | None = None
    revision: int | None = None
    namespace: str | None = None
    output_index: str | None = None
    # Type-specific.
    new_terms: NewTerms | None = None
    threshold: Threshold | None = None
    alert_suppression: AlertSuppression | None = None
    threat_mapping: list[dict[str, Any]] | None = None
    threat_index: list[str] | None = None
    threat_query: str | None = None
    threat_language: str | None = None
    threat_indicator_path: str | None = None
    threat_filters: list[dict[str, Any]] | None = None
    concurrent_searches: int | None = None
    items_per_search: int | None = None
    anomaly_threshold: int | None = None
    machine_learning_job_id: StrOrList | None = None
    event_category_override: str | None = None
    tiebreaker_field: str | None = None
    timestamp_field: str | None = None


class KmsdetOptions(_Strict):
    """The optional [kmsdet] table, kmsdet's own additions to Elastic's format.

    ``suppress`` maps a lint code to the reason it does not apply to this rule; ``exceptions``
    are rule exceptions (as Kibana's exception items) that every backend applies, and that
    deploy turns into a rule exception list.
    """

    suppress: dict[str, str] = Field(default_factory=dict)
    exceptions: list[ExceptionItem] = Field(default_factory=list)


class Rule(_Strict):
    metadata: Metadata
    rule: RuleData
    transform: dict[str, Any] | None = None
    kmsdet: KmsdetOptions | None = None

    _source: RuleSource | None = PrivateAttr(default=None)

    @property
    def source(self) -> RuleSource:
        if self._source is None:
            return RuleSource(path=Path("<memory>"), text="")
        return self._source

    @property
    def rule_id(self) -> str:
        return self.rule.rule_id

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def suppressed(self) -> dict[str, str]:
        return dict(self.kmsdet.suppress) if self.kmsdet else {}


@dataclass
class RuleSource:
    """Where a rule came from, with the line of every key so findings point at file:line.

    The line index is built on first use: most rules have no finding, and indexing every file
    up front cost more than parsing them on large trees.
    """

    path: Path
    text: str
    _index: tuple[dict[KeyPath, int], dict[KeyPath, tuple[int, int]]] | None = field(
        default=None, repr=False, compare=False)

    @property
    def lines(self) -> dict[KeyPath, int]:
        return self._indexed()[0]

    @property
    def value_starts(self) -> dict[KeyPath, tuple[int, int]]:
        """(line, column) where each string value's text starts in the file."""
        return self._indexed()[1]

    def _indexed(self) -> tuple[dict[KeyPath, int], dict[KeyPath, tuple[int, int]]]:
        if self._index is None:
            self._index = index_lines(self.text)
        return self._index

    def line_of(self, path: KeyPath) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return None
