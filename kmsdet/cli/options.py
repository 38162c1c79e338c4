"""Options and small I/O helpers shared by every command."""

from __future__ import annotations

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
