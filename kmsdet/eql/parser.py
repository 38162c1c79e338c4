"""EQL text to kmsdet's EQL tree (kmsdet.eql.ast), in Elasticsearch's dialect.

The ``eql`` package does the parsing twice over: its checker (with the Elasticsearch syntax
switches the linter uses) rejects what Elasticsearch rejects (field-to-field comparisons, a
``by`` count that differs between steps, missing events without maxspan), and its grammar's raw
parse tree is then read here, because that tree still tells ``:`` from ``==``, ``in~`` from
``in``, ``startsWith~`` from ``startsWith`` and ``?field`` from ``field``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kmsdet.eql import ast
from kmsdet.eql.lark_memo import install as install_field_memo
from kmsdet.errors import InputError

_UNITS_NANOS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
                "d": 86400 * 10**9}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "b": "\b", "f": "\f",
            "'": "'"}


@dataclass
class EqlSyntaxError(InputError):
    """The query is not EQL Elasticsearch accepts; ``offset`` is its position in the query."""

    offset: int | None = None


def no_plugin_scan() -> None:
    """On its first parse the eql package imports every module named eql_* found on sys.path
    (its plugin mechanism): with `python -m kmsdet`, a file of that name in the current
    directory (a rule repository someone cloned) would run. kmsdet uses no plugins, so every
    place that parses with the package marks the scan as done first."""
    from eql import utils

    utils._loaded_plugins = True


@contextmanager
def elasticsearch_dialect() -> Iterator[None]:
    """The eql package's switches for the syntax Elasticsearch runs (runs, sample, ``!``)."""
    from eql import parser

    no_plugin_scan()
    install_field_memo()
    with parser.elasticsearch_syntax, parser.ignore_missing_functions, parser.allow_runs, \
            parser.allow_sample, parser.allow_negation:
        yield


def parse(text: str) -> ast.Query:
    """The query tree, or EqlSyntaxError naming the position and what is wrong."""
    return _parse_cached(text)


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> ast.Query:
    from kmsdet.eql.package import load_eql

    eql = load_eql()
    from eql.parser import lark_parser
    from lark.exceptions import LarkError

    try:
        with elasticsearch_dialect():
            eql.parse_query(text)
    except eql.EqlError as exc:
        raise _syntax_error(text, exc) from None
    try:
        tree = lark_parser.parse(text, start="piped_query")
    except LarkError as exc:  # the checker accepted it, so this is not expected
        raise EqlSyntaxError(f"EQL syntax error: {exc}") from None
    return _Reader(text).query(tree)


def _syntax_error(text: str, exc: Exception) -> EqlSyntaxError:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    offset = None
    if isinstance(line, int) and isinstance(column, int):
        offset = sum(len(part) + 1 for part in text.split("\n")[:line]) + column
    message = str(getattr(exc, "error_msg", "") or exc).strip().splitlines()[0]
    return EqlSyntaxError(f"EQL error: {message}", offset=offset,
                          hint="Elasticsearch would reject this query and the rule would fail")


def _unsupported(what: str) -> EqlSyntaxError:
    return EqlSyntaxError(f"EQL {what} is not supported by kmsdet's EQL engine",
                          hint="test this rule in a Kibana stack")


def unquote(token: str) -> str:
    """A string literal's value: ``\"\"\"raw\"\"\"`` as is, ``"..."`` with its escapes."""
    if token.startswith('"""'):
        return token[3:-3]
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and body[i + 2:i + 3] == "{":
                end = body.index("}", i)
                out.append(chr(int(body[i + 3:end], 16)))
                i = end + 1
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_FIELD_PART = re.compile(r"`((?:[^`]|``)+)`|([A-Za-z_][A-Za-z0-9_]*)|\[\s*(\d+)\s*\]")


def _field(text: str) -> ast.Field:
    optional = text.startswith("?")
    if optional:
        text = text[1:]
    parts = []
    for match in _FIELD_PART.finditer(text):
        if match.group(3) is not None:
            raise _unsupported("array indexing in field names")
        parts.append(match.group(1) or match.group(2))
    return ast.Field(".".join(p.replace("``", "`") for p in parts), optional)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text

    def query(self, tree: Any) -> ast.Query:
        base, pipes = tree.children[0], tree.children[1] if len(tree.children) > 1 else None
        if pipes is not None or base is None:
            raise _unsupported("pipes (| head, | tail, ...)")
        node = base.children[0]
        kind = node.data
        if kind == "event_query":
            return self.event_query(node)
        if kind == "sequence":
            return self.sequence(node)
        if kind == "sample":
            return ast.Sample(tuple(self.steps(node)))
        raise _unsupported(kind)

    # ------------------------------------------------------------------ queries

    def event_query(self, node: Any) -> ast.EventQuery:
        children = node.children
        if len(children) == 2 and children[0] is not None:
            name = self._name(children[0])
            condition = self.expr(children[1])
        else:
            name = "any"
            condition = self.expr(children[-1])
        return ast.EventQuery(None if name == "any" else name, condition)

    def _name(self, node: Any) -> str:
        token = node.children[0] if hasattr(node, "children") else node
        text = str(token)
        return unquote(text) if text.startswith('"') else text

    def sequence(self, node: Any) -> ast.Sequence:
        maxspan = None
        for child in node.children:
            if getattr(child, "data", None) == "with_params":
                maxspan = self.time_range(child.children[-1])
                if maxspan <= 0:
                    raise EqlSyntaxError("EQL error: a positive maxspan value is required",
                                         hint="Elasticsearch would reject this query and the "
                                              "rule would fail")
        terms = [c for c in node.children if getattr(c, "data", None) == "subquery_by"]
        if len(terms) < 2:
            raise EqlSyntaxError("EQL error: a sequence needs at least two bracketed queries",
                                 hint="Elasticsearch's grammar rejects a one-query sequence; "
                                      "use an event query, or repeat the step")
        steps = self.steps(node)
        until = None
        for child in node.children:
            if getattr(child, "data", None) == "until_subquery_by":
                shared = self._shared_keys(node)
                until = self.step(child.children[0], shared)[0]
        return ast.Sequence(tuple(steps), maxspan, until)

    def _shared_keys(self, node: Any) -> tuple[ast.Field, ...]:
        for child in node.children:
            if getattr(child, "data", None) == "join_values":
                return self.keys(child)
        return ()

    def steps(self, node: Any) -> list[ast.Step]:
        shared = self._shared_keys(node)
        out: list[ast.Step] = []
        for child in node.children:
            if getattr(child, "data", None) == "subquery_by":
                step, runs = self.step(child, shared)
                out.extend([step] * runs)
        return out

    def step(self, node: Any, shared: tuple[ast.Field, ...]) -> tuple[ast.Step, int]:
        keys: tuple[ast.Field, ...] = ()
        runs = 1
        query = None
        missing = False
        for child in node.children:
            kind = getattr(child, "data", None)
            if kind == "subquery":
                missing = any(str(c) == "![" for c in child.children if not hasattr(c, "data"))
                query = self.event_query(child.children[-1])
            elif kind == "join_values":
                keys = self.keys(child)
            elif kind == "repeated_sequence":
                runs = int(str(child.children[-1]))
                if runs > 100:
                    raise EqlSyntaxError(f"EQL error: runs={runs} is above 100",
                                         hint="Elasticsearch accepts 1 to 100 runs")
            elif kind == "fork_param":
                raise _unsupported("fork")
        assert query is not None
        return ast.Step(query, shared + keys, missing), runs

    def keys(self, node: Any) -> tuple[ast.Field, ...]:
        out = []
        for item in node.children[0].children:
            if item is None:
                continue
            expr = self.expr(item)
            if not isinstance(expr, ast.Field):
                raise _unsupported("join keys other than fields")
            out.append(expr)
        return tuple(out)

    def time_range(self, node: Any) -> int:
        number = self.literal_number(node.children[0])
        unit = str(node.children[1].children[0]) if len(node.children) > 1 and \
            node.children[1] is not None else "s"
        if unit not in _UNITS_NANOS:
            raise EqlSyntaxError(f"unknown maxspan unit '{unit}'",
                                 hint="use ms, s, m, h or d")
        return int(number * _UNITS_NANOS[unit])

    # ------------------------------------------------------------------ expressions

    def expr(self, node: Any) -> ast.Expr:  # noqa: C901 - one branch per grammar rule
        kind = getattr(node, "data", None)
        if kind is None:
            raise _unsupported(f"token {node!r}")
        kind = str(kind)
        children = node.children
        if kind == "or_expr":
            return ast.Or(tuple(self.expr(c) for c in children))
        if kind == "and_expr":
            return ast.And(tuple(self.expr(c) for c in children))
        if kind == "not_expr":
            nots = sum(1 for c in children if not hasattr(c, "data"))
            inner = self.expr(children[-1])
            for _ in range(nots):
                inner = ast.Not(inner)
            return inner
        if kind == "comparison":
            left, op, right = children
            return ast.Compare(str(op), self.expr(left), self.expr(right))
        if kind in ("in_set", "not_in_set"):
            left, op, values = children[0], children[1], children[2]
            items = tuple(self._literal(v) for v in values.children if v is not None)
            return ast.InSet(self.expr(left), items, str(op) == "in~", kind == "not_in_set")
        if kind == "string_predicate":
            left, op = children[0], str(children[1])
            patterns = []
            for item in children[2:]:
                lit = self._literal(item)
                if not isinstance(lit.value, str):
                    raise EqlSyntaxError(f"'{op}' compares strings only, got {lit.value!r}",
                                         hint="Elasticsearch rejects this query")
                patterns.append(lit.value)
            kind_name = "regex" if op.startswith("regex") else "like"
            return ast.Pattern(self.expr(left), kind_name, tuple(patterns),
                               op == ":" or op.endswith("~"))
        if kind in ("sum_expr", "mul_expr"):
            result = self.expr(children[0])
            for i in range(1, len(children), 2):
                result = ast.Math(str(children[i]), result, self.expr(children[i + 1]))
            return result
        if kind == "value":
            sign, inner = str(children[0]), self.expr(children[1])
            return ast.Negate(inner) if sign == "-" else inner
        if kind == "function_call":
            name = str(children[0])
            insensitive = name.endswith("~")
            args_node = children[1] if len(children) > 1 else None
            args = tuple(self.expr(a) for a in args_node.children if a is not None) \
                if args_node is not None else ()
            return ast.Call(name.rstrip("~").lower(), args, insensitive)
        if kind == "literal":
            return self._literal(node)
        if kind == "field":
            return _field(str(children[0]))
        if kind == "base_field":
            inner = children[0]
            text = str(inner.children[0])
            return ast.Field(text[1:-1].replace("``", "`") if text.startswith("`") else text)
        raise _unsupported(kind.replace("_", " "))

    def _literal(self, node: Any) -> ast.Literal:
        if getattr(node, "data", None) != "literal":
            expr = self.expr(node)
            if isinstance(expr, ast.Negate) and isinstance(expr.expr, ast.Literal) and \
                    isinstance(expr.expr.value, (int, float)):
                return ast.Literal(-expr.expr.value)
            if isinstance(expr, ast.Literal):
                return expr
            raise EqlSyntaxError("a list may only hold literal values",
                                 hint="Elasticsearch rejects fields inside in (...)")
        inner = node.children[0]
        kind = str(inner.data)
        if kind == "null":
            return ast.Literal(None)
        if kind == "boolean":
            return ast.Literal(str(inner.children[0]) == "true")
        if kind == "number":
            return ast.Literal(self.literal_number(inner))
        return ast.Literal(unquote(str(inner.children[0])))

    @staticmethod
    def literal_number(node: Any) -> int | float:
        text = str(node.children[0])
        if re.fullmatch(r"\d+", text):
            return int(text)
        return float(text)
