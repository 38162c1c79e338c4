"""Human rendering of lint findings: one line per finding, file:line:column first, so that
editors and terminals turn it into a link."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from kmsdet.reports.console import plural
from kmsdet.rules.checks.base import Severity
from kmsdet.rules.lint import LintReport


def render_lint(report: LintReport, console: Console, *, strict: bool) -> None:
    for f in report.findings:
        where = ":".join(str(p) for p in (f.file, f.line, f.column) if p is not None)
        colour = "red" if f.severity is Severity.ERROR else "yellow"
        console.print(f"{escape(where)}: [{colour}]{f.severity.value}[/] [bold]{f.code}[/] "
                      f"{escape(f.message)}")
        if f.hint:
            console.print(f"    [dim]hint: {escape(f.hint)}[/]")
    errors, warnings = len(report.errors), len(report.warnings)
    verdict = "[red]failed[/]" if report.failed(strict) else "[green]ok[/]"
    suffix = " (--strict: warnings fail)" if strict and warnings else ""
    console.print(f"{plural(len(report.rules), 'rule')} in {plural(report.files, 'file')}: "
                  f"{plural(errors, 'error')}, {plural(warnings, 'warning')}: {verdict}{suffix}")
