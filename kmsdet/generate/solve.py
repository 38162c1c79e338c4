"""Find a document that satisfies a query: choose branches, then values field by field.

A conjunction of literals (one choice of every ``or``) is solved per field: the literals on one
field decide its value, and every candidate value is judged by the in-memory matcher on a
one-field document, so the solver can never disagree with the matcher about what a clause
means (keyword vs text, CIDRs, date rounding, constant_keyword, flattened keys). Because every
field clause is "some value of the field satisfies it", a field may take several values when
no single one satisfies all its positive clauses (``a: x and a: y``); every value must still
avoid all the negated ones. Clauses that are not tied to one field (free text, wildcard field
names) are placed on a field when they must hold, and checked against every field when they
must not. The assembled document is then checked against the whole query before use.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmsdet.fields.schema import FieldSchema
from kmsdet.generate.fields import (
    FieldKind,
    atom_candidates,
    between,
    defaults,
    family,
    range_bounds,
    resolve,
)
from kmsdet.generate.nnf import NNF, Atom, Branch, Budget, Lit, atom_key, conjunctions, to_nnf
from kmsdet.kql.ast import And, Exists, Is, Nested, Node, Not, Or, Range, RangeOp, Span, shape
from kmsdet.kql.matcher import CompiledQuery, compile_query
from kmsdet.kql.values import datetime_to_nanos

Context = tuple[str, ...]
#: Fields free text is placed on, in order of preference.
FREE_TEXT_HOSTS = ("message", "error.message", "aws.cloudtrail.error_message",
                   "user_agent.original", "tags")
MAX_CANDIDATES = 48
MAX_PLACEMENTS = 16
MAX_EXPANSIONS = 8
_SPAN = Span(0, 0)
_FLIP: dict[str, RangeOp] = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


class _Absent:
    """The field must not appear in the document."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def wrap(ctx: Context, node: Node) -> Node:
    for path in reversed(ctx):
        node = Nested(path, node, _SPAN)
    return node


def wrap_doc(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    for path in reversed(ctx):
        doc = {path: [doc]}
    return doc


def put(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` in ``doc`` as nested objects (a dotted key where objects clash)."""
    node = doc
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            node[".".join(parts[i:])] = value
            return
        node = child
    if isinstance(node.get(parts[-1]), dict) and isinstance(value, dict):
        node[parts[-1]].update(value)
    else:
        node[parts[-1]] = value


class Oracle:
    """The matcher, asked about one clause at a time on tiny documents (compiled once each).

    Answers are keyed by the clause's shape, not its position, so one oracle serves every
    query over the same schema at the same instant (lint shares one across a rule tree).
    """

    def __init__(self, schema: FieldSchema | None, now: datetime) -> None:
        self.schema = schema
        self.now = now
        self.now_nanos = datetime_to_nanos(now)
        self._compiled: dict[tuple[Context, tuple[object, ...]], CompiledQuery] = {}
        self._kinds: dict[str, FieldKind] = {}
        self._empty: dict[tuple[Context, tuple[object, ...]], bool] = {}
        self._translated: set[tuple[object, ...]] = set()

    def validate(self, node: Node) -> None:
        """Raise what ``compile_query(node)`` raises, from cached compilations of its clauses.

        ``and``/``or``/``not`` only combine their clauses, and both the DSL translation and
        the compilation visit clauses in query order, so the whole query fails where its first
        failing clause does; like compile_query, every clause is translated before any is
        compiled. A query made of clauses seen before costs no compilation at all.
        """
        clauses = leaf_clauses(node)
        if self.schema is not None:
            from kmsdet.kql.dsl import to_dsl

            for clause in clauses:
                key = shape(clause)
                if key not in self._translated:
                    to_dsl(clause, self.schema)
                    self._translated.add(key)
        for clause in clauses:
            self.compiled((), clause)

    def compiled(self, ctx: Context, node: Node) -> CompiledQuery:
        key = (ctx, shape(node))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = compile_query(wrap(ctx, node), self.schema,
                                                        now=self.now)
        return found

    def holds(self, ctx: Context, node: Node, doc: dict[str, Any]) -> bool:
        return self.compiled(ctx, node)(wrap_doc(ctx, doc))

    def on_empty(self, ctx: Context, node: Node) -> bool:
        """Truth on a document without fields; clauses are monotone, so True means always."""
        key = (ctx, shape(node))
        found = self._empty.get(key)
        if found is None:
            found = self._empty[key] = self.holds(ctx, node, {}) if not ctx else \
                self.compiled(ctx, node)(wrap_doc(ctx, {}))
        return found

    def kind(self, name: str) -> FieldKind:
        found = self._kinds.get(name)
        if found is None:
            found = self._kinds[name] = resolve(self.schema, name)
        return found


def leaf_clauses(node: Node) -> list[Node]:
    """The clauses under the query's ``and``/``or``/``not`` (a nested group is one), in order."""
    if isinstance(node, (And, Or)):
        return [clause for item in node.items for clause in leaf_clauses(item)]
    if isinstance(node, Not):
        return leaf_clauses(node.item)
    return [node]


def prefix_of(ctx: Context) -> str:
    return "".join(p + "." for p in ctx)


def is_floating(atom: Atom) -> bool:
    """Free text and wildcard field names: clauses not tied to one field."""
    if isinstance(atom, Nested):
        return False
    return atom.field is None or atom.field_wildcard


@dataclass
class Group:
    """The literals that constrain one stored field."""

    kind: FieldKind
    pos: list[Atom] = field(default_factory=list)
    neg: list[Atom] = field(default_factory=list)


@dataclass
class Split:
    """A conjunction sorted by what it constrains."""

    groups: dict[str, Group]
    nested_pos: dict[str, list[Nested]]
    nested_neg: dict[str, list[Nested]]
    floating_pos: list[Atom]
    floating_neg: list[Atom]


def split(lits: Sequence[Lit], ctx: Context, oracle: Oracle) -> Split | None:
    """Sort literals by field; None when one of them can never hold (decided on {})."""
    out = Split({}, {}, {}, [], [])
    prefix = prefix_of(ctx)
    for lit in lits:
        atom = lit.atom
        always = oracle.on_empty(ctx, atom)
        if always and not lit.positive:
            return None
        if always and (isinstance(atom, Nested) or is_floating(atom)):
            continue
        if isinstance(atom, Nested):
            target = out.nested_pos if lit.positive else out.nested_neg
            target.setdefault(atom.path, []).append(atom)
            continue
        if is_floating(atom):
            (out.floating_pos if lit.positive else out.floating_neg).append(atom)
            continue
        assert atom.field is not None
        kind = oracle.kind(prefix + atom.field)
        storage = kind.storage[len(prefix):] if kind.storage.startswith(prefix) else kind.storage
        group = out.groups.get(storage)
        if group is None:
            group = out.groups[storage] = Group(kind)
        if not always:  # an always-true clause (a constant field) only shows its value
            (group.pos if lit.positive else group.neg).append(atom)
    return out


def placements(atom: Atom, ctx: Context, oracle: Oracle) -> list[FieldKind]:
    """Fields a floating positive clause may be satisfied on."""
    prefix = prefix_of(ctx)
    schema = oracle.schema
    if isinstance(atom, Nested):
        return []
    if atom.field is None:
        names = [h for h in FREE_TEXT_HOSTS
                 if schema is None or h in schema or not schema.complete]
    else:
        names = schema.expand(prefix + atom.field) if schema is not None else []
        names = [n for n in names if family(oracle.kind(n).type) not in ("object", "none")]
    kinds: dict[str, FieldKind] = {}
    for name in names:
        kind = oracle.kind(prefix + name if atom.field is None else name)
        if kind.constant is None and kind.storage not in kinds:
            kinds[kind.storage] = kind
    return list(kinds.values())[:MAX_EXPANSIONS]


def _candidates(group: Group, oracle: Oracle, extra: Sequence[Atom]) -> list[Any]:
    kind = group.kind
    now = oracle.now_nanos
    out: list[Any] = []
    for atom in [*group.pos, *extra]:
        if isinstance(atom, (Is, Exists, Range)):
            out.extend(atom_candidates(atom, kind, now))
    for atom in group.neg:  # a negated range holds on the other side of its bound
        if isinstance(atom, Range):
            flipped = Range(atom.field, _FLIP[atom.op], atom.value, atom.span)
            out.extend(atom_candidates(flipped, kind, now))
    fam = family(kind.type)
    ranges = [a for a in (*group.pos, *group.neg) if isinstance(a, Range)]
    if len(ranges) > 1 and fam in ("integer", "float", "date", "ip", "dynamic"):
        bounds = sorted({b for r in ranges for b in range_bounds(r, fam, now)
                         if isinstance(b, (int, float))})
        for low, high in itertools.pairwise(bounds):
            out.extend(between(low, high, fam))
    out.extend(defaults(kind, now))
    unique: list[Any] = []
    seen: set[str] = set()
    for value in out:
        key = repr(value)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique[:MAX_CANDIDATES]


def solve_group(storage: str, group: Group, ctx: Context, oracle: Oracle,
                floating_neg: Sequence[Atom], placed: Sequence[Atom], fill: bool) -> Any:
    """A value (or a list of values, or ABSENT) for one field; None when none is found."""
    kind = group.kind
    pos = [*group.pos, *placed]
    neg = [*group.neg, *floating_neg]
    if kind.constant is not None or kind.type == "unsearchable":
        if pos:
            return None  # its truth does not depend on the document: on_empty said false
        return kind.constant if kind.constant is not None else ABSENT

    def holds(atom: Atom, value: Any) -> bool:
        return oracle.holds(ctx, atom, {storage: value})

    if not pos:
        if fill:
            for value in _candidates(group, oracle, ()):
                if not any(holds(n, value) for n in neg):
                    return value
        return ABSENT
    candidates = _candidates(group, oracle, placed)
    clean = [c for c in candidates if not any(holds(n, c) for n in neg)]
    for value in clean:
        if all(holds(p, value) for p in pos):
            return value
    chosen: list[Any] = []
    for p in pos:
        hit = next((c for c in clean if holds(p, c)), None)
        if hit is None:
            return None
        if hit not in chosen:
            chosen.append(hit)
    if all(holds(p, chosen) for p in pos) and not any(holds(n, chosen) for n in neg):
        return chosen
    return None


@dataclass(frozen=True)
class Solution:
    doc: dict[str, Any]
    values: dict[str, Any]  # storage path (relative to the context) -> value set
    lits: tuple[Lit, ...]
    branches: frozenset[Branch]


class Solver:
    """Documents for queries in one schema, at one instant (for date math)."""

    def __init__(self, schema: FieldSchema | None, now: datetime, *, steps: int = 4000) -> None:
        self.oracle = Oracle(schema, now)
        self.steps = steps

    # ------------------------------------------------------------------ search

    def prune(self, ctx: Context) -> Any:
        oracle = self.oracle

        def prune(lits: tuple[Lit, ...], new: Lit) -> bool:
            if oracle.on_empty(ctx, new.atom) != new.positive and _fixed(new.atom, ctx, oracle):
                return True
            key = atom_key(new.atom)
            return any(old.positive != new.positive and atom_key(old.atom) == key
                       for old in lits)

        return prune

    def solutions(self, node: Node, *, ctx: Context = (), forced: Mapping[int, int] | None = None,
                  root: NNF | None = None, budget: Budget | None = None) -> Iterator[Solution]:
        """Documents satisfying ``node`` (checked by the matcher), one per conjunction."""
        if root is None:
            root, _ = to_nnf(node)
        budget = budget or Budget(self.steps)
        whole = self.oracle.compiled(ctx, node)
        for lits, taken in conjunctions(root, budget, forced=forced, prune=self.prune(ctx)):
            for fill in (True, False):
                solved = self.solve_conjunction(lits, ctx, fill, budget)
                if solved is None:
                    continue
                doc, values = solved
                if whole(wrap_doc(ctx, doc)):
                    yield Solution(doc, values, lits, taken)
                    break

    def first(self, node: Node, ctx: Context = ()) -> Solution | None:
        return next(self.solutions(node, ctx=ctx), None)

    # ------------------------------------------------------------------ one conjunction

    def solve_conjunction(self, lits: Sequence[Lit], ctx: Context, fill: bool, budget: Budget
                          ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        oracle = self.oracle
        parts = split(lits, ctx, oracle)
        if parts is None:
            return None
        options = [placements(a, ctx, oracle) for a in parts.floating_pos]
        if any(not o for o in options):
            return None
        for combo in itertools.islice(itertools.product(*options), MAX_PLACEMENTS):
            if not budget.spend():
                return None
            groups = dict(parts.groups)
            placed: dict[str, list[Atom]] = {}
            prefix = prefix_of(ctx)
            for atom, kind in zip(parts.floating_pos, combo, strict=True):
                storage = kind.storage[len(prefix):] if kind.storage.startswith(prefix) \
                    else kind.storage
                groups.setdefault(storage, Group(kind))
                placed.setdefault(storage, []).append(atom)
            values: dict[str, Any] = {}
            for storage, group in groups.items():
                value = solve_group(storage, group, ctx, oracle, parts.floating_neg,
                                    placed.get(storage, ()), fill)
                if value is None:
                    break
                values[storage] = value
            else:
                nested = self._nested(parts, ctx, budget)
                if nested is None:
                    continue
                values.update(nested)
                return build_doc(values), values
        return None

    def _nested(self, parts: Split, ctx: Context, budget: Budget) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        for path, positives in parts.nested_pos.items():
            negatives = [Not(n.query, _SPAN) for n in parts.nested_neg.get(path, ())]
            elements = []
            for atom in positives:
                query = And((atom.query, *negatives), _SPAN) if negatives else atom.query
                inner = next(self.solutions(query, ctx=(*ctx, path), budget=budget), None)
                if inner is None:
                    return None
                elements.append(inner.doc)
            out[path] = elements
        return out


def _fixed(atom: Atom, ctx: Context, oracle: Oracle) -> bool:
    """True when the clause's truth cannot depend on the document (constant fields and such)."""
    if isinstance(atom, Nested) or atom.field is None:
        return False
    if atom.field_wildcard:
        schema = oracle.schema
        return schema is not None and not schema.expand(prefix_of(ctx) + atom.field)
    kind = oracle.kind(prefix_of(ctx) + atom.field)
    return kind.constant is not None or kind.type == "unsearchable"


def build_doc(values: Mapping[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for storage in sorted(values, key=lambda s: s.count(".")):
        value = values[storage]
        if value is not ABSENT:
            put(doc, storage, value)
    return doc
