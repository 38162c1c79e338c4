"""KQL text -> AST, accepting exactly what Kibana's grammar (``grammar.peggy``, 9.x) accepts.

Kibana's grammar is a PEG: ordered choice, greedy repetition, no backtracking into a match.
That makes its lexing context sensitive (``or``/``and`` end a value only with whitespace on
both sides, ``not`` followed by whitespace ends a value anywhere, whitespace inside a value is
part of it), which a separate tokenizer cannot reproduce. So this is a hand-written recursive
descent parser over the characters, with each PEG terminal as one compiled regular expression.

Every alternative of the grammar starts either with a keyword, a parenthesis or a literal, and
once one of those has matched, failure of the rest can never be rescued by another alternative
(the grammar would be left facing a character nothing accepts). The parser therefore decides
with one literal of lookahead and raises at the first failure, which is also the furthest
position Kibana's parser reaches, so the error points where Kibana's would.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kmsdet.kql.ast import And, Exists, Is, MatchAll, Nested, Node, Not, Or, Range, Span, Value
from kmsdet.kql.errors import KqlSyntaxError, query_position

__all__ = ["MAX_DEPTH", "parse"]

# Groups (parentheses, value lists, nested queries) deeper than this are refused: real rule
# queries stay in single digits, and the limit keeps recursion far from Python's own.
MAX_DEPTH = 100

# The grammar's ``Space``.
_SP = r"[ \t\r\n\xa0]"
# What JavaScript's String.prototype.trim removes (Kibana trims unquoted literals with it).
_JS_WHITESPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_SPACES = re.compile(f"{_SP}*")
_OR = re.compile(f"{_SP}+[oO][rR]{_SP}+")
_AND = re.compile(f"{_SP}+[aA][nN][dD]{_SP}+")
_NOT = re.compile(f"[nN][oO][tT]{_SP}+")
_KEYWORD = f"(?:{_SP}+(?:[oO][rR]|[aA][nN][dD]){_SP}+|[nN][oO][tT]{_SP}+)"
_SPECIAL = r'\\():<>"*{}'
# UnquotedCharacter+ : escapes first (in the grammar's order), then the wildcard, then any
# character that is neither special nor the start of a keyword.
_UNQUOTED = re.compile(
    r"(?:\\[trn]"
    rf"|\\[{_SPECIAL}]"
    r"|\\u[0-9a-fA-F]{4}"
    r"|\\(?:[oO][rR]|[aA][nN][dD]|[nN][oO][tT])"
    r"|\*"
    rf"|(?![{_SPECIAL}])(?!{_KEYWORD}).)+",
    re.DOTALL,
)
# One unit of an (already validated) unquoted literal, to resolve escapes and find wildcards.
_UNQUOTED_UNIT = re.compile(
    r"\\(?:([trn])|([" + _SPECIAL + r"])|u([0-9a-fA-F]{4})|([oO][rR]|[aA][nN][dD]|[nN][oO][tT]))"
    r"|(\*)|([^\\*]+)"
)
# '"' QuotedCharacter* ; the closing quote is checked separately so that no backtracking can
# re-read an escaped quote as the closing one.
_QUOTED_BODY = re.compile(r'"(?:\\[trn]|\\u[0-9a-fA-F]{4}|\\[\\"]|[^"])*')
_QUOTED_ESCAPE = re.compile(r'\\(?:([trn])|u([0-9a-fA-F]{4})|([\\"]))')
_WHITESPACE_ESCAPES = {"t": "\t", "r": "\r", "n": "\n"}

# What an error message says was expected.
FIELD, VALUE = "a field name", "a value"
LPAREN, RPAREN, LBRACE, RBRACE = "'('", "')'", "'{'", "'}'"
AND_, OR_, NOT_ = "'and'", "'or'", "'not'"
END = "end of query"

_ESCAPE_HINT = (
    "outside quotes a backslash escapes only \\ ( ) : < > \" * { }, \\t \\r \\n \\uXXXX and "
    "the keywords \\or \\and \\NOT (\\not reads as \\n then 'ot'); write \\\\ for a "
    "backslash or quote the value"
)

# A literal as scanned: (start, end, span_end, text, quoted, wildcard pieces or None).
_Literal = tuple[int, int, int, str, bool, tuple[str, ...] | None]


def parse(query: str) -> Node:
    """Parse a KQL query into the AST; raise ``KqlSyntaxError`` when Kibana would refuse it.

    An empty or whitespace-only query is ``MatchAll`` (Kibana parses it to ``is(*, *)``).
    """
    return _Parser(query).parse()


def _join_surrogates(text: str) -> str:
    """Pair ``\\uD83D\\uDE00``-style escapes into one character, as a JavaScript string would."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _resolve_quoted(body: str) -> str:
    def unescape(m: re.Match[str]) -> str:
        if m.group(1):
            return _WHITESPACE_ESCAPES[m.group(1)]
        if m.group(2):
            return chr(int(m.group(2), 16))
        return m.group(3)

    text = _QUOTED_ESCAPE.sub(unescape, body)
    return _join_surrogates(text) if "\\u" in body else text


def _resolve_unquoted(raw: str) -> tuple[str, tuple[str, ...] | None]:
    """Escapes resolved and trimmed like Kibana; wildcard pieces when a ``*`` is unescaped."""
    pieces = [""]
    for m in _UNQUOTED_UNIT.finditer(raw):
        ws, special, hexa, keyword, star, plain = m.groups()
        if plain is not None:
            pieces[-1] += plain
        elif star is not None:
            pieces.append("")
        elif ws is not None:
            pieces[-1] += _WHITESPACE_ESCAPES[ws]
        elif special is not None:
            pieces[-1] += special
        elif hexa is not None:
            pieces[-1] += chr(int(hexa, 16))
        else:
            pieces[-1] += keyword
    if "\\u" in raw:
        pieces = [_join_surrogates(piece) for piece in pieces]
    # Kibana trims the whole sequence; wildcards are never whitespace, so only the outer
    # pieces can lose characters.
    pieces[0] = pieces[0].lstrip(_JS_WHITESPACE)
    pieces[-1] = pieces[-1].rstrip(_JS_WHITESPACE)
    if len(pieces) == 1:
        return pieces[0], None
    return "*".join(pieces), tuple(pieces)


def _value(lit: _Literal) -> Value:
    start, _end, span_end, text, quoted, wildcard = lit
    return Value(text, quoted, wildcard, Span(start, span_end))


def _is_lone_wildcard(lit: _Literal) -> bool:
    return lit[5] == ("", "")


class _Parser:
    __slots__ = ("q", "n", "depth")

    def __init__(self, query: str) -> None:
        self.q = query
        self.n = len(query)
        self.depth = 0

    # -- helpers -------------------------------------------------------------------------

    def skip(self, pos: int) -> int:
        if pos < self.n and self.q[pos] in " \t\r\n\xa0":
            return _SPACES.match(self.q, pos).end()  # type: ignore[union-attr]
        return pos

    def error(self, pos: int, expected: list[str], hint: str | None = None) -> KqlSyntaxError:
        if hint is None:
            hint = self.hint_for(pos)
        return KqlSyntaxError.at(self.q, pos, expected, hint=hint)

    def hint_for(self, pos: int) -> str | None:
        """A targeted hint for the usual causes of an error at ``pos``."""
        q = self.q
        if pos >= self.n:
            return None
        char = q[pos]
        if char == "\\":
            return _ESCAPE_HINT
        word = re.search(r"(?<![\\\w])(?:not|and|or)$", q[max(0, pos - 4):pos], re.IGNORECASE)
        if char == "(" and word:
            return "the keywords and, or, not need whitespace around them, e.g. 'not (...)'"
        if _NOT.match(q, pos) and re.search(r":[ \t\r\n\xa0]*$", q[:pos]):
            return "'not' cannot start a value: write 'not field: value' or 'field: (not value)'"
        if pos and not q[pos - 1].isspace() and _NOT.match(q, pos):
            return ("Kibana ends an unquoted value at 'not' followed by whitespace, even inside "
                    "a word: put the value in double quotes")
        if char in _SPECIAL:
            return (f"'{char}' is special in KQL: escape it as \\{char} or put the value in "
                    "double quotes")
        return None

    def unclosed(self, pos: int) -> KqlSyntaxError | None:
        """The error for the '(' at ``pos`` when no ')' anywhere after it closes it.

        The parser only notices at the end of the query, or at a ':' of the next clause it
        swallowed as a value; pointing there (with a hint to escape ':') sends the user to the
        wrong line, so the error points at the parenthesis that is never closed.
        """
        depth, i, q = 0, pos, self.q
        while i < self.n:
            char = q[i]
            if char == "\\":
                i += 2
                continue
            if char == '"':
                end = _QUOTED_BODY.match(q, i).end()  # type: ignore[union-attr]
                i = end + 1
                continue
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0:
                return None
            i += 1
        line, column = query_position(pos, q)
        return KqlSyntaxError.at(
            q, pos, [RPAREN],
            message="this '(' is never closed: expected ')' before the end of the query",
            hint=f"add the ')' that closes the group opened at line {line}, column {column}")

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise KqlSyntaxError.at(
                self.q, pos, [], message=f"the query nests groups deeper than {MAX_DEPTH} levels",
                hint="simplify the query; Kibana rules never need this much nesting")

    def literal(self, pos: int) -> _Literal | None:
        """QuotedString / UnquotedLiteral at ``pos``, or None when neither starts there."""
        q = self.q
        if pos >= self.n:
            return None
        if q[pos] == '"':
            end = _QUOTED_BODY.match(q, pos).end()  # type: ignore[union-attr]
            if end >= self.n:
                raise KqlSyntaxError.at(
                    q, self.n, ["'\"'"],
                    message="unterminated quoted string: expected '\"' but found end of query",
                    hint="the quoted value opened at line {}, column {} is never closed; write "
                         "\\\" for a quote inside it".format(*query_position(pos, q)))
            body = q[pos + 1:end]
            text = _resolve_quoted(body) if "\\" in body else body
            return (pos, end + 1, end + 1, text, True, None)
        m = _UNQUOTED.match(q, pos)
        if m is None:
            return None
        raw = m.group()
        end = m.end()
        span_end = pos + len(raw.rstrip(_JS_WHITESPACE))
        if "\\" in raw or "*" in raw:
            text, wildcard = _resolve_unquoted(raw)
        else:
            text, wildcard = raw.strip(_JS_WHITESPACE), None
        return (pos, end, max(span_end, pos), text, False, wildcard)

    # -- query level ---------------------------------------------------------------------

    def parse(self) -> Node:
        pos = self.skip(0)
        if pos >= self.n:
            return MatchAll(Span(0, self.n))
        node, _start, end = self.or_query(pos)
        pos = self.skip(end)
        if pos < self.n:
            raise self.error(pos, [AND_, OR_, END])
        return node

    def or_query(self, pos: int) -> tuple[Node, int, int]:
        node, start, end = self.and_query(pos)
        m = _OR.match(self.q, end)
        if m is None:
            return node, start, end
        items = [node]
        while m is not None:
            node, _s, end = self.and_query(m.end())
            items.append(node)
            m = _OR.match(self.q, end)
        return Or(tuple(items), Span(start, end)), start, end

    def and_query(self, pos: int) -> tuple[Node, int, int]:
        node, start, end = self.not_query(pos)
        m = _AND.match(self.q, end)
        if m is None:
            return node, start, end
        items = [node]
        while m is not None:
            node, _s, end = self.not_query(m.end())
            items.append(node)
            m = _AND.match(self.q, end)
        return And(tuple(items), Span(start, end)), start, end

    def not_query(self, pos: int) -> tuple[Node, int, int]:
        m = _NOT.match(self.q, pos)
        if m is None:
            return self.sub_query(pos, [FIELD, VALUE, LPAREN, NOT_])
        node, _s, end = self.sub_query(m.end(), [FIELD, VALUE, LPAREN])
        return Not(node, Span(pos, end)), pos, end

    def sub_query(self, pos: int, expected: list[str]) -> tuple[Node, int, int]:
        if pos < self.n and self.q[pos] == "(":
            self.enter(pos)
            node, _s, end = self.or_query(self.skip(pos + 1))
            end = self.skip(end)
            if end >= self.n or self.q[end] != ")":
                raise self.unclosed(pos) or self.error(end, [RPAREN, AND_, OR_])
            self.depth -= 1
            return node, pos, end + 1
        return self.expression(pos, expected)

    def expression(self, pos: int, expected: list[str]) -> tuple[Node, int, int]:
        """NestedQuery / FieldRangeExpression / FieldValueExpression / ValueExpression."""
        q = self.q
        lit = self.literal(pos)
        if lit is None:
            raise self.error(pos, expected)
        after = self.skip(lit[1])
        char = q[after] if after < self.n else ""
        if char == ":":
            return self.field_value(lit, self.skip(after + 1))
        if char in ("<", ">"):
            return self.field_range(lit, after)
        return Is(None, _value(lit), Span(pos, lit[2])), pos, lit[1]

    def field_value(self, lit: _Literal, pos: int) -> tuple[Node, int, int]:
        start = lit[0]
        if pos < self.n and self.q[pos] == "{":
            self.enter(pos)
            query, _s, end = self.or_query(self.skip(pos + 1))
            end = self.skip(end)
            if end >= self.n or self.q[end] != "}":
                raise self.error(end, [RBRACE, AND_, OR_])
            self.depth -= 1
            return Nested(lit[3], query, Span(start, end + 1)), start, end + 1
        # Kibana builds the field from the literal: unquoted ``null`` is no field (free text).
        field = None if (not lit[4] and lit[3] == "null") else lit[3]
        field_wildcard = lit[5] is not None
        node, _s, end = self.list_of_values(pos, field, field_wildcard,
                                            [VALUE, LPAREN, LBRACE])
        if self.q[pos] == "(":
            return replace(node, span=Span(start, end)), start, end
        return replace(node, span=Span(start, node.span.end)), start, end

    def field_range(self, lit: _Literal, pos: int) -> tuple[Node, int, int]:
        q = self.q
        op = q[pos:pos + 2] if q.startswith("=", pos + 1) else q[pos]
        value_pos = self.skip(pos + len(op))
        value = self.literal(value_pos)
        if value is None:
            raise self.error(value_pos, [VALUE])
        node = Range(lit[3], op, _value(value), Span(lit[0], value[2]),  # type: ignore[arg-type]
                     field_wildcard=lit[5] is not None)
        return node, lit[0], value[1]

    # -- value lists: ``field: (a or (b and not c))`` --------------------------------------

    def list_or(self, pos: int, field: str | None, fw: bool) -> tuple[Node, int, int]:
        node, start, end = self.list_and(pos, field, fw)
        m = _OR.match(self.q, end)
        if m is None:
            return node, start, end
        items = [node]
        while m is not None:
            node, _s, end = self.list_and(m.end(), field, fw)
            items.append(node)
            m = _OR.match(self.q, end)
        return Or(tuple(items), Span(start, end)), start, end

    def list_and(self, pos: int, field: str | None, fw: bool) -> tuple[Node, int, int]:
        node, start, end = self.list_not(pos, field, fw)
        m = _AND.match(self.q, end)
        if m is None:
            return node, start, end
        items = [node]
        while m is not None:
            node, _s, end = self.list_not(m.end(), field, fw)
            items.append(node)
            m = _AND.match(self.q, end)
        return And(tuple(items), Span(start, end)), start, end

    def list_not(self, pos: int, field: str | None, fw: bool) -> tuple[Node, int, int]:
        m = _NOT.match(self.q, pos)
        if m is None:
            return self.list_of_values(pos, field, fw, [VALUE, LPAREN, NOT_])
        node, _s, end = self.list_of_values(m.end(), field, fw, [VALUE, LPAREN])
        return Not(node, Span(pos, end)), pos, end

    def list_of_values(self, pos: int, field: str | None, fw: bool,
                       expected: list[str]) -> tuple[Node, int, int]:
        if pos < self.n and self.q[pos] == "(":
            self.enter(pos)
            node, _s, end = self.list_or(self.skip(pos + 1), field, fw)
            end = self.skip(end)
            if end >= self.n or self.q[end] != ")":
                raise self.unclosed(pos) or self.error(end, [RPAREN, AND_, OR_])
            self.depth -= 1
            return node, pos, end + 1
        lit = self.literal(pos)
        if lit is None:
            raise self.error(pos, expected)
        span = Span(pos, lit[2])
        if field is not None and _is_lone_wildcard(lit):
            return Exists(field, span, field_wildcard=fw), pos, lit[1]
        return Is(field, _value(lit), span, field_wildcard=fw), pos, lit[1]
