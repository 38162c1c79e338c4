"""Point errors in a rule's query at the rule file.

The KQL parser and the type checks only see the query text, so their errors carry positions in
the query (or just a field name). Every engine that parses or compiles a rule's query wraps the
work in :func:`located_in_rule`, so the user learns which file and line to fix whichever
command ran it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kmsdet.errors import InputError
from kmsdet.kql.errors import KqlSyntaxError
from kmsdet.rules.model import Rule

QUERY_PATH = ("rule", "query")


@contextmanager
def located_in_rule(rule: Rule) -> Iterator[None]:
    """Re-raise an InputError without a file as one located at the rule's query."""
    try:
        yield
    except InputError as exc:
        if exc.file is not None:
            raise
        source = rule.source
        path = str(source.path)
        start = source.value_starts.get(QUERY_PATH)
        if isinstance(exc, KqlSyntaxError) and start is not None:
            raise exc.in_file(path, start[0], start[1]) from None
        exc.file = path
        exc.line, exc.column = source.line_of(QUERY_PATH), None
        exc.field = exc.field or "rule.query"
        raise
