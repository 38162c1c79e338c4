"""Rendering rule test runs: text for people, JSON for machines, JUnit for CI.

Every renderer takes the whole :class:`TestReport` (cases, storylines, fidelity checks) and
takes its counts and verdict from it, so the reports agree with each other and with the exit
code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape

from kmsdet.cases.events import event_summary
from kmsdet.cases.runner import CaseResult, TestRun
from kmsdet.cases.scenarios import ScenarioResult
from kmsdet.reports.console import plural
from kmsdet.reports.junit import JUnitCase
from kmsdet.reports.test_report import NOTHING_TESTED, TestReport

Explainer = Callable[[CaseResult], list[str]]
MAX_EVENTS_SHOWN = 20
MAX_EXPLAIN_LINES = 40


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


def failure_details(result: CaseResult, explain: Explainer | None = None, *,
                    max_explain_lines: int | None = MAX_EXPLAIN_LINES) -> list[str]:
    """Why a case failed: the counts, the events, and which parts of the query held (capped
    per event unless ``max_explain_lines`` is None)."""
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
        explanation = explain(result)
        if max_explain_lines is not None:
            explanation = cap_explanation(explanation, max_explain_lines)
        lines.extend(f"  {line}" for line in explanation)
    return lines


def cap_explanation(lines: list[str], limit: int) -> list[str]:
    """At most ``limit`` lines of each event's clause-by-clause explanation, then how many
    were left out: a query of thousands of clauses would otherwise print megabytes."""
    out: list[str] = []
    shown = hidden = 0

    def close() -> None:
        if hidden:
            out.append(f"  ... {hidden:,} more line(s) of this explanation left out "
                       "(--format json has them all)")

    for line in lines:
        if not line.startswith(" "):  # "event N against the query:" starts a new block
            close()
            shown = hidden = 0
            out.append(line)
        elif shown < limit:
            shown += 1
            out.append(line)
        else:
            hidden += 1
    close()
    return out


def storyline_failure_details(story: ScenarioResult) -> list[str]:
    """Per rule that raised another number of alerts than the storyline states: the counts and
    the events it alerted on."""
    lines = []
    for outcome in story.failures:
        lines.append(f"{outcome.rule.name} ({outcome.rule.rule_id}): expected "
                     f"{outcome.expected} alert(s), got {outcome.actual}")
        for alert in outcome.alerts[:MAX_EVENTS_SHOWN]:
            lines.append(f"  alert on {event_summary(alert.source)}")
        if outcome.actual > MAX_EVENTS_SHOWN:
            lines.append(f"  ... and {outcome.actual - MAX_EVENTS_SHOWN} more alert(s)")
    return lines


def storyline_json(story: ScenarioResult) -> dict[str, Any]:
    """The storyline's own summary plus its failures in full (the events each rule alerted on)."""
    return {**story.as_dict(),
            "failures": [{"rule_id": o.rule.rule_id, "rule_name": o.rule.name,
                          "expected": o.expected, "actual": o.actual,
                          "alerted_events": [event_summary(a.source) for a in o.alerts]}
                         for o in story.failures]}


def fidelity_json(check: Any) -> dict[str, Any]:
    return {"rule_id": check.rule_id, "run_id": check.run_id,
            "differences": [d.render() for d in check.differences]}


def report_json(report: TestReport, explain: Explainer | None = None) -> str:
    """The run as one JSON document; ``passed``/``failed`` count cases and storylines, and
    each failed case carries its full failure details (never capped)."""
    document = json.loads(run_json(report.run))
    for entry, result in zip(document["results"], report.run.results, strict=True):
        if not result.passed:
            entry["details"] = failure_details(result, explain, max_explain_lines=None)
    document.update({
        "scenarios": [storyline_json(s) for s in report.stories],
        "fidelity": [fidelity_json(c) for c in report.fidelity],
        "tests": report.tests, "passed": report.passed, "failed": report.failed,
        "rules_without_cases": [{"rule_id": r.rule_id, "rule_name": r.name,
                                 "file": str(r.source.path)}
                                for r in report.run.rules_without_cases],
        "skipped_rules": [{"rule_id": r.rule_id, "rule_name": r.name,
                           "file": str(r.source.path), "reason": why}
                          for r, why in report.skipped],
        "problems": report.problems(), "ok": report.ok,
    })
    return json.dumps(document, indent=2)


def render_report(report: TestReport, console: Console,
                  explain: Explainer | None = None) -> None:
    """Cases, storylines and fidelity checks, then the one summary line, last."""
    run = report.run
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
    for rule, why in report.skipped:
        console.print(f"[yellow]SKIP[/] {escape(rule.name)}: not run on the {run.backend} "
                      f"backend: {escape(why)}")
    for story in report.stories:
        status = "[green]PASS[/]" if story.passed else "[red]FAIL[/]"
        console.print(f"{status} storyline {escape(story.name)} [dim]({story.path})[/]")
        for line in storyline_failure_details(story):
            console.print(f"       {escape(line)}")
    for check in report.fidelity:
        console.print(f"[red]FIDELITY[/] rule {check.rule_id}: Kibana's search differs from "
                      "kmsdet's translation")
        for difference in check.differences:
            console.print(f"       {escape(difference.render())}")
    for problem in report.problems():
        console.print(f"[red]{escape(problem)}[/]")
    verdict = "[green]ok[/]" if report.ok else "[red]failed[/]"
    console.print(f"{plural(report.tests, 'test')} on the {run.backend} backend "
                  f"({plural(len(run.results), 'case')}, "
                  f"{plural(len(report.stories), 'storyline')}): {report.passed} passed, "
                  f"{report.failed} failed: {verdict}")


def report_junit_cases(report: TestReport,
                       explain: Explainer | None = None) -> list[JUnitCase]:
    """Cases, storylines, rules without cases (skipped), fidelity differences and a failing
    entry for a run that tested nothing, so the file's counts match the exit code."""
    cases = []
    for r in report.run.results:
        failure = None if r.passed else f"expected {r.expected} alert(s), got {r.actual}"
        details = "" if r.passed else "\n".join(failure_details(r, explain))
        cases.append(JUnitCase(classname=f"kmsdet.{r.rule.name}", name=r.case.name,
                               failure=failure, details=details, seconds=r.seconds))
    for rule in report.run.rules_without_cases:
        cases.append(JUnitCase(classname=f"kmsdet.{rule.name}", name="(no cases)",
                               skipped=f"no cases file or no [[case]] for {rule.source.path}"))
    for rule, why in report.skipped:
        cases.append(JUnitCase(classname=f"kmsdet.{rule.name}", name="(not run)",
                               skipped=f"not run on the {report.run.backend} backend: {why}"))
    for story in report.stories:
        failure = None if story.passed else \
            f"{len(story.failures)} rule(s) raised another number of alerts than stated"
        cases.append(JUnitCase(classname="kmsdet.storyline", name=story.name, failure=failure,
                               details="\n".join(storyline_failure_details(story))))
    for check in report.fidelity:
        cases.append(JUnitCase(classname="kmsdet.fidelity", name=check.rule_id,
                               failure="Kibana's search differs from kmsdet's translation",
                               details="\n".join(d.render() for d in check.differences)))
    if report.tested_nothing:
        cases.append(JUnitCase(classname="kmsdet.run", name="nothing tested",
                               failure=NOTHING_TESTED))
    return cases
