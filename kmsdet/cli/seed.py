"""`kmsdet seed`: synthetic CloudTrail into Elasticsearch."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer

from kmsdet.cli.options import (
    ACTOR_TARGET,
    AWS_INTEGRATION,
    GEOIP_DB,
    OutputFormat,
    apply_aws_integration,
    parse_now,
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
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from kmsdet.reports.console import stderr, stdout, write_json

HELP = """Index the rules' case and storyline events (and a benign baseline) into Elasticsearch.

They are indexed as the AWS integration's CloudTrail documents.

Documents go to the data stream logs-aws.cloudtrail-<namespace> (through the integration's
templates when the stack has them, else kmsdet's own). Event times fall inside the rules'
look-back windows, anchored on the current minute (or --now); ids derive from the content, so
seeding again in the same minute (or with the same --now and --seed) adds nothing.

Example: kmsdet seed rules/ --baseline 5000 --es-url https://127.0.0.1:9200
Example: kmsdet seed rules/ --target sandbox
"""


def seed(
    paths: list[Path] = typer.Argument(None, help="Rule files or folders (default: rules/)."),
    baseline: int = typer.Option(0, "--baseline", min=0, help="Also index N benign events."),
    namespace: str = typer.Option("default", "--namespace", help="Data stream namespace."),
    dry_run: Path | None = typer.Option(None, "--dry-run",
                                        help="Write the bulk body as ndjson here instead."),
    seed_value: int = typer.Option(0, "--seed", help="Seed for the synthetic events."),
    now: str | None = typer.Option(None, "--now", help="Anchor event times on this ISO time."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
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
    from kmsdet.rules.loader import load_rules
    from kmsdet.seeding import seed_documents_for

    apply_aws_integration(aws_integration, config, actor_target=actor_target,
                          geoip_db=geoip_db)
    roots = paths or [Path("rules")]
    rules = load_rules(roots)
    run_id = f"kmsdet-seed-{seed_value}"
    anchor = parse_now(now) or datetime.now(timezone.utc).replace(second=0, microsecond=0)
    docs = seed_documents_for(rules, now=anchor, seed=seed_value, baseline=baseline,
                              run_id=run_id,
                              scenario_roots=[p for p in roots if p.is_dir()])
    if dry_run is not None:
        from kmsdet.es.seed import write_ndjson

        try:
            with dry_run.open("w", encoding="utf-8") as out:
                count = write_ndjson(docs, out, namespace=namespace)
        except OSError as exc:
            raise UsageError(f"cannot write {dry_run}: {exc.strerror}", file=str(dry_run)) \
                from exc
        stdout.print(f"wrote {count} documents to {dry_run} (nothing was indexed)")
        raise typer.Exit(EXIT_OK)
    from kmsdet.es.client import connect

    es = es_target_named(target, config, es_url, es_api_key, es_user, es_password,
                         es_ca_cert, insecure)
    client = connect(es)
    try:
        report = _seed_with_progress(client, list(docs), namespace, es)
    finally:
        client.close()
    summary = {"target": report.target, "created": report.created,
               "existing": report.existing, "failed": len(report.failures), "run_id": run_id}
    if output_format is OutputFormat.json:
        summary["failures"] = [f.__dict__ for f in report.failures[:100]]
        write_json(json.dumps(summary, indent=2, default=str))
    else:
        stdout.print(f"{report.created} created, {report.existing} already there, "
                     f"{len(report.failures)} failed -> {report.target}")
        for failure in report.failures[:20]:
            stdout.print(f"  document {failure.position}: {failure.status} "
                         f"{failure.error_type}: {failure.reason}")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FINDINGS)


def _seed_with_progress(client, docs, namespace, target):  # noqa: ANN001, ANN202
    from rich.progress import Progress

    from kmsdet.es.seed import seed_documents

    with Progress(console=stderr, transient=True) as bar:
        task = bar.add_task("seeding", total=len(docs))
        return seed_documents(client, docs, namespace=namespace, refresh=True, target=target,
                              progress=lambda n: bar.advance(task, n),
                              warn=lambda message: stderr.print(f"warning: {message}"))
