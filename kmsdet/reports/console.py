"""The one rich console every command renders through, and the error renderer.

Output for people goes to stdout; errors go to stderr. Colour is dropped automatically when the
output is not a terminal, so CI logs stay plain.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape

from kmsdet.errors import KmsdetError

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


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


def write_json(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
