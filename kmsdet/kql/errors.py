"""Errors a KQL query can cause: it does not parse, or Kibana would refuse to translate it.

A syntax error knows the character offset in the query, so the rule loader can map it to a
line and column of the TOML file, and the CLI can show the query line with a caret under the
offending character. Both classes are ``InputError``: a bad query is bad user input (exit 2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kmsdet.errors import InputError

# Lines longer than this are cut around the caret so that the excerpt stays readable.
_EXCERPT_WIDTH = 100
_EXCERPT_BEFORE = 60


def query_position(offset: int, query: str) -> tuple[int, int]:
    """1-based (line, column) of character ``offset`` in ``query``; lines end at ``\\n``."""
    offset = max(0, min(offset, len(query)))
    line_start = query.rfind("\n", 0, offset) + 1
    return query.count("\n", 0, offset) + 1, offset - line_start + 1


def describe_found(query: str, offset: int) -> str:
    """How an error message names the character at ``offset`` (or the end of the query)."""
    if offset >= len(query):
        return "end of query"
    char = query[offset]
    if char == "'":
        return '"\'"'
    if char.isprintable() and not char.isspace():
        return f"'{char}'"
    return repr(char)


def join_expected(expected: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b or c"``; the wording of every "expected ..." message."""
    if not expected:
        return "something else"
    if len(expected) == 1:
        return expected[0]
    return ", ".join(expected[:-1]) + " or " + expected[-1]


@dataclass
class KqlSyntaxError(InputError):
    """The query does not parse as Kibana's KQL grammar.

    ``offset`` is the 0-based character offset in the query; ``query_line``/``query_column``
    are its 1-based position within the query. ``line``/``column`` start out equal to those
    and are rewritten to file coordinates by :meth:`in_file`. ``expected`` lists what the
    grammar would have accepted at ``offset``; ``found`` names what was there instead.
    """

    offset: int = 0
    expected: list[str] = dataclasses.field(default_factory=list)
    found: str = "end of query"
    query: str = ""
    query_line: int = 1
    query_column: int = 1

    @classmethod
    def at(cls, query: str, offset: int, expected: list[str], *, message: str | None = None,
           hint: str | None = None) -> KqlSyntaxError:
        """The error for ``query`` at ``offset``, with the standard "expected ... but found"."""
        found = describe_found(query, offset)
        line, column = query_position(offset, query)
        text = message or f"expected {join_expected(expected)} but found {found}"
        return cls(text, line=line, column=column, field="query", hint=hint, offset=offset,
                   expected=list(expected), found=found, query=query, query_line=line,
                   query_column=column)

    def in_file(self, file: str, first_line: int, first_column: int,
                field: str = "query") -> KqlSyntaxError:
        """A copy located in a file whose query text starts at (first_line, first_column)."""
        if self.query_line == 1:
            line, column = first_line, first_column + self.query_column - 1
        else:
            line, column = first_line + self.query_line - 1, self.query_column
        return dataclasses.replace(self, file=file, line=line, column=column, field=field)

    def render_caret(self, query: str | None = None) -> str:
        """The offending query line and a caret under the error position (two lines)."""
        text = self.query if query is None else query
        offset = max(0, min(self.offset, len(text)))
        start = text.rfind("\n", 0, offset) + 1
        end = text.find("\n", offset)
        line = text[start:] if end == -1 else text[start:end]
        col = offset - start
        prefix = ""
        if len(line) > _EXCERPT_WIDTH:
            cut = max(0, col - _EXCERPT_BEFORE)
            tail = line[cut:cut + _EXCERPT_WIDTH]
            prefix = "..." if cut else ""
            suffix = "..." if cut + _EXCERPT_WIDTH < len(line) else ""
            line, col = prefix + tail + suffix, col - cut + len(prefix)
        # Keep tabs in the padding so the caret lines up however the terminal expands them.
        pad = "".join("\t" if ch == "\t" else " " for ch in line[:col])
        return f"    {line}\n    {pad}^"

    def render(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.query:
            text += "\n" + self.render_caret()
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class KqlTranslationError(InputError):
    """The query parses, but Kibana's translation to Elasticsearch DSL throws for it.

    Kibana refuses, for example, a field of a ``nested`` mapping queried outside a
    ``path: { ... }`` group; the detection engine then fails the rule run.
    """
