"""`kmsdet test`."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import typer

from kmsdet.cli.options import OutputFormat, write_file
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from kmsdet.reports.console import stdout, write_json

HELP = """Run every rule's test cases and compare the alerts raised with the expected counts.

Cases live beside each rule as <rule>.cases.toml. Exit 0 when every case passes, 1 on any
failure, 2 on bad input.

Example: kmsdet test rules/ --junit rule-tests.xml
"""


class BackendName(str, Enum):
    embedded = "embedded"
    elasticsearch = "elasticsearch"


def test(
    paths: list[Path] = typer.Argument(None, help="Rule files or folders (default: rules/)."),
    backend: BackendName = typer.Option(BackendName.embedded, "--backend", "-b",
                                        help="Engine that raises the alerts."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f",
                                               help="text for people, json for machines."),
    junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML here."),
    seed: int = typer.Option(0, "--seed", help="Seed for the synthetic events."),
    now: str | None = typer.Option(None, "--now",
                                   help="Run the rules as of this ISO time (default: now)."),
) -> None:
    from kmsdet.cases.explain import explain_case
    from kmsdet.cases.runner import run_tests
    from kmsdet.reports.run_output import render_run, run_json, run_junit_cases
    from kmsdet.rules.loader import load_rules

    rules = load_rules(paths or [Path("rules")])
    with _backend(backend) as engine:
        run = run_tests(rules, engine, now=_parse_now(now), seed=seed)
    if output_format is OutputFormat.json:
        write_json(run_json(run))
    else:
        render_run(run, stdout, explain_case)
    if junit:
        from kmsdet.reports.junit import junit_xml

        write_file(junit, junit_xml("kmsdet test", run_junit_cases(run, explain_case)))
    raise typer.Exit(EXIT_FINDINGS if run.failed else EXIT_OK)


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--now '{text}' is not an ISO time", field="--now",
                         hint="e.g. 2026-01-15T12:00:00Z") from exc
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _backend(name: BackendName):  # noqa: ANN202 - a Backend context manager
    if name is BackendName.embedded:
        from kmsdet.backends.embedded import EmbeddedBackend

        return EmbeddedBackend()
    from kmsdet.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend.from_environment()
