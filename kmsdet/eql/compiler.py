"""EQL conditions compiled to closures over a document, with Elasticsearch's semantics.

Elasticsearch runs most of an EQL condition as Query DSL and the rest as a script, and the two
treat missing and multi-valued fields differently; kmsdet follows the same split:

* A comparison, ``in``, ``like``/``regex``/``:``, ``startsWith`` or ``cidrMatch`` between a field
  and literals is a query: it holds when ANY of the field's values satisfies it, is false when
  the field is missing, and ``not`` (or ``!=``, ``not in``) is the query's negation, so it holds
  for documents without the field (``must_not``).
* Anything over computed values (functions, math) is a script with three-valued logic: null
  propagates, ``not null`` is null, and a null condition does not match. A field read by a
  script gives its first indexed value (keyword values sort as strings, numbers ascending).

Conditions return True, False or None (null).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kmsdet.eql import ast
from kmsdet.eql.fields import EqlTypeError, FieldReader, as_scalar, field_reader
from kmsdet.eql.functions import ARITY, BOOLEAN_FUNCTIONS, arithmetic, cidr_ranges, function
from kmsdet.eql.parser import EqlSyntaxError
from kmsdet.fields.schema import FieldSchema
from kmsdet.kql.matcher import _Compiler, _Doc
from kmsdet.kql.values import CoercionError, doc_date_nanos, query_ip

Cond = Callable[[_Doc], "bool | None"]
Val = Callable[[_Doc], Any]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    """A ``like`` pattern: ``*`` any run, ``?`` one character, everything else literal."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if insensitive else 0))


def _regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.DOTALL | (re.IGNORECASE if insensitive else 0))
    except re.error as exc:
        raise EqlSyntaxError(f"invalid regular expression {pattern!r}: {exc}",
                             hint="Elasticsearch rejects this query") from None


class EqlCompiler:
    """Compiles conditions against one field schema; field readers are shared."""

    def __init__(self, schema: FieldSchema | None, now_nanos: int) -> None:
        self.schema = schema
        self.kql = _Compiler(schema, now_nanos, "keyword")
        self.readers: dict[str, FieldReader] = {}

    def reader(self, field: ast.Field) -> FieldReader:
        found = self.readers.get(field.path)
        if found is None:
            found = self.readers[field.path] = field_reader(field.path, self.schema, self.kql)
        return found

    # ------------------------------------------------------------------ conditions

    def condition(self, expr: ast.Expr) -> Cond:  # noqa: C901 - one branch per node type
        if isinstance(expr, ast.Literal):
            if isinstance(expr.value, bool) or expr.value is None:
                value = expr.value
                constant = lambda d: value  # noqa: E731
                return _two_valued(constant) if value is not None else constant
            raise EqlTypeError(f"a condition cannot be the constant {expr.value!r}",
                               hint="Elasticsearch rejects this query")
        if isinstance(expr, ast.And):
            return _and([self.condition(i) for i in expr.items])
        if isinstance(expr, ast.Or):
            return _or([self.condition(i) for i in expr.items])
        if isinstance(expr, ast.Not):
            inner = self.condition(expr.expr)
            if _is_two_valued(inner):
                return _two_valued(lambda d: not inner(d))

            def negate(d: _Doc) -> bool | None:
                found = inner(d)
                return None if found is None else not found
            return negate
        if isinstance(expr, ast.Compare):
            return self.compare(expr)
        if isinstance(expr, ast.InSet):
            return self.in_set(expr)
        if isinstance(expr, ast.Pattern):
            return self.pattern(expr)
        if isinstance(expr, ast.Call):
            return self.call_condition(expr)
        if isinstance(expr, ast.Field):
            read = self.reader(expr).read
            return _two_valued(lambda d: True in read(d))
        value = self.value(expr)
        return lambda d: _truth(value(d))

    def compare(self, expr: ast.Compare) -> Cond:
        left, op, right = expr.left, expr.op, expr.right
        if isinstance(right, ast.Field) and isinstance(left, ast.Literal):
            left, right, op = right, left, _FLIP[op]
        if isinstance(left, ast.Field) and isinstance(right, ast.Literal):
            return self.field_compare(left, op, right.value)
        lv, rv = self.value(left), self.value(right)
        test = _COMPARE[op]

        def scripted(d: _Doc) -> bool | None:
            a, b = lv(d), rv(d)
            if a is None or b is None:
                return None
            if isinstance(a, str) != isinstance(b, str):
                return None
            return test(a, b)
        return scripted

    def field_compare(self, field: ast.Field, op: str, literal: Any) -> Cond:
        read = self.reader(field).read
        if literal is None:
            if op == "==":
                return _two_valued(lambda d: not read(d))
            if op == "!=":
                return _two_valued(lambda d: bool(read(d)))
            return lambda d: None
        wanted = self.typed(field, literal)
        if op == "==":
            return _two_valued(self.reader(field).has(wanted))
        if op == "!=":
            present = self.reader(field).has(wanted)
            return _two_valued(lambda d: not present(d))
        test = _COMPARE[op]
        return _two_valued(lambda d: any(test(v, wanted) for v in read(d)
                                         if type(v) is type(wanted) or
                                         (_number(v) and _number(wanted))))

    def typed(self, field: ast.Field, literal: Any) -> Any:
        """The literal as the field's index holds values, or the error Elasticsearch gives."""
        kind = self.reader(field).kind
        try:
            if kind == "keyword" and isinstance(literal, str):
                return literal
            if kind == "number" and _number(literal):
                return literal
            if kind == "boolean" and isinstance(literal, bool):
                return literal
            if kind == "ip" and isinstance(literal, str):
                return query_ip(literal)
            if kind == "date" and isinstance(literal, str):
                nanos = doc_date_nanos(literal)
                if nanos is not None:
                    return nanos - nanos % 1_000_000
            if kind == "dynamic":
                return literal
        except CoercionError as exc:
            raise EqlTypeError(exc.message, field=field.path, hint=exc.hint) from None
        raise EqlTypeError(
            f"cannot compare the {kind} field '{field.path}' with {literal!r}",
            field=field.path, hint="Elasticsearch rejects comparisons between different types")

    def in_set(self, expr: ast.InSet) -> Cond:
        values = [v.value for v in expr.values]
        if isinstance(expr.expr, ast.Field) and None not in values:
            field = expr.expr
            read = self.reader(field).read
            if expr.insensitive:
                self._strings_only(field, "in~")
                folded = frozenset(str(v).lower() for v in values)
                test: Cond = lambda d: any(isinstance(v, str) and v.lower() in folded  # noqa: E731
                                           for v in read(d))
            else:
                test = self.reader(field).has_any(
                    frozenset(self.typed(field, v) for v in values))
            if expr.negated:
                return _two_valued(lambda d: not test(d))
            return _two_valued(test)
        value = self.value(expr.expr)
        fold = expr.insensitive

        def scripted(d: _Doc) -> bool | None:
            found = value(d)
            if found is None:
                return None
            if fold and isinstance(found, str):
                hit = any(isinstance(v, str) and v.lower() == found.lower() for v in values)
            else:
                hit = found in values
            return not hit if expr.negated else hit
        return scripted

    def _strings_only(self, field: ast.Field, op: str) -> None:
        kind = self.reader(field).kind
        if kind not in ("keyword", "dynamic"):
            raise EqlTypeError(f"'{op}' compares strings, but '{field.path}' is a {kind} field",
                               field=field.path, hint="Elasticsearch rejects this query")

    def pattern(self, expr: ast.Pattern) -> Cond:
        build = like_regex if expr.kind == "like" else _regex
        regexes = [build(p, expr.insensitive).fullmatch for p in expr.patterns]
        if isinstance(expr.expr, ast.Field):
            self._strings_only(expr.expr, expr.kind)
            read = self.reader(expr.expr).read
            return _two_valued(lambda d: any(isinstance(v, str) and any(m(v) for m in regexes)
                                             for v in read(d)))
        value = self.value(expr.expr)

        def scripted(d: _Doc) -> bool | None:
            found = value(d)
            if not isinstance(found, str):
                return None
            return any(m(found) for m in regexes)
        return scripted

    def call_condition(self, expr: ast.Call) -> Cond:
        if expr.name not in BOOLEAN_FUNCTIONS:
            value = self.value(expr)
            return lambda d: _truth(value(d))
        first = expr.args[0] if expr.args else None
        rest = expr.args[1:]
        if isinstance(first, ast.Field) and rest and \
                all(isinstance(a, ast.Literal) for a in rest):
            literals = [a.value for a in rest]  # type: ignore[union-attr]
            if expr.name == "cidrmatch":
                return self._cidr_query(first, literals)
            if expr.name == "startswith" and isinstance(literals[0], str):
                self._strings_only(first, "startsWith")
                read = self.reader(first).read
                prefix = literals[0].lower() if expr.insensitive else literals[0]
                if expr.insensitive:
                    return _two_valued(lambda d: any(
                        isinstance(v, str) and v.lower().startswith(prefix) for v in read(d)))
                return _two_valued(lambda d: any(isinstance(v, str) and v.startswith(prefix)
                                                 for v in read(d)))
        value = self.value(expr)
        return lambda d: value(d)

    def _cidr_query(self, field: ast.Field, blocks: list[Any]) -> Cond:
        reader = self.reader(field)
        if reader.kind not in ("ip", "dynamic"):
            raise EqlTypeError(f"cidrMatch needs an ip field, '{field.path}' is a {reader.kind} "
                               "field", field=field.path, hint="Elasticsearch rejects this query")
        ranges = cidr_ranges(blocks)
        if ranges is None:
            raise EqlTypeError(f"cidrMatch: invalid CIDR block in {blocks!r}", field=field.path,
                               hint="write blocks such as 10.0.0.0/8")
        read = reader.read
        from kmsdet.kql.values import doc_ip

        def test(d: _Doc) -> bool:
            for v in read(d):
                ip = doc_ip(v) if isinstance(v, str) else v
                if isinstance(ip, int) and not isinstance(ip, bool) and \
                        any(low <= ip <= high for low, high in ranges):
                    return True
            return False
        return _two_valued(test)

    # ------------------------------------------------------------------ values

    def value(self, expr: ast.Expr) -> Val:  # noqa: C901
        if isinstance(expr, ast.Literal):
            constant = expr.value
            return lambda d: constant
        if isinstance(expr, ast.Field):
            reader = self.reader(expr)
            read, kind = reader.read, reader.kind

            def first(d: _Doc) -> Any:
                values = read(d)
                if not values:
                    return None
                if len(values) == 1:
                    return as_scalar(kind, values[0])
                try:
                    return as_scalar(kind, min(values))
                except TypeError:
                    return as_scalar(kind, values[0])
            return first
        if isinstance(expr, ast.Math):
            fn = arithmetic(expr.op)
            lv, rv = self.value(expr.left), self.value(expr.right)
            return lambda d: fn(lv(d), rv(d))
        if isinstance(expr, ast.Negate):
            inner = self.value(expr.expr)
            return lambda d: (lambda v: -v if _number(v) else None)(inner(d))
        if isinstance(expr, ast.Call):
            fn = function(expr.name, expr.insensitive)
            if fn is None:
                raise EqlSyntaxError(f"EQL function '{expr.name}' is not supported",
                                     hint="kmsdet runs the functions Elastic's rules use")
            low, high = ARITY[expr.name]
            if not low <= len(expr.args) <= high:
                raise EqlSyntaxError(f"{expr.name}() takes {low}..{high} arguments, got "
                                     f"{len(expr.args)}", hint="Elasticsearch rejects this query")
            args = [self.value(a) for a in expr.args]
            return lambda d: fn(*(a(d) for a in args))
        cond = self.condition(expr)
        return cond


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _truth(value: Any) -> bool | None:
    if value is None:
        return None
    return value is True


def _two_valued(cond: Cond) -> Cond:
    """Mark a condition that is never null (a query on a field), for the fast and/or chains."""
    cond.two_valued = True  # type: ignore[attr-defined]
    return cond


def _is_two_valued(cond: Cond) -> bool:
    return getattr(cond, "two_valued", False)


def _and(items: list[Cond]) -> Cond:
    if len(items) == 1:
        return items[0]
    if all(_is_two_valued(i) for i in items):
        if len(items) == 2:
            a, b = items
            return _two_valued(lambda d: a(d) and b(d))
        if len(items) == 3:
            a, b, c = items
            return _two_valued(lambda d: a(d) and b(d) and c(d))
        if len(items) == 4:
            a, b, c, e = items
            return _two_valued(lambda d: a(d) and b(d) and c(d) and e(d))
        if len(items) == 5:
            a, b, c, e, f = items
            return _two_valued(lambda d: a(d) and b(d) and c(d) and e(d) and f(d))
        head, tail = _and(items[:4]), _and(items[4:])  # unrolled chains beat all() on a genexpr
        return _two_valued(lambda d: head(d) and tail(d))

    def test(d: _Doc) -> bool | None:
        unknown = False
        for item in items:
            found = item(d)
            if found is False:
                return False
            if found is None:
                unknown = True
        return None if unknown else True
    return test


def _or(items: list[Cond]) -> Cond:
    if len(items) == 1:
        return items[0]
    if all(_is_two_valued(i) for i in items):
        if len(items) == 2:
            a, b = items
            return _two_valued(lambda d: a(d) or b(d))
        return _two_valued(lambda d: any(i(d) for i in items))

    def test(d: _Doc) -> bool | None:
        unknown = False
        for item in items:
            found = item(d)
            if found is True:
                return True
            if found is None:
                unknown = True
        return None if unknown else False
    return test
