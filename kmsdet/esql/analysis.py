"""A small ES|QL reader for lint: what a query searches and which fields each command reads.

Not a full ES|QL parser: it tokenizes the query (strings, comments and backquoted names
handled as Elasticsearch's lexer does), splits it into commands at top-level pipes, and reads
each command's field references, tracking the columns that commands create (EVAL, STATS,
RENAME, DISSECT, GROK, ENRICH) and the ones that STATS and KEEP leave. Anything it does not
model (an unknown processing command, LOOKUP JOIN's columns) opens the column set again, so
it never reports a field it cannot judge. Syntax errors it can see (an unterminated string or
comment, unbalanced brackets, an empty or unknown command, FROM without an index) carry the
offset in the query. PyPI's ES|QL parser (esql-parser, ANTLR-generated) was judged and not
adopted: Elastic License 2.0, one maintainer, an exact runtime pin, and about 6 ms per query
in the ANTLR Python runtime, more than the whole lint budget of a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

SOURCE_COMMANDS = frozenset({"from", "row", "show", "ts", "metrics"})
PROCESSING_COMMANDS = frozenset({
    "where", "eval", "stats", "inlinestats", "inline", "keep", "drop", "rename", "sort",
    "limit", "dissect", "grok", "enrich", "mv_expand", "lookup", "change_point", "fork",
    "sample", "completion", "rerank", "join", "rrf", "fuse", "ip_location",
    "uri_parts",
})
KEYWORDS = frozenset({
    "and", "or", "not", "is", "null", "like", "rlike", "in", "true", "false", "asc", "desc",
    "nulls", "first", "last", "by", "as", "on", "with", "metadata", "where",
})
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*(?:.|\n)*?\*/)
  | (?P<badcomment>/\*)
  | (?P<string>\"\"\"(?:.|\n)*?\"\"\"|"(?:\\.|[^"\\\n])*")
  | (?P<badstring>\"\"\"|")
  | (?P<quoted>`(?:``|[^`])*`)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_@*][\w@.*]*(?<!\.))
  | (?P<param>\?\w*)
  | (?P<op>==|!=|<=|>=|=~|::|[-+*/%<>=(),\[\]|:.{}])
""", re.VERBOSE)


class EsqlSyntaxError(Exception):
    def __init__(self, message: str, offset: int, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class FieldRead:
    name: str
    start: int
    end: int
    command: str
    #: The columns in scope were fixed (after STATS or KEEP) and do not include it.
    out_of_scope: bool = False


@dataclass
class EsqlAnalysis:
    sources: list[str] = field(default_factory=list)
    reads: list[FieldRead] = field(default_factory=list)
    #: Columns of the result when STATS/KEEP fixed them last; None when documents pass through.
    final_columns: list[str] | None = None
    defined: set[str] = field(default_factory=set)
    #: A STATS command folds the rows into groups: the alerts then carry only the result's
    #: columns. Without one, Kibana adds each row's source document to its alert.
    aggregates: bool = False
    #: Prefixes of columns a command creates under a name it is given (IP_LOCATION geo = ...).
    defined_prefixes: set[str] = field(default_factory=set)

    def creates(self, name: str) -> bool:
        """Whether a command of the query, not an index, makes the column ``name``."""
        return name in self.defined or any(name.startswith(f"{p}.")
                                           for p in self.defined_prefixes)


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None:
            raise EsqlSyntaxError(f"unexpected character {query[pos]!r}", pos,
                                  "remove it or quote the name with backquotes")
        kind = match.lastgroup or ""
        if kind == "badstring":
            raise EsqlSyntaxError("unterminated string", pos, "close the string with a quote")
        if kind == "badcomment":
            raise EsqlSyntaxError("unterminated comment", pos, "close the comment with */")
        if kind not in ("ws", "comment"):
            text = match.group()
            tokens.append(Token(kind, text, pos))
        pos = match.end()
    return _join_qualified(tokens)


def _join_qualified(tokens: list[Token]) -> list[Token]:
    """One name token for a dotted name with backquoted parts (source.`as`.number).

    Elasticsearch's lexer reads such a name as one qualified name; split, its parts (``as``)
    would pass for keywords or fields of their own.
    """
    out: list[Token] = []
    for token in tokens:
        if len(out) >= 2 and token.kind in ("ident", "quoted") and out[-1].text == "." \
                and out[-1].kind == "op" and out[-2].kind in ("ident", "quoted") \
                and out[-2].end == out[-1].start and out[-1].end == token.start \
                and "quoted" in (token.kind, out[-2].kind):
            dot = out.pop()
            head = out.pop()
            out.append(Token("quoted", head.text + dot.text + token.text, head.start))
            continue
        out.append(token)
    return out


def _commands(query: str, tokens: list[Token]) -> Iterator[list[Token]]:
    """Tokens of each command, split at pipes outside brackets; brackets must balance."""
    stack: list[Token] = []
    current: list[Token] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for token in tokens:
        if token.kind == "op" and token.text in "([{":
            stack.append(token)
        elif token.kind == "op" and token.text in ")]}":
            if not stack or stack[-1].text != pairs[token.text]:
                raise EsqlSyntaxError(f"unbalanced {token.text!r}", token.start,
                                      "check the brackets before this position")
            stack.pop()
        if token.kind == "op" and token.text == "|" and not stack:
            if not current:
                raise EsqlSyntaxError("empty command between pipes", token.start,
                                      "remove the extra |")
            yield current
            current = []
            continue
        current.append(token)
    if stack:
        raise EsqlSyntaxError(f"unclosed {stack[-1].text!r}", stack[-1].start,
                              "close the bracket")
    if not current:
        raise EsqlSyntaxError("the query ends with a pipe" if tokens else "empty query",
                              len(query), "add a command after the last |")
    yield current


_NAME_PART = re.compile(r"`((?:``|[^`])*)`|([^`]+)")


def _name(token: Token) -> str:
    if token.kind != "quoted":
        return token.text
    return "".join(m.group(2) if m.group(1) is None else m.group(1).replace("``", "`")
                   for m in _NAME_PART.finditer(token.text))


def _is_field(tokens: list[Token], i: int) -> bool:
    token = tokens[i]
    if token.kind == "quoted":
        return True
    if token.kind != "ident" or token.text.lower() in KEYWORDS or token.text == "*":
        return False
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if nxt is not None and nxt.kind == "op" and nxt.text == "(":
        return False  # a function call
    prev = tokens[i - 1] if i > 0 else None
    if prev is not None and prev.kind == "number":
        return False  # a time span unit: `1 hour`
    return not (prev is not None and prev.kind == "op" and prev.text == "::")  # a type cast


@lru_cache(maxsize=2048)
def analyze(query: str) -> EsqlAnalysis:
    """Sources, field reads and result columns of ``query``; raises EsqlSyntaxError."""
    tokens = tokenize(query)
    result = EsqlAnalysis()
    scope: set[str] | None = None  # None: every source field is in scope
    patterns: list[str] = []  # KEEP patterns with '*' that fixed the scope
    for index, command in enumerate(_commands(query, tokens)):
        head = command[0]
        name = head.text.lower() if head.kind == "ident" else ""
        if index == 0:
            if name not in SOURCE_COMMANDS:
                raise EsqlSyntaxError(f"a query starts with a source command (FROM, ROW, SHOW), "
                                      f"not {head.text!r}", head.start, "start with FROM <index>")
            if name in ("from", "ts", "metrics"):
                scope = _read_sources(query, command, result)
            continue
        if name not in PROCESSING_COMMANDS:
            raise EsqlSyntaxError(f"unknown command {head.text!r}", head.start,
                                  "ES|QL commands: WHERE, EVAL, STATS, KEEP, DROP, RENAME, SORT,"
                                  " LIMIT, DISSECT, GROK, ENRICH, MV_EXPAND, LOOKUP JOIN")
        args = command[1:]
        if name == "inline" and args and args[0].text.lower() == "stats":
            args = args[1:]  # INLINE STATS, the newer spelling of INLINESTATS
        scope, patterns = _command(query, name, args, result, scope, patterns)
    result.final_columns = sorted(scope) if scope is not None else None
    return result


def _read_sources(query: str, command: list[Token], result: EsqlAnalysis) -> set[str] | None:
    """Reads FROM's index patterns and subqueries; returns the columns in scope after it."""
    parts: list[str] = []
    piece = ""
    end = None
    subquery_columns: list[list[str] | None] = []
    skip_to = 0
    for at, token in enumerate(command[1:], start=1):
        if at < skip_to:
            continue
        if token.kind == "op" and token.text == "(" and not piece:
            close = _closing(command, at)
            subquery_columns.append(_subquery(query, token.end, command[close].start, result))
            skip_to = close + 1
            end = command[close].end
            continue
        if token.kind == "ident" and token.text.lower() == "metadata":
            break
        if token.kind == "op" and token.text == ",":
            parts.append(piece)
            piece, end = "", None
            continue
        text = token.text.strip('"') if token.kind == "string" else _name(token)
        if piece and end != token.start:  # `from a b`: two names without a comma
            raise EsqlSyntaxError(f"unexpected {token.text!r} after index {piece!r}",
                                  token.start, "separate index patterns with commas")
        piece += text
        end = token.end
    if piece:
        parts.append(piece)
    metadata = [t.text for t in command if t.kind == "ident" and t.text.startswith("_")]
    result.sources.extend(p for p in parts if p)
    result.defined.update(metadata)
    if not result.sources:
        raise EsqlSyntaxError("FROM names no index", command[0].end, "write FROM <index pattern>")
    if any(parts) or not subquery_columns or any(c is None for c in subquery_columns):
        return None
    # Subqueries only: their results are combined, a column of any one of them is a column.
    return {c for columns in subquery_columns for c in columns or ()} | set(metadata)


def _closing(tokens: list[Token], at: int) -> int:
    """Index of the bracket that closes the one at ``at`` (_commands checked they balance)."""
    depth = 0
    for i in range(at, len(tokens)):
        if tokens[i].kind == "op" and tokens[i].text in "([{":
            depth += 1
        elif tokens[i].kind == "op" and tokens[i].text in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def _subquery(query: str, start: int, end: int, result: EsqlAnalysis) -> list[str] | None:
    """Adds a FROM subquery's sources and reads to ``result``; returns its result columns.

    A subquery is a whole query in brackets (FROM a, (FROM b | WHERE ...)), so it is analysed
    as one, and its positions moved to where it stands in the outer query.
    """
    try:
        inner = analyze(query[start:end])
    except EsqlSyntaxError as exc:
        raise EsqlSyntaxError(exc.message, exc.offset + start, exc.hint) from None
    result.sources.extend(inner.sources)
    result.reads.extend(FieldRead(r.name, r.start + start, r.end + start, r.command,
                                  r.out_of_scope) for r in inner.reads)
    result.defined |= inner.defined
    result.defined_prefixes |= inner.defined_prefixes
    result.aggregates |= inner.aggregates
    return inner.final_columns


def _split_commas(tokens: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "op" and token.text in "([{":
            depth += 1
        elif token.kind == "op" and token.text in ")]}":
            depth -= 1
        if depth == 0 and token.kind == "op" and token.text == ",":
            parts.append([])
            continue
        parts[-1].append(token)
    return [p for p in parts if p]


def _reads(tokens: list[Token], command: str, result: EsqlAnalysis, scope: set[str] | None,
           patterns: list[str]) -> None:
    for i, token in enumerate(tokens):
        if _is_field(tokens, i):
            name = _name(token)
            if name in result.defined and scope is None:
                continue
            outside = scope is not None and name not in scope and not any(
                re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), name) for p in patterns)
            result.reads.append(FieldRead(name, token.start, token.end, command, outside))


def _source_text(query: str, part: list[Token]) -> str:
    """An unnamed expression's column name: its text as written (``count(*)``); a lone field
    keeps its own name (``BY source.`as`.number`` makes the column source.as.number)."""
    if len(part) == 1 and part[0].kind in ("ident", "quoted"):
        return _name(part[0])
    return query[part[0].start:part[-1].end]


def _assignment(part: list[Token]) -> tuple[str | None, list[Token]]:
    if len(part) >= 2 and part[0].kind in ("ident", "quoted") and part[1].text == "=":
        return _name(part[0]), part[2:]
    return None, part


def _command(query: str, name: str, args: list[Token], result: EsqlAnalysis,
             scope: set[str] | None, patterns: list[str]) -> tuple[set[str] | None, list[str]]:
    def define(column: str) -> None:
        result.defined.add(column)
        if scope is not None:
            scope.add(column)

    if name in ("where", "sort", "mv_expand"):
        _reads(args, name, result, scope, patterns)
    elif name == "limit" or name == "sample":
        pass
    elif name == "eval":
        for part in _split_commas(args):
            column, expr = _assignment(part)
            _reads(expr, name, result, scope, patterns)
            define(column or _source_text(query, part))
    elif name in ("stats", "inlinestats", "inline"):
        by_at = next((i for i, t in enumerate(args) if t.kind == "ident"
                      and t.text.lower() == "by"), len(args))
        columns: set[str] = set()
        for part in _split_commas(args[:by_at]):
            column, expr = _assignment(part)
            _reads(expr, name, result, scope, patterns)
            columns.add(column or _source_text(query, part))
        for part in _split_commas(args[by_at + 1:]):
            column, expr = _assignment(part)
            _reads(expr, name, result, scope, patterns)
            columns.add(column or _source_text(query, part))
        result.defined.update(columns)
        if name == "stats":
            result.aggregates = True
            return columns, []
        for column in columns:  # INLINE STATS adds its columns to every row
            define(column)
    elif name == "keep":
        kept: set[str] = set()
        kept_patterns: list[str] = []
        for part in _split_commas(args):
            text = "".join(_name(t) for t in part)
            if "*" in text:
                kept_patterns.append(text)
            else:
                _reads(part, name, result, scope, patterns)
                kept.add(text)
        if scope is None and kept_patterns:
            return None, []  # a pattern over source fields: cannot list what remains
        if scope is not None:
            kept |= {c for c in scope for p in kept_patterns
                     if re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), c)}
        return kept, []
    elif name == "drop":
        for part in _split_commas(args):
            if not any("*" in t.text for t in part):
                _reads(part, name, result, scope, patterns)
    elif name == "rename":
        for part in _split_commas(args):
            as_at = next((i for i, t in enumerate(part) if t.text.lower() == "as"), None)
            if as_at is None:
                continue
            _reads(part[:as_at], name, result, scope, patterns)
            define("".join(_name(t) for t in part[as_at + 1:]))
    elif name in ("dissect", "grok"):
        fields = [t for t in args if t.kind != "string"][:1]
        _reads(fields, name, result, scope, patterns)
        for token in args:
            if token.kind == "string":
                for key in re.findall(r"%\{(?:[^:}]*:)?([\w.@\-]+)(?::\w+)?\}", token.text):
                    if name == "dissect" or ":" in token.text:
                        define(key.lstrip("+?&*"))
                if name == "grok":  # regex named groups: (?<name>...)
                    for key in re.findall(r"\(\?<([A-Za-z_@][\w.@]*)>", token.text):
                        define(key)
    elif name == "enrich":
        on_at = next((i for i, t in enumerate(args) if t.text.lower() == "on"), None)
        with_at = next((i for i, t in enumerate(args) if t.text.lower() == "with"), None)
        if on_at is not None:
            _reads(args[on_at + 1:with_at], name, result, scope, patterns)
        if with_at is None:
            return None, []  # every enrich field of the policy: unknown here
        for part in _split_commas(args[with_at + 1:]):
            column, expr = _assignment(part)
            define(column or "".join(_name(t) for t in expr))
    elif name in ("ip_location", "uri_parts"):  # prefix = expression [WITH {...}]
        column, expr = _assignment(args)
        with_at = next((i for i, t in enumerate(expr) if t.text.lower() == "with"), len(expr))
        _reads(expr[:with_at], name, result, scope, patterns)
        if column is None:
            return None, []
        result.defined_prefixes.add(column)
        patterns = [*patterns, f"{column}.*"]
    else:  # lookup join, change_point, fork, completion, ...: columns we do not model
        return None, []
    return scope, patterns
