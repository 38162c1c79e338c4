"""`kmsdet replay` and `kmsdet events`: real or synthetic events through the rules."""

from __future__ import annotations

import json
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
from kmsdet.errors import EXIT_OK, UsageError
from kmsdet.reports.console import stdout, write_json

REPLAY_HELP = """Replay recorded events through the rules as if each rule had run on its schedule.

EVENTS are CloudTrail log files as delivered to S3 ({"Records": [...]}, optionally .gz), ndjson
of raw records, ndjson of ECS documents (e.g. exported from Elasticsearch), or folders of them.
Raw records are mapped to ECS as Elastic's AWS integration does.

Example: kmsdet replay ./AWSLogs/ --rules rules/ --format json
"""

EVENTS_HELP = """Print the events of a rule's test cases, or convert raw CloudTrail, as ndjson.

Example: kmsdet events rules/aws_kms/impact_kms_imported_key_material_deleted.toml --ecs
Example: kmsdet events --from trail.json.gz --ecs
"""


def replay(
    events: list[Path] = typer.Argument(..., help="Event files or folders."),
    rules: list[Path] = typer.Option(None, "--rules", "-r", help="Rules (default: rules/)."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    aws_integration: str | None = AWS_INTEGRATION,
    actor_target: bool | None = ACTOR_TARGET,
    geoip_db: list[Path] | None = GEOIP_DB,
) -> None:
    from kmsdet.replay import load_documents, replay_rules
    from kmsdet.rules.loader import load_rules

    # Raw records map as the chosen package version does.
    apply_aws_integration(aws_integration, actor_target=actor_target,
                          geoip_db=geoip_db)
    loaded = load_rules(rules or [Path("rules")])
    documents = load_documents(events)
    alerts = replay_rules(loaded, documents)
    if output_format is OutputFormat.json:
        write_json(json.dumps({"alerts": [a.as_dict() for a in alerts],
                               "events": len(documents)}, indent=2))
    else:
        for alert in alerts:
            stdout.print(f"{alert.timestamp}  {escape(alert.rule_name)}  "
                         f"[dim]event {alert.event_id}[/]")
        stdout.print(f"{len(alerts)} alerts from {len(loaded)} rules on {len(documents)} events")
    raise typer.Exit(EXIT_OK)


def events(
    rule: Path | None = typer.Argument(None, help="A rule file whose cases to print."),
    case: str | None = typer.Option(None, "--case", "-c", help="Only the case of this name."),
    from_file: Path | None = typer.Option(None, "--from", help="Convert this raw CloudTrail."),
    ecs: bool = typer.Option(False, "--ecs", help="Print ECS documents (default for --from)."),
    raw: bool = typer.Option(False, "--raw", help="Print raw CloudTrail records (default)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the synthetic events."),
    aws_integration: str | None = AWS_INTEGRATION,
    actor_target: bool | None = ACTOR_TARGET,
    geoip_db: list[Path] | None = GEOIP_DB,
    list_integrations: bool = typer.Option(
        False, "--list-aws-integrations",
        help="Print the AWS integration versions kmsdet emulates, oldest first, and exit."),
) -> None:
    from kmsdet.replay import case_events, convert_records

    if list_integrations:
        from kmsdet.cloudtrail.integration import list_ranges

        for line in list_ranges():
            typer.echo(line)
        raise typer.Exit(EXIT_OK)
    apply_aws_integration(aws_integration, actor_target=actor_target,
                          geoip_db=geoip_db)
    if ecs and raw:
        raise UsageError("--ecs and --raw exclude each other", hint="pick one")
    if (rule is None) == (from_file is None):
        raise UsageError("give either a rule file or --from FILE",
                         hint="kmsdet events RULE.toml --ecs, or kmsdet events --from trail.json")
    if from_file is not None:
        lines = convert_records(from_file)
    else:
        assert rule is not None
        lines = case_events(rule, case=case, ecs=ecs, seed=seed)
    for obj in lines:
        write_json(json.dumps(obj, separators=(",", ":")))
    raise typer.Exit(EXIT_OK)
