"""The one rich console every command renders through, and the error renderer.

Output for people goes to stdout; errors go to stderr. Colour is dropped automatically when the
output is not a terminal, so CI logs stay plain.
"""

from __future__ import annotations

import sys

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


def write_json(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
