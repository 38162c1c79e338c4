"""`kmsdet lint`."""

from __future__ import annotations

from pathlib import Path

import typer

from kmsdet.cli.options import OutputFormat, write_file
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK
from kmsdet.reports.console import stdout, write_json

HELP = """Lint TOML rules: syntax, schema, values, dates, schedule, query fields, ATT&CK, tags.

Exit 0 when clean (with --strict: no warnings either), 1 on findings, 2 on bad usage.

Example: kmsdet lint rules/ --strict --sarif lint.sarif
"""


def lint(
    paths: list[Path] = typer.Argument(None, help="Rule files or folders (default: rules/)."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f",
                                               help="text for people, json for machines."),
    sarif: Path | None = typer.Option(None, "--sarif", help="Also write SARIF 2.1.0 here."),
    junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML here."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail the run too."),
    list_checks: bool = typer.Option(False, "--list-checks", help="List the checks and exit."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1,
                                    help="Worker processes for large trees (default: one per "
                                         "CPU; 1 lints in this process)."),
) -> None:
    from kmsdet.rules.checks.base import all_checks
    from kmsdet.rules.lint import LOAD_CODES, lint_paths

    checks = all_checks()
    if list_checks:
        import json

        from kmsdet.reports.lint_output import check_list

        rows = check_list(LOAD_CODES, checks)
        if output_format is OutputFormat.json:
            write_json(json.dumps({"checks": rows}, indent=2))
        else:
            for row in rows:
                codes = ", ".join(str(c) for c in row["codes"])  # type: ignore[attr-defined]
                stdout.print(f"{codes:<28} {row['severity']:<8} {row['summary']}",
                             markup=False)
        raise typer.Exit(EXIT_OK)
    from kmsdet.cases.loader import lint_targets

    report = lint_paths(lint_targets(paths or [Path("rules")]), strict=strict, jobs=jobs)
    if output_format is OutputFormat.json:
        from kmsdet.reports.lint_output import lint_json

        write_json(lint_json(report))
    else:
        from kmsdet.reports.lint_text import render_lint

        render_lint(report, stdout, strict=strict)
    if sarif:
        import json

        from kmsdet.reports.sarif import to_sarif

        write_file(sarif, json.dumps(to_sarif(report.findings, checks, Path.cwd()), indent=2))
    if junit:
        from kmsdet.reports.junit import junit_xml
        from kmsdet.reports.lint_output import lint_junit_cases

        write_file(junit, junit_xml("kmsdet lint", lint_junit_cases(report, strict=strict)))
    raise typer.Exit(EXIT_FINDINGS if report.failed(strict) else EXIT_OK)
