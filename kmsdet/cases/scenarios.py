"""Storylines: one sequence of CloudTrail events run through the whole pack, with exact alerts.

A rule's own cases prove it in isolation; a storyline proves the pack as a whole: that an attack
raises the alerts it should from every rule and no others, and that routine administration
raises none. A storyline file (``rules/scenarios/<name>.scenario.toml``) holds:

* ``name``, ``description``;
* ``start`` (optional, an offset such as ``-1h``): when the rules went live. Events before it
  are only history (what a new_terms rule remembers); default: the first event's ingest time;
* ``[[event]]`` tables in the case syntax (CloudTrail keys plus ``_at``, ``_ingest_delay``,
  ``_count``), offsets relative to the end of the storyline;
* ``[[expect]]`` tables: ``rule`` (a rule_id or a rule name) and ``alerts``. Every rule of the
  pack that is not listed must raise no alert.

Each rule is run on its own schedule (every ``interval`` from ``start``, searching its
``from``..``to`` window) through the ordinary Backend interface, so a service-backed backend sees
the same executions as the embedded one. Overlapping look-backs are deduplicated the way the
detection engine does: one alert per source event, and a threshold group does not count events
that an earlier alert of the same group already covered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kmsdet.backends.base import Alert, Backend
from kmsdet.backends.schedule import run_on_schedule
from kmsdet.backtest.engine import rule_alerts
from kmsdet.backtest.scan import ScanPlan, ScanResult, build_plan, scan_documents
from kmsdet.cases.event_check import check_event_tables
from kmsdet.cases.events import build_case_events, offset, to_documents
from kmsdet.cases.loader import read_toml_model
from kmsdet.cases.model import Case
from kmsdet.errors import InputError
from kmsdet.rules.loader import SCENARIO_SUFFIX
from kmsdet.rules.model import Rule, RuleSource

DEFAULT_SCENARIO_DIR = Path("rules/scenarios")


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    rule: str = Field(min_length=1, description="rule_id or rule name")
    alerts: int = Field(ge=0)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    name: str
    description: str | None = None
    start: str | None = None
    events: list[dict[str, Any]] = Field(alias="event", min_length=1)
    expect: list[Expectation] = Field(default_factory=list)


@dataclass
class LoadedScenario:
    """A storyline with where it came from, so problems point at file:line."""

    path: Path
    scenario: Scenario
    source: RuleSource

    @property
    def name(self) -> str:
        return self.scenario.name

    def as_case(self) -> Case:
        """The storyline's events in the case form the event builder takes."""
        return Case.model_validate({"name": self.name, "expect": 0,
                                    "event": self.scenario.events})


@dataclass
class RuleOutcome:
    rule: Rule
    expected: int
    alerts: list[Alert] = field(default_factory=list)

    @property
    def actual(self) -> int:
        return len(self.alerts)

    @property
    def passed(self) -> bool:
        return self.actual == self.expected


@dataclass
class ScenarioResult:
    name: str
    path: Path
    events: int
    executions: int
    outcomes: list[RuleOutcome]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.passed]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary: one entry per rule that was expected to alert or did."""
        return {
            "scenario": self.name, "file": str(self.path), "events": self.events,
            "executions": self.executions, "passed": self.passed,
            "rules": [{"rule_id": o.rule.rule_id, "rule_name": o.rule.name,
                       "expected": o.expected, "actual": o.actual, "passed": o.passed}
                      for o in self.outcomes if o.expected or o.actual],
        }


def find_scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """Storyline files under ``paths`` (files as given, folders searched recursively)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{SCENARIO_SUFFIX}")))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"no such file or directory: {path}", file=str(path),
                             hint=f"pass storyline files (*{SCENARIO_SUFFIX}) or their folder")
    return found


def load_scenario(path: str | Path) -> LoadedScenario:
    """Read and validate one storyline; every problem is an InputError with file and line."""
    path = Path(path)
    scenario, source = read_toml_model(
        path, Scenario, what="storyline",
        hint="a storyline needs name, at least one [[event]] and [[expect]] tables with rule "
             "and alerts")
    check_event_tables(scenario.events, source=source, prefix=("event",),
                       label=f"storyline '{scenario.name}'")
    return LoadedScenario(path=path, scenario=scenario, source=source)

def run_scenarios(rules: Sequence[Rule], paths: Iterable[str | Path], backend: Backend, *,
                  now: datetime | None = None, seed: int = 0,
                  skipped: Sequence[Rule] = ()) -> list[ScenarioResult]:
    """Every storyline under ``paths`` through every rule of ``rules`` on ``backend``;
    ``skipped`` rules belong to the pack but this backend does not run them, so what a
    storyline expects of them is not checked (the report lists them as skipped)."""
    when = now or datetime.now(timezone.utc).replace(microsecond=0)
    return [run_scenario(rules, load_scenario(p), backend, now=when, seed=seed, skipped=skipped)
            for p in find_scenario_files(paths)]


def run_scenario(rules: Sequence[Rule], loaded: LoadedScenario, backend: Backend, *,
                 now: datetime, seed: int = 0, skipped: Sequence[Rule] = ()) -> ScenarioResult:
    expected = _expected_counts([*rules, *skipped], loaded)
    for rule in skipped:
        expected.pop(rule.rule_id, None)
    case = loaded.as_case()
    key = f"scenario:{loaded.path.stem}"
    try:
        events = build_case_events(case, now=now, seed=seed, key=key)
    except InputError as exc:
        exc.file = exc.file or str(loaded.path)
        raise
    documents = to_documents(events, run_id=key)
    ingested = [e.ingested for e in events]
    start = (now + offset(loaded.scenario.start, field="start") if loaded.scenario.start
             else min(ingested))
    end = max(max(ingested), now)
    outcomes = []
    executions = 0
    streamed = _streamed(rules, documents) if backend.name == "embedded" else None
    for number, rule in enumerate(rules):
        if streamed is not None:
            plan, scanned = streamed
            alerts, runs = rule_alerts(plan, scanned, number, start=start, end=end)
        else:
            alerts, runs = run_on_schedule(rule, documents, backend, start=start, end=end,
                                            prefix=f"kmsdet-story-{uuid.uuid4().hex[:12]}")
        executions += runs
        outcomes.append(RuleOutcome(rule=rule, expected=expected.get(rule.rule_id, 0),
                                    alerts=alerts))
    return ScenarioResult(name=loaded.name, path=loaded.path, events=len(documents),
                          executions=executions, outcomes=outcomes)


def _streamed(rules: Sequence[Rule],
              documents: Sequence[dict[str, Any]]) -> tuple[ScanPlan, ScanResult]:
    """The embedded backend's storyline: every document matched once against the whole pack,
    each rule's schedule computed from its matches (kmsdet.backends.streaming)."""
    plan = build_plan(rules)
    return plan, scan_documents(plan, (("ecs", d) for d in documents))


def _expected_counts(rules: Sequence[Rule], loaded: LoadedScenario) -> dict[str, int]:
    by_key: dict[str, str] = {}
    for rule in rules:
        by_key[rule.rule_id] = rule.rule_id
        by_key[rule.name] = rule.rule_id
    counts: dict[str, int] = {}
    for index, item in enumerate(loaded.scenario.expect):
        rule_id = by_key.get(item.rule)
        line = loaded.source.line_of(("expect", index, "rule"))
        if rule_id is None:
            raise InputError(f"storyline '{loaded.name}' expects alerts from '{item.rule}', "
                             "which is not a rule of the pack", file=str(loaded.path), line=line,
                             field=f"expect[{index}].rule",
                             hint="name a rule by its rule_id or its exact name")
        if rule_id in counts:
            raise InputError(f"storyline '{loaded.name}' lists '{item.rule}' twice",
                             file=str(loaded.path), line=line, field=f"expect[{index}].rule",
                             hint="give each rule one [[expect]] with its total alert count")
        counts[rule_id] = item.alerts
    return counts
