"""Line numbers for TOML keys.

tomllib returns plain dicts without positions, and a position-keeping TOML library is several
times slower. A light scan of the source recovers the line of each table header and key,
which is all lint findings need. It is not a TOML parser: it only has to agree with one on
files that tomllib has already accepted.
"""

from __future__ import annotations

import re

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(?:#.*)?$")
_SEGMENT = r"""(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_SEGMENT}(?:\s*\.\s*{_SEGMENT})*)\s*=\s*(.*)$")
_PART = re.compile(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""")


def _split_key(raw: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(raw)]


def index_lines(text: str) -> tuple[dict[KeyPath, int], dict[KeyPath, tuple[int, int]]]:
    """Map each key path to its 1-based line, and each string value to where its text starts.

    Array-of-tables get their element index in the path: the second ``[[rule.threat]]`` is
    ``("rule", "threat", 1)``. ``value_starts`` gives (line, column) of the first character of
    a string value's content, so an offset inside a query maps to a file position.
    """
    lines: dict[KeyPath, int] = {}
    starts: dict[KeyPath, tuple[int, int]] = {}
    counters: dict[KeyPath, int] = {}
    table: KeyPath = ()
    in_multiline: str | None = None
    bracket_depth = 0

    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if bracket_depth > 0:
            bracket_depth += _bracket_delta(line)
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            parts = _split_key(header.group(2))
            is_array = header.group(1) == "[["
            resolved = _resolve(parts, counters)
            if is_array:
                parent = tuple(resolved)
                index = counters.get(parent, -1) + 1
                counters[parent] = index
                table = parent + (index,)
            else:
                table = tuple(resolved)
            lines.setdefault(table, lineno)
            continue
        key = _KEY.match(line)
        if not key:
            continue
        path = table + tuple(_split_key(key.group(1)))
        lines.setdefault(path, lineno)
        rest = key.group(2)
        value_col = line.index(rest) if rest else len(line)
        for quote in ('"""', "'''"):
            if rest.startswith(quote):
                tail = rest[3:]
                if tail.count(quote) == 0:
                    in_multiline = quote
                    # A newline right after the opening delimiter is trimmed by TOML.
                    starts[path] = (lineno + 1, 1) if not tail.strip() else (lineno, value_col + 4)
                else:
                    starts[path] = (lineno, value_col + 4)
                break
        else:
            if rest[:1] in ('"', "'"):
                starts[path] = (lineno, value_col + 2)
            elif rest.startswith("["):
                bracket_depth = _bracket_delta(rest)
    return lines, starts


def _resolve(parts: list[str], counters: dict[KeyPath, int]) -> list[str | int]:
    """Insert the current element index after every prefix that is an array of tables."""
    resolved: list[str | int] = []
    last = len(parts) - 1
    for i, part in enumerate(parts):
        resolved.append(part)
        current = tuple(resolved)
        if i < last and current in counters:
            resolved.append(counters[current])
    return resolved


def _bracket_delta(line: str) -> int:
    depth = 0
    quote: str | None = None
    for ch in line:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
    return depth
