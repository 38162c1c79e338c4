"""Options and small I/O helpers shared by every command."""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kmsdet.errors import UsageError
from kmsdet.masking import mask

if TYPE_CHECKING:
    from kmsdet.cloudtrail.integration import Pipeline

AWS_INTEGRATION = typer.Option(
    None, "--aws-integration", metavar="VERSION",
    help="AWS integration package version whose cloudtrail pipeline the events go through "
         "(e.g. 7.3.1; default: $KMSDET_AWS_INTEGRATION, the config file's aws_integration, "
         "else the newest). List: kmsdet events --list-aws-integrations.")


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def write_file(path: Path, text: str) -> None:
    """Write a report file, credentials masked, turning OS errors into a usage error that
    names the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(mask(text), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", file=str(path),
                         hint="choose a writable path") from exc


def parse_now(text: str | None) -> datetime | None:
    """``--now``: an ISO time (UTC when no zone is given), or None for the current time."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--now '{text}' is not an ISO time", field="--now",
                         hint="e.g. 2026-01-15T12:00:00Z") from exc
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


ACTOR_TARGET = typer.Option(
    None, "--actor-target-mapping/--no-actor-target-mapping",
    help="As with the integration's actor/target mapping option on: actor.*, target.*, "
         "*.entity.id and related.entity (default: $KMSDET_ACTOR_TARGET_MAPPING, the config "
         "file's actor_target_mapping, else off).")


GEOIP_DB = typer.Option(
    None, "--geoip-db", metavar="PATH",
    help="A MaxMind-format GeoIP database (City/Country or ASN; repeat for both) that fills "
         "source.geo.* and source.as.* as the integration's geoip processors do (default: "
         "$KMSDET_GEOIP_DB; without one these fields stay empty). Needs kmsdet[geoip].")


def apply_aws_integration(option: str | None, config_file: Path | None = None, *,
                          allow_all: bool = False, actor_target: bool | None = None,
                          geoip_db: list[Path] | None = None) -> tuple[Pipeline, ...]:
    """Resolve ``--aws-integration`` (then env var, then config file) and select the first
    pipeline for every mapping this command does; returns all chosen (several for ``all``)."""
    from kmsdet.cloudtrail.integration import ACTOR_TARGET_ENV_VAR, ENV_VAR, choose, select
    from kmsdet.config import find_config_file

    config_value, source = None, "config file: aws_integration"
    needs_config = (not option and not os.environ.get(ENV_VAR)) or (
        actor_target is None and not os.environ.get(ACTOR_TARGET_ENV_VAR))
    found = find_config_file(config_file) if needs_config else None
    if found is not None and found.aws_integration and not option:
        config_value, source = found.aws_integration, f"{found.path}: aws_integration"
    pipelines = choose(option, env_value=os.environ.get(ENV_VAR), config_value=config_value,
                       config_source=source, allow_all=allow_all)
    if actor_target is None and not os.environ.get(ACTOR_TARGET_ENV_VAR) and found is not None:
        actor_target = found.actor_target_mapping
    select(pipelines[0], actor_target=actor_target)
    from kmsdet.cloudtrail.geoip import open_geoip, select_geoip

    select_geoip(open_geoip(geoip_db))
    return pipelines
_QUERY_AT_FIELD = re.compile(r"@[\w.]+\s*(?::|<|>)")


def query_argument(text: str) -> str:
    """A query given on the command line: ``-`` reads standard input, ``@FILE`` reads the file
    (a query too long for an argument list fits either), anything else is the query itself.

    ``@timestamp >= now-1d`` is a query, not a file: an ``@`` word followed by ``:``, ``<`` or
    ``>`` is read as a field unless a file of that name exists.
    """
    if text == "-":
        query = sys.stdin.read()
        if not query.strip():
            raise UsageError("'-' reads the query from standard input, which was empty",
                             field="QUERY", hint="pipe the query in: kmsdet kql check - < q.kql")
        return query
    if not text.startswith("@"):
        return text
    path = Path(text[1:])
    if not path.is_file():
        if _QUERY_AT_FIELD.match(text):
            return text
        raise UsageError(f"no such query file: {path}", file=str(path), field="QUERY",
                         hint="@FILE reads the query from FILE; check the path")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read query file {path}: {exc}", file=str(path),
                         field="QUERY") from exc
