"""`kmsdet test`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer

from kmsdet.cli.options import OutputFormat, parse_now, write_file
from kmsdet.cli.targets import (
    API_KEY,
    CA_CERT,
    CONFIG,
    ES_API_KEY,
    ES_CA_CERT,
    ES_PASSWORD,
    ES_URL,
    ES_USER,
    INSECURE,
    KIBANA_URL,
    PASSWORD,
    SPACE,
    TARGET,
    USER,
    es_target,
    target_options,
)
from kmsdet.reports.console import stderr, stdout, write_json

HELP = """Run every rule's test cases and storylines; compare the alerts with the expected counts.

Cases live beside each rule as <rule>.cases.toml; storylines (*.scenario.toml) anywhere under
the given folders. Exit 0 when everything passes, 1 on any failure (or, on the kibana backend,
any difference between Kibana's search and kmsdet's), 2 on bad input, 3 when a service is
unreachable.

Example: kmsdet test rules/ --junit rule-tests.xml --baseline 10000
"""


class BackendName(str, Enum):
    embedded = "embedded"
    elasticsearch = "elasticsearch"
    kibana = "kibana"


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
    baseline: int = typer.Option(0, "--baseline", min=0,
                                 help="Also run every rule over N benign events; none may fire."),
    es_url: str | None = ES_URL,
    es_api_key: str | None = ES_API_KEY,
    es_user: str | None = ES_USER,
    es_password: str | None = ES_PASSWORD,
    es_ca_cert: Path | None = ES_CA_CERT,
    target: str | None = TARGET,
    kibana_url: str | None = KIBANA_URL,
    space: str | None = SPACE,
    kibana_api_key: str | None = API_KEY,
    kibana_user: str | None = USER,
    kibana_password: str | None = PASSWORD,
    kibana_ca_cert: Path | None = CA_CERT,
    insecure: bool | None = INSECURE,
    config: Path | None = CONFIG,
) -> None:
    from kmsdet.cases.explain import explain_case
    from kmsdet.cases.runner import run_tests
    from kmsdet.cases.scenarios import run_scenarios
    from kmsdet.reports.run_output import render_report, report_json, report_junit_cases
    from kmsdet.reports.test_report import TestReport
    from kmsdet.rules.loader import load_rules

    roots = paths or [Path("rules")]
    rules = load_rules(roots)
    kibana = None
    if backend is BackendName.kibana or target:
        from kmsdet.config import resolve_target

        kibana = resolve_target(target_options(target, kibana_url, space, kibana_api_key,
                                               kibana_user, kibana_password, kibana_ca_cert,
                                               insecure, config))
    es = es_target(es_url, es_api_key, es_user, es_password, es_ca_cert, insecure, kibana) \
        if backend is not BackendName.embedded else None
    with _backend(backend, es, kibana) as engine, \
            stderr.status(f"running {len(rules)} rules on the {backend.value} backend ..."):
        run = run_tests(rules, engine, now=parse_now(now), seed=seed, baseline=baseline)
        stories = run_scenarios(rules, [p for p in roots if p.is_dir()], engine, now=run.now,
                                seed=seed)
        fidelity = engine.failures() if hasattr(engine, "failures") else []
    report = TestReport(run=run, stories=stories, fidelity=fidelity)
    if output_format is OutputFormat.json:
        write_json(report_json(report, explain_case))
    else:
        render_report(report, stdout, explain_case)
    if junit:
        from kmsdet.reports.junit import junit_xml

        write_file(junit, junit_xml("kmsdet test", report_junit_cases(report, explain_case)))
    raise typer.Exit(report.exit_code)


def _backend(name: BackendName, es: Any, kibana: Any):  # noqa: ANN202 - a Backend
    if name is BackendName.embedded:
        from kmsdet.backends.embedded import EmbeddedBackend

        return EmbeddedBackend()
    if name is BackendName.kibana:
        from kmsdet.backends.kibana import KibanaBackend

        return KibanaBackend.from_environment(kibana, es)
    from kmsdet.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend.from_environment(es)
