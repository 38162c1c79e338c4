"""Check the interpreter `make` builds .venv with, and drop a .venv another interpreter made.

Run by the Makefile as ``$(PYTHON) scripts/venv_python.py .venv`` before any target that needs
the venv. A .venv left by an unsupported Python (a failed first run) would otherwise trap the
user: ``python3.12 -m venv .venv`` keeps the old interpreter, and every later ``make ...
PYTHON=python3.12`` fails the same way until ``make clean``.

Kept to syntax any Python 3.7+ parses (annotations are not evaluated), so that a too-old
interpreter reaches the message instead of a SyntaxError.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from typing import TextIO

SUPPORTED = ((3, 10), (3, 13))  # inclusive; pyproject.toml's requires-python says the same


def supported(version: Sequence[int]) -> bool:
    return SUPPORTED[0] <= tuple(version[:2]) <= SUPPORTED[1]


def venv_version(venv: str) -> tuple[int, int] | None:
    """(major, minor) of the Python that made ``venv``, or None when it cannot be told."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    parts = value.strip().split(".")
                    return int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def check(venv: str, version: Sequence[int], executable: str, out: TextIO) -> int:
    """0 when ``make`` may go on, 1 when the interpreter is unsupported; removes a .venv that
    another Python made (or that is broken) so that it is rebuilt."""
    if not supported(version):
        low, high = SUPPORTED
        out.write(f"error: kmsdet needs Python {low[0]}.{low[1]} to {high[0]}.{high[1]}, but "
                  f"PYTHON ({executable}) is {version[0]}.{version[1]}.\n"
                  "  Install a supported Python, then name it, e.g.: make test "
                  "PYTHON=python3.12\n")
        return 1
    if os.path.isdir(venv):
        made_by = venv_version(venv)
        if made_by != tuple(version[:2]):
            told = f"Python {made_by[0]}.{made_by[1]}" if made_by else "an unknown Python"
            out.write(f"recreating {venv}: it was made by {told}, PYTHON is "
                      f"{version[0]}.{version[1]} ({executable})\n")
            shutil.rmtree(venv)
    return 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else ".venv", sys.version_info,
                   sys.executable, sys.stderr))
