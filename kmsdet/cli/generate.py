"""`kmsdet generate RULE`: must-fire and near-miss events derived from a rule's query."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.markup import escape

from kmsdet.cli.options import (
    ACTOR_TARGET,
    AWS_INTEGRATION,
    GEOIP_DB,
    OutputFormat,
    apply_aws_integration,
)
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK
from kmsdet.reports.console import write_json

HELP = """Generate must-fire events and near misses from a rule's query.

One must-fire event per branch of every `or`, and one near miss per clause (satisfies every
other clause, breaks that one). Each event is checked with the in-memory matcher, then rebuilt
as a raw CloudTrail record and checked again. For an EQL sequence: the steps in order with the
same `by` values inside maxspan, and near misses in the wrong order, with another `by` value,
beyond maxspan, and with an `until` event in between.

Example: kmsdet generate rules/aws_kms/impact_kms_imported_key_material_deleted.toml --raw
--write-cases"""


def generate(
    rule_path: Path = typer.Argument(..., help="The rule's TOML file.", exists=True,
                                     dir_okay=False),
    count: int = typer.Option(None, "--count", "-n", min=1,
                              help="Must-fire events wanted (default: one per `or` branch)."),
    raw: bool = typer.Option(False, "--raw/--ecs",
                             help="Print raw CloudTrail records (default: ECS documents)."),
    full: bool = typer.Option(False, "--full",
                              help="Print whole documents (records with --raw), not only the "
                                   "fields the query reads; --format json always has them."),
    write_cases: bool = typer.Option(False, "--write-cases",
                                     help="Append the events that add coverage to the rule's "
                                          ".cases.toml."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    aws_integration: str | None = AWS_INTEGRATION,
    actor_target: bool | None = ACTOR_TARGET,
    geoip_db: list[Path] | None = GEOIP_DB,
) -> None:
    """Exit 0 when a must-fire event exists, 1 when no document can satisfy the query."""
    apply_aws_integration(aws_integration, actor_target=actor_target,
                          geoip_db=geoip_db)
    from kmsdet.generate.cases import append_cases
    from kmsdet.generate.for_rule import generate_for_rule
    from kmsdet.rules.loader import load_rule

    rule = load_rule(rule_path)
    if rule.rule.language == "eql":
        _generate_eql(rule, write_cases, output_format)
    result = generate_for_rule(rule, count=count)
    written = append_cases(result, today=datetime.now(timezone.utc)) if write_cases else None
    if output_format is OutputFormat.json:
        from kmsdet.generate.report import as_json

        write_json(json.dumps(as_json(result, written, raw=raw), indent=2,
                              default=str))
    else:
        from kmsdet.generate.report import render_text
        from kmsdet.reports.console import stdout

        for line in render_text(result, written, raw=raw, full=full):
            stdout.print(escape(line))
    raise typer.Exit(EXIT_OK if result.firing else EXIT_FINDINGS)


def _generate_eql(rule, write_cases: bool, output_format: OutputFormat) -> None:  # noqa: ANN001
    """EQL rules: a must-fire event or sequence and near misses, as whole cases."""
    from kmsdet.generate.eql_cases import (
        append_eql_cases,
        eql_as_json,
        eql_render_text,
        generate_for_eql_rule,
    )

    result = generate_for_eql_rule(rule)
    written = append_eql_cases(result, today=datetime.now(timezone.utc)) if write_cases else None
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(eql_as_json(result, written), indent=2, default=str))
    else:
        from kmsdet.reports.console import stdout

        for line in eql_render_text(result, written):
            stdout.print(escape(line))
    raise typer.Exit(EXIT_OK if result.firing else EXIT_FINDINGS)
