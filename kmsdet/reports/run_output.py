"""Rendering rule test runs: text for people, JSON for machines, JUnit for CI."""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from kmsdet.cases.events import event_summary
from kmsdet.cases.runner import CaseResult, TestRun
from kmsdet.reports.junit import JUnitCase

Explainer = Callable[[CaseResult], list[str]]
MAX_EVENTS_SHOWN = 20


def run_json(run: TestRun) -> str:
    return json.dumps({
        "backend": run.backend,
        "results": [{
            "rule_id": r.rule.rule_id,
            "rule_name": r.rule.name,
            "case": r.case.name,
            "expected": r.expected,
            "actual": r.actual,
            "passed": r.passed,
        } for r in run.results],
        "passed": run.passed,
        "failed": run.failed,
    }, indent=2)


def failure_details(result: CaseResult, explain: Explainer | None = None) -> list[str]:
    """Why a case failed: the counts, the events, and which parts of the query held."""
    verb = "fire" if result.expected else "stay quiet"
    lines = [f"expected {result.expected} alert(s), got {result.actual}: the rule should "
             f"{verb} on this case ({result.cases_file}:{result.case_line or 0})"]
    alerted = {id(a.source) for a in result.alerts}
    shown = result.documents if len(result.documents) <= MAX_EVENTS_SHOWN else \
        [a.source for a in result.alerts[:MAX_EVENTS_SHOWN]]
    if len(shown) < len(result.documents):
        lines.append(f"  {len(result.documents)} events; the first {len(shown)} that alerted:")
    for i, doc in enumerate(shown, start=1):
        mark = "ALERT" if id(doc) in alerted else "no alert"
        lines.append(f"  event {i}: {event_summary(doc)} -> {mark}")
    if explain is not None and len(result.documents) <= MAX_EVENTS_SHOWN:
        lines.extend(f"  {line}" for line in explain(result))
    return lines


def render_run(run: TestRun, console: Console, explain: Explainer | None = None) -> None:
    current = None
    for result in run.results:
        if result.rule.rule_id != current:
            current = result.rule.rule_id
            console.print(f"[bold]{escape(result.rule.name)}[/] [dim]{result.rule.rule_id}[/]")
        status = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        console.print(f"  {status} {escape(result.case.name)} "
                      f"[dim](expected {result.expected}, got {result.actual})[/]")
        if not result.passed:
            for line in failure_details(result, explain):
                console.print(f"       {escape(line)}")
    for rule in run.rules_without_cases:
        console.print(f"[yellow]no cases[/] {escape(rule.name)} [dim]({rule.source.path})[/]")
    verdict = "[green]ok[/]" if run.failed == 0 else "[red]failed[/]"
    console.print(f"{len(run.results)} cases on the {run.backend} backend: {run.passed} passed, "
                  f"{run.failed} failed: {verdict}")


def run_junit_cases(run: TestRun, explain: Explainer | None = None) -> list[JUnitCase]:
    cases = []
    for r in run.results:
        failure = None if r.passed else f"expected {r.expected} alert(s), got {r.actual}"
        details = "" if r.passed else "\n".join(failure_details(r, explain))
        cases.append(JUnitCase(classname=f"kmsdet.{r.rule.name}", name=r.case.name,
                               failure=failure, details=details, seconds=r.seconds))
    return cases
