"""Options and small I/O helpers shared by every command."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from kmsdet.errors import UsageError


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def write_file(path: Path, text: str) -> None:
    """Write a report file, turning OS errors into a usage error that names the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", file=str(path),
                         hint="choose a writable path") from exc
