"""One interface for every engine that answers "which alerts does this rule raise on these events?".

A backend receives a batch of executions at once so that service-backed engines can seed all
documents in one bulk request and run all searches together; the embedded engine simply loops.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from kmsdet.errors import UsageError
from kmsdet.rules.model import Rule

RUN_ID_FIELD = "labels.kmsdet_run_id"
# The rule types every backend runs as Kibana does (KQL language only), and EQL rules, which
# only some backends run (see require_supported's ``eql`` argument).
SUPPORTED_TYPES = ("query", "threshold", "new_terms")
EQL_TYPE = "eql"


@dataclass(frozen=True)
class Alert:
    """One alert: the rule that raised it and the source event it was raised on."""

    rule_id: str
    event_id: str | None
    timestamp: str | None
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Execution:
    """One rule run over one isolated set of ECS documents, as if Kibana ran it at ``now``.

    ``run_id`` is written into every document (``labels.kmsdet_run_id``) by whoever seeds them,
    so that service-backed engines count only this execution's alerts.
    """

    rule: Rule
    documents: Sequence[Mapping[str, Any]]
    now: datetime
    run_id: str


class Backend(ABC):
    name: ClassVar[str] = ""

    @abstractmethod
    def execute(self, executions: Sequence[Execution]) -> list[list[Alert]]:
        """The alerts of each execution, in the order given."""

    runs_eql: ClassVar[bool] = False

    def cannot_run(self, rule: Rule) -> str | None:
        """Why this backend cannot run ``rule`` (None when it can): ``kmsdet test
        --skip-unsupported`` reports such rules as skipped instead of failing the run."""
        try:
            require_supported(rule, self.name, eql=self.runs_eql)
        except UsageError as exc:
            return exc.message
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or temporary indices."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def distinct_document_sets(executions: Sequence[Execution]) -> list[Execution]:
    """One execution per (document list, run id), so that service backends seed documents that
    several rules share (the benign baseline) once, not once per rule."""
    seen: set[tuple[int, str]] = set()
    out = []
    for execution in executions:
        key = (id(execution.documents), execution.run_id)
        if key not in seen:
            seen.add(key)
            out.append(execution)
    return out


def require_supported(rule: Rule, backend: str, eql: bool = False) -> None:
    """Refuse, naming the rule file, a rule type or language the backends cannot run
    (``eql``: this backend also runs EQL rules)."""
    data = rule.rule
    if eql and data.type == EQL_TYPE and data.language == "eql":
        return
    if data.type not in SUPPORTED_TYPES or data.language != "kuery":
        raise UsageError(f"the {backend} backend runs KQL query, threshold and new_terms rules; "
                         f"'{data.name}' is a {data.type}/{data.language} rule",
                         file=str(rule.source.path), field="rule.type",
                         hint="kmsdet lints this rule but runs only KQL rules of these types; "
                              "test it in a Kibana stack")
