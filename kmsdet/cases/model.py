"""Rule test cases: named scenarios of CloudTrail events and the alert count they must raise.

Cases live beside their rule as ``<rule stem>.cases.toml`` so that the rule file itself stays
in Elastic's format (it can be copied into elastic/detection-rules unchanged).

Each ``[[case.event]]`` table holds short overrides of the CloudTrail record builder's defaults,
written with the record's own key names (``eventName = "DisableKey"``,
``userIdentity.type = "AssumedRole"``). Keys starting with ``_`` are kmsdet's, not CloudTrail's:
``_at`` (event time relative to the rule run, default ``-1m``), ``_ingest_delay`` (time from the
event to ``event.ingested``, default ``30s``), ``_count`` (repeat the event N times).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kmsdet.rules.model import RuleSource

EVENT_OPTIONS = ("_at", "_ingest_delay", "_count")


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    name: str
    expect: int = Field(ge=0, description="alerts the rule must raise on these events")
    description: str | None = None
    events: list[dict[str, Any]] = Field(alias="event", min_length=1)

    @property
    def must_fire(self) -> bool:
        return self.expect > 0


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    case: list[Case] = Field(default_factory=list)


@dataclass
class RuleCases:
    """The cases of one rule, with where they came from for error messages."""

    path: Path
    cases: list[Case]
    source: RuleSource

    def line_of_case(self, index: int) -> int | None:
        return self.source.line_of(("case", index))
