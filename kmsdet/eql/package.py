"""The ``eql`` package, imported with its built parser saved on disk.

Importing eql builds an LALR parser from its grammar: about 0.2 s of CPU in every process
that parses EQL, as much as a tenth of a lint of 2,000 rules. Lark can save the built parser
and load it back (its ``cache`` option); the file is keyed by a digest of the grammar, the
parser options and Lark's and Python's versions, so a stale or damaged file is rebuilt, never
used. Lark unpickles the file, so it lives in the user's own cache directory (created private),
never in a shared temporary folder; where that cannot be created, the parser is built as usual.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

#: Environment variable naming the cache folder (default: $XDG_CACHE_HOME/kmsdet or
#: ~/.cache/kmsdet); an empty value turns the saved parser off.
CACHE_ENV = "KMSDET_CACHE_DIR"


def cache_dir() -> Path | None:
    """Where the saved parser lives, or None when saving is off or the folder is unusable."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        folder = Path(configured) if configured else None
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "kmsdet"
    if folder is None:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid != os.getuid() or not os.access(folder, os.W_OK):
            return None
    except (OSError, RuntimeError):
        return None
    return folder


def load_eql() -> ModuleType:
    """``import eql``, building its parser from the saved copy when there is one."""
    if "eql.parser" in sys.modules:
        import eql

        return eql
    folder = cache_dir()
    if folder is None:
        import eql

        return eql
    import lark

    original = lark.Lark
    path = str(folder / f"eql-grammar-py{sys.version_info[0]}{sys.version_info[1]}.lark")

    class _Saved(original):  # type: ignore[misc, valid-type]
        def __init__(self, grammar: Any, **options: Any) -> None:
            options.setdefault("cache", path)
            super().__init__(grammar, **options)

    lark.Lark = _Saved  # eql.parser builds its parser with `from lark import Lark`
    try:
        import eql
    finally:
        lark.Lark = original
    return eql
