"""`kmsdet replay` and `kmsdet events`: real or synthetic events through the rules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import typer
from rich.markup import escape

from kmsdet.cli.options import (
    ACTOR_TARGET,
    AWS_INTEGRATION,
    GEOIP_DB,
    OutputFormat,
    apply_aws_integration,
    write_file,
)
from kmsdet.cli.targets import (
    CONFIG,
    ES_API_KEY,
    ES_CA_CERT,
    ES_PASSWORD,
    ES_URL,
    ES_USER,
    TARGET,
    es_target_named,
)
from kmsdet.errors import EXIT_OK, InputError, UsageError
from kmsdet.reports.console import stderr, stdout, write_json

REPLAY_HELP = """Backtest: replay recorded events through the rules as if each rule had run live
on its schedule, and report what it would have raised.

EVENTS are CloudTrail log files as delivered to S3 ({"Records": [...]}, optionally .gz; a whole
AWSLogs/ folder works, digest files are left out), ndjson of raw records or of ECS documents
(e.g. exported from Elasticsearch), folders of them, or - for standard input. Raw records are
mapped to ECS as Elastic's AWS integration does, ingested at their eventTime.

With --source elasticsearch, the events are those already in your Elasticsearch
(--index, default: each rule's index patterns): each rule's query runs there, and only the
documents it matches come back.

Example: kmsdet replay ./AWSLogs/ --rules rules/ --since 2026-11-01 --html backtest.html
Example: kmsdet replay --source elasticsearch --target prod --since now-30d
"""

EVENTS_HELP = """Print the events of a rule's test cases, or convert raw CloudTrail, as ndjson.

Example: kmsdet events rules/aws_kms/impact_kms_imported_key_material_deleted.toml --ecs
Example: kmsdet events --from trail.json.gz --ecs
"""


class Source(str, Enum):
    files = "files"
    elasticsearch = "elasticsearch"


def replay(
    events: list[str] = typer.Argument(None, help="Event files or folders; - for stdin."),
    rules: list[Path] = typer.Option(None, "--rules", "-r", help="Rules (default: rules/)."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
    since: str | None = typer.Option(None, "--since", help="Only events at or after this time "
                                     "(ISO time or now-30d); the schedule starts here."),
    until: str | None = typer.Option(None, "--until", help="Only events up to this time "
                                     "(ISO time or now-1d); the schedule ends here."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Skip unreadable files and "
                                    "records without eventTime, and list them at the end."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes "
                                       "(default: one per CPU)."),
    html_path: Path | None = typer.Option(None, "--html", help="Also write a self-contained "
                                          "HTML page with a chart of alerts per rule per day."),
    source: Source = typer.Option(Source.files, "--source", help="Where the events are."),
    index: str | None = typer.Option(None, "--index", help="With --source elasticsearch: the "
                                     "index pattern to search (default: each rule's index)."),
    es_url: str | None = ES_URL,
    es_api_key: str | None = ES_API_KEY,
    es_user: str | None = ES_USER,
    es_password: str | None = ES_PASSWORD,
    es_ca_cert: Path | None = ES_CA_CERT,
    insecure: bool = typer.Option(False, "--insecure", help="Skip TLS verification "
                                  "(throw-away sandboxes only)."),
    target: str | None = TARGET,
    config: Path | None = CONFIG,
    aws_integration: str | None = AWS_INTEGRATION,
    actor_target: bool | None = ACTOR_TARGET,
    geoip_db: list[Path] | None = GEOIP_DB,
) -> None:
    from kmsdet.backtest.summary import summarize
    from kmsdet.reports.backtest_text import render_backtest
    from kmsdet.rules.loader import load_rules

    now = datetime.now(timezone.utc)
    start, end = parse_time_option(since, "--since", now), parse_time_option(until, "--until", now)
    if start is not None and end is not None and start > end:
        raise UsageError("--since is after --until", field="--since",
                         hint="give the earlier time to --since")
    if source is Source.files:
        if not events:
            raise UsageError("no event files given", field="EVENTS",
                             hint="kmsdet replay ./AWSLogs/ (or - for standard input), or "
                                  "--source elasticsearch")
        check_event_paths(events)
    elif events:
        raise UsageError("event files and --source elasticsearch exclude each other",
                         field="EVENTS", hint="drop the files, or drop --source elasticsearch")
    # Raw records map as the chosen package version does (forked workers inherit the choice).
    apply_aws_integration(aws_integration, actor_target=actor_target, geoip_db=geoip_db)
    loaded = load_rules(rules or [Path("rules")])
    if source is Source.files:
        from kmsdet.backtest.engine import backtest

        with progress_bar(enabled=output_format is OutputFormat.text) as on_progress:
            result = backtest(loaded, events, since=start, until=end, workers=workers,
                              keep_going=keep_going, on_progress=on_progress)
    else:
        from kmsdet.backtest.es_source import backtest_elasticsearch
        from kmsdet.es.client import connect

        es = es_target_named(target, config, es_url, es_api_key, es_user, es_password,
                             es_ca_cert, insecure)
        client = connect(es)
        try:
            result = backtest_elasticsearch(loaded, client, es, since=start, until=end,
                                            index=index)
        finally:
            client.close()
    summary = summarize(result)
    if html_path is not None:
        from kmsdet.reports.backtest_html import backtest_page

        write_file(html_path, backtest_page(result, summary))
    if output_format is OutputFormat.json:
        write_json(json.dumps({
            "alerts": [a.as_dict() for a in result.alerts], "events": result.events,
            "rules": summary.as_dict(),
            "skipped": [{"file": s.label, "reason": s.reason, "records": s.records,
                         "whole_file": s.whole_file} for s in result.skipped],
        }, indent=2))
    else:
        render_backtest(stdout, result, summary)
        if html_path is not None:
            stdout.print(f"chart: {escape(str(html_path))}")
    raise typer.Exit(EXIT_OK)


def check_event_paths(events: list[str]) -> None:
    """A missing input is named before anything else is read (rules included)."""
    for item in events:
        if item != "-" and not Path(item).exists():
            raise InputError("no such file or directory", file=item,
                             hint="pass CloudTrail log files, folders of them, or - for stdin")


def parse_time_option(text: str | None, option: str, now: datetime) -> datetime | None:
    """``--since``/``--until``: an ISO time (UTC unless it says otherwise) or ``now-30d``."""
    if text is None:
        return None
    from kmsdet.rules.timing import resolve

    try:
        value = resolve(text, now)
    except ValueError:
        raise UsageError(f"{option} '{text}' is not a time", field=option,
                         hint="an ISO time such as 2026-11-01 or 2026-11-01T08:00:00Z, or "
                              "date math such as now-30d") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@contextmanager
def progress_bar(*, enabled: bool) -> Iterator[Callable[[int, int, int], None] | None]:
    """Files done and records per second on a terminal (stderr); nothing elsewhere."""
    if not enabled or not stderr.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    began = time.monotonic()
    with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("files  {task.fields[records]} records  {task.fields[rate]}/s"),
                  TimeElapsedColumn(), console=stderr, transient=True) as bar:
        task = bar.add_task("replay", total=None, records=0, rate=0)

        def update(done: int, total: int, records: int) -> None:
            elapsed = max(time.monotonic() - began, 1e-6)
            bar.update(task, completed=done, total=total, records=f"{records:,}",
                       rate=f"{records / elapsed:,.0f}")

        yield update


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
