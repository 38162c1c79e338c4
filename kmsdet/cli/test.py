"""`kmsdet test`."""

from __future__ import annotations

import json
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from kmsdet.cli.options import (
    ACTOR_TARGET,
    AWS_INTEGRATION,
    GEOIP_DB,
    OutputFormat,
    apply_aws_integration,
    parse_now,
    write_file,
)
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
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK
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
    skip_unsupported: bool = typer.Option(
        False, "--skip-unsupported",
        help="Report rules this backend cannot run (e.g. EQL on a cluster without the EQL "
             "API) as skipped instead of failing the run."),
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
    aws_integration: str | None = AWS_INTEGRATION,
    actor_target: bool | None = ACTOR_TARGET,
    geoip_db: list[Path] | None = GEOIP_DB,
) -> None:
    from kmsdet.cases.explain import explain_case
    from kmsdet.cases.runner import run_tests
    from kmsdet.cases.scenarios import run_scenarios
    from kmsdet.reports.run_output import render_report, report_json, report_junit_cases
    from kmsdet.reports.test_report import TestReport
    from kmsdet.rules.loader import load_rules

    roots = paths or [Path("rules")]
    pipelines = apply_aws_integration(aws_integration, config, allow_all=True,
                                      actor_target=actor_target, geoip_db=geoip_db)
    rules = load_rules(roots)
    kibana = None
    if backend is BackendName.kibana or target:
        from kmsdet.config import resolve_target

        kibana = resolve_target(target_options(target, kibana_url, space, kibana_api_key,
                                               kibana_user, kibana_password, kibana_ca_cert,
                                               insecure, config))
    es = es_target(es_url, es_api_key, es_user, es_password, es_ca_cert, insecure, kibana) \
        if backend is not BackendName.embedded else None
    if len(pipelines) > 1:
        _test_every_version(pipelines, rules, roots, lambda: _backend(backend, es, kibana),
                            now=parse_now(now), seed=seed, baseline=baseline,
                            output_format=output_format, junit=junit)
    with _backend(backend, es, kibana) as engine, \
            stderr.status(f"running {len(rules)} rules on the {backend.value} backend ..."):
        skipped = [(r, why) for r in rules if (why := engine.cannot_run(r))] \
            if skip_unsupported else []
        runnable = [r for r in rules if all(r is not s for s, _ in skipped)]
        run = run_tests(runnable, engine, now=parse_now(now), seed=seed, baseline=baseline)
        stories = run_scenarios(runnable, [p for p in roots if p.is_dir()], engine, now=run.now,
                                seed=seed, skipped=[r for r, _ in skipped])
        fidelity = engine.failures() if hasattr(engine, "failures") else []
    report = TestReport(run=run, stories=stories, fidelity=fidelity, skipped=skipped)
    if output_format is OutputFormat.json:
        write_json(report_json(report, explain_case))
    else:
        render_report(report, stdout, explain_case)
    if junit:
        from kmsdet.reports.junit import junit_xml

        write_file(junit, junit_xml("kmsdet test", report_junit_cases(report, explain_case)))
    raise typer.Exit(report.exit_code)


def _test_every_version(pipelines: tuple[Any, ...], rules: list[Any], roots: list[Path],
                        make_backend: Any, *, now: Any, seed: int, baseline: int,
                        output_format: OutputFormat, junit: Path | None) -> None:
    """``--aws-integration all``: each pipeline version in turn, then what differs; exits."""
    from kmsdet.cases.explain import explain_case
    from kmsdet.cases.runner import run_tests
    from kmsdet.cases.scenarios import run_scenarios
    from kmsdet.cases.versions import compare_runs
    from kmsdet.cloudtrail.integration import using
    from kmsdet.reports.run_output import render_report, report_json, report_junit_cases
    from kmsdet.reports.test_report import TestReport

    reports, junit_cases = [], []
    for pipeline in pipelines:
        with using(pipeline), make_backend() as engine, \
                stderr.status(f"running {len(rules)} rules, AWS integration {pipeline.name} ..."):
            run = run_tests(rules, engine, now=now, seed=seed, baseline=baseline)
            now = run.now  # every version at the same instant, so only the mapping differs
            stories = run_scenarios(rules, [p for p in roots if p.is_dir()], engine, now=now,
                                    seed=seed)
            fidelity = engine.failures() if hasattr(engine, "failures") else []
        report = TestReport(run=run, stories=stories, fidelity=fidelity)
        reports.append((pipeline, report))
        junit_cases += [replace(c, classname=f"{c.classname}[aws {pipeline.name}]")
                        for c in report_junit_cases(report, explain_case)]
    differences = compare_runs([(p, r.run) for p, r in reports])
    failed = bool(differences) or any(r.exit_code for _, r in reports)
    if output_format is OutputFormat.json:
        write_json(json.dumps({
            "versions": {p.name: json.loads(report_json(r, explain_case)) for p, r in reports},
            "differences": [d.as_dict() for d in differences]}, indent=2))
    else:
        for pipeline, report in reports:
            render_report(report, stdout, explain_case)
            colour = "red" if report.exit_code else "green"
            stdout.print(f"[{colour}]AWS integration {pipeline.name}[/]: {report.passed} passed, "
                         f"{report.failed} failed")
        if differences:
            stdout.print(f"[red]{len(differences)} case(s) whose verdict depends on the AWS "
                         "integration version:[/]")
            for difference in differences:
                stdout.print(f"  {escape(difference.render())}")
        else:
            stdout.print("every case has the same verdict on every AWS integration version")
    if junit:
        from kmsdet.reports.junit import junit_xml

        write_file(junit, junit_xml("kmsdet test", junit_cases))
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


def _backend(name: BackendName, es: Any, kibana: Any):  # noqa: ANN202 - a Backend
    if name is BackendName.embedded:
        from kmsdet.backends.embedded import EmbeddedBackend

        return EmbeddedBackend()
    if name is BackendName.kibana:
        from kmsdet.backends.kibana import KibanaBackend

        return KibanaBackend.from_environment(kibana, es)
    from kmsdet.backends.elasticsearch import ElasticsearchBackend

    return ElasticsearchBackend.from_environment(es)
