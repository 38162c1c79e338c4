"""The one rich console every command renders through, and the error renderer.

Output for people goes to stdout; errors go to stderr. Colour is dropped automatically when the
output is not a terminal, so CI logs stay plain. Everything written here passes through
:mod:`kmsdet.masking`, so no credential reaches the terminal whatever text carries it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.markup import escape

from kmsdet.errors import KmsdetError
from kmsdet.masking import masked


class MaskedConsole(Console):
    """A rich Console whose every write is masked; the stream is looked up at write time, so
    a swapped sys.stdout (tests, pagers) is honoured as rich does."""

    @property
    def file(self) -> IO[str]:
        return masked(super().file)

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        self._file = new_file


stdout = MaskedConsole(highlight=False, soft_wrap=True)
stderr = MaskedConsole(stderr=True, highlight=False, soft_wrap=True)


def print_error(error: KmsdetError) -> None:
    where = error.location()
    prefix = f"{where}: " if where else ""
    stderr.print(f"[bold red]error:[/] {escape(prefix + error.message)}", highlight=False)
    if error.hint:
        stderr.print(f"  [dim]hint:[/] {escape(error.hint)}")


def error_document(error: KmsdetError) -> dict[str, Any]:
    """The JSON a failed ``--format json`` run prints on stdout, so a CI step can always parse
    stdout: ``{"error": {code, kind, message, file, line, column, field, hint}}``."""
    return {"error": {
        "code": error.exit_code, "kind": type(error).__name__, "message": error.message,
        "file": error.file, "line": error.line, "column": error.column, "field": error.field,
        "hint": error.hint,
    }}


def report_error(error: KmsdetError, *, as_json: bool) -> None:
    """The one way an error reaches the user: text on stderr, and with ``--format json`` the
    same error as a JSON object on stdout."""
    print_error(error)
    if as_json:
        write_json(json.dumps(error_document(error), indent=2))


def wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asks for ``--format json`` (in any spelling click accepts),
    read from argv because the error may come before the command has parsed its options."""
    for index, arg in enumerate(argv):
        if arg == "--":
            return False
        if arg in ("--format=json", "-fjson", "-f=json"):
            return True
        if arg in ("--format", "-f") and index + 1 < len(argv) and argv[index + 1] == "json":
            return True
    return False


def plural(n: int, noun: str) -> str:
    """``1 file``, ``2 files``: counts in summaries read as written by a person."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def write_json(text: str) -> None:
    write_text(text + "\n")


def write_text(text: str) -> None:
    """Plain text on stdout exactly as given (no rich markup), masked."""
    out = masked(sys.stdout)
    out.write(text)
    out.flush()
