"""Running every case of every rule on a backend and comparing alert counts.

All executions go to the backend in one batch, so a service-backed backend seeds once and
searches once per case; the embedded backend just loops.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kmsdet.backends.base import Alert, Backend, Execution
from kmsdet.cases.baseline import baseline_case, baseline_documents, baseline_executions
from kmsdet.cases.events import build_case_events, to_documents
from kmsdet.cases.loader import load_cases
from kmsdet.cases.model import Case
from kmsdet.rules.model import Rule


@dataclass
class CaseResult:
    rule: Rule
    case: Case
    case_line: int | None
    cases_file: str
    documents: list[dict[str, Any]]
    alerts: list[Alert] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def expected(self) -> int:
        return self.case.expect

    @property
    def actual(self) -> int:
        return len(self.alerts)

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


@dataclass
class TestRun:
    backend: str
    results: list[CaseResult]
    rules_without_cases: list[Rule]
    now: datetime
    seed: int

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


def plan_executions(rules: Sequence[Rule], *, now: datetime, seed: int,
                    run_prefix: str) -> tuple[list[CaseResult], list[Execution], list[Rule]]:
    """Build every case's documents; returns results to fill, executions, rules without cases."""
    results: list[CaseResult] = []
    executions: list[Execution] = []
    missing: list[Rule] = []
    for rule in rules:
        rule_cases = load_cases(rule.source.path)
        if rule_cases is None or not rule_cases.cases:
            missing.append(rule)
            continue
        for index, case in enumerate(rule_cases.cases):
            run_id = f"{run_prefix}-{len(executions)}"
            events = build_case_events(case, now=now, seed=seed, key=rule.rule_id)
            docs = to_documents(events, run_id=run_id)
            results.append(CaseResult(rule=rule, case=case,
                                      case_line=rule_cases.line_of_case(index),
                                      cases_file=str(rule_cases.path), documents=docs))
            executions.append(Execution(rule=rule, documents=docs, now=now, run_id=run_id))
    return results, executions, missing


def check_queries_parse(rules: Sequence[Rule]) -> None:
    """Parse every KQL query up front: a rule without cases is never run, and its broken query
    would otherwise pass unnoticed while the run reports ok."""
    from kmsdet.kql.parser import parse
    from kmsdet.rules.query_errors import located_in_rule

    for rule in rules:
        if rule.rule.language == "kuery" and rule.rule.query:
            with located_in_rule(rule):
                parse(rule.rule.query)


def run_tests(rules: Sequence[Rule], backend: Backend, *, now: datetime | None = None,
              seed: int = 0, baseline: int = 0) -> TestRun:
    """Every case of every rule on ``backend``; ``now`` defaults to the current time.

    With ``baseline`` > 0 every rule also runs over that many benign events and must stay quiet.
    """
    check_queries_parse(rules)
    when = now or datetime.now(timezone.utc).replace(microsecond=0)
    prefix = f"kmsdet-{uuid.uuid4().hex[:12]}"
    results, executions, missing = plan_executions(rules, now=when, seed=seed, run_prefix=prefix)
    if baseline > 0:
        run_id = f"{prefix}-baseline"
        history = any(r.rule.type == "new_terms" for r in rules)
        docs = baseline_documents(baseline, seed=seed, now=when, run_id=run_id, history=history)
        case = baseline_case(baseline)
        for rule in rules:
            results.append(CaseResult(rule=rule, case=case, case_line=None,
                                      cases_file="(benign baseline)", documents=docs))
        executions.extend(baseline_executions(rules, docs, now=when, run_id=run_id))
    alerts = backend.execute(executions)
    for result, found in zip(results, alerts, strict=True):
        result.alerts = found
    return TestRun(backend=backend.name, results=results, rules_without_cases=missing, now=when,
                   seed=seed)
