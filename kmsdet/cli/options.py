"""Options and small I/O helpers shared by every command."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from kmsdet.errors import UsageError
from kmsdet.masking import mask


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
