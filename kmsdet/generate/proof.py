"""Proving that no document can satisfy a query (lint check KD308).

The search is the solver's, but a branch is only closed by a reason that holds for every
document, never by "no candidate worked": field clauses are monotone (adding values never makes
one false), so a clause that is true on an empty document is always true, one that is false
there on a field whose truth is fixed (constant_keyword, an unsearchable field, a field pattern
that expands to nothing) is always false, and a term on a keyword, ip, number or boolean field
forces that exact value into the document, whatever else the document holds. Anything the rules
below cannot close counts as satisfiable, so the lint check never reports a false positive
because of a solver weakness. Arrays matter: ``a: x and a: y`` is satisfiable (``a: [x, y]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kmsdet.generate.fields import family
from kmsdet.generate.nnf import Budget, Lit, atom_key, conjunctions, to_nnf
from kmsdet.generate.solve import (
    Context,
    Oracle,
    _fixed,
    is_floating,
    prefix_of,
    split,
)
from kmsdet.kql.ast import And, Exists, Is, Nested, Node, Not, Span
from kmsdet.kql.matcher import describe

_SPAN = Span(0, 0)
_FORCING = frozenset({"keyword", "ip", "boolean", "integer", "float"})


@dataclass(frozen=True)
class Refutation:
    """Why the query can never match, and the clause to point at."""

    message: str
    span: Span


def _text(atom: Node) -> str:
    return describe(atom) if not isinstance(atom, Nested) else f"{atom.path}: {{ ... }}"


def refute(node: Node, oracle: Oracle, *, ctx: Context = (), steps: int = 5000
           ) -> Refutation | None:
    """A reason ``node`` matches no document, or None when that cannot be proven."""
    budget = Budget(steps)
    return _refute(node, oracle, ctx, budget)


def _refute(node: Node, oracle: Oracle, ctx: Context, budget: Budget) -> Refutation | None:
    root, _ = to_nnf(node)
    found: list[Refutation] = []

    def prune(lits: tuple[Lit, ...], new: Lit) -> bool:
        reason = _literal_conflict(lits, new, ctx, oracle)
        if reason is not None:
            found.append(reason)
            return True
        return False

    for lits, _taken in conjunctions(root, budget, prune=prune):
        reason = _conjunction_conflict(lits, ctx, oracle, budget)
        if reason is None:
            return None
        found.append(reason)
    if budget.exhausted:
        return None
    if not found:
        return Refutation("the query is false for every document", getattr(node, "span", _SPAN))
    return found[0]


def _literal_conflict(lits: Sequence[Lit], new: Lit, ctx: Context, oracle: Oracle
                      ) -> Refutation | None:
    atom = new.atom
    on_empty = oracle.on_empty(ctx, atom)
    if on_empty and not new.positive:
        return Refutation(f"`{_text(atom)}` holds for every document, so `not "
                          f"{_text(atom)}` never does", atom.span)
    if not on_empty and new.positive and _fixed(atom, ctx, oracle):
        return Refutation(f"`{_text(atom)}` can never match: {_why_fixed(atom, ctx, oracle)}",
                          atom.span)
    key = atom_key(atom)
    for old in lits:
        if old.positive != new.positive and atom_key(old.atom) == key:
            return Refutation(f"`{_text(atom)}` and `not {_text(atom)}` contradict each other",
                              atom.span)
    return None


def _why_fixed(atom: Node, ctx: Context, oracle: Oracle) -> str:
    field = getattr(atom, "field", None)
    if getattr(atom, "field_wildcard", False):
        return "the field pattern matches no field"
    kind = oracle.kind(prefix_of(ctx) + str(field))
    if kind.constant is not None:
        return f"`{kind.name}` is a constant_keyword that always holds `{kind.constant}`"
    return f"`{kind.name}` is not searchable"


def _forced_value(atom: Node, ctx: Context, oracle: Oracle) -> object | None:
    """The one value a term clause lets its field hold, when there is exactly one."""
    if not isinstance(atom, Is) or atom.field is None or atom.field_wildcard:
        return None
    if atom.value.wildcard is not None:
        return None
    kind = oracle.kind(prefix_of(ctx) + atom.field)
    fam = family(kind.type)
    if fam not in _FORCING or kind.constant is not None or kind.name != kind.storage:
        return None
    from kmsdet.generate.fields import atom_candidates

    if fam == "ip" and "/" in atom.value.text:
        return None
    values = atom_candidates(atom, kind, oracle.now_nanos)
    return values[0] if len(values) == 1 else None


def _conjunction_conflict(lits: Sequence[Lit], ctx: Context, oracle: Oracle, budget: Budget
                          ) -> Refutation | None:
    parts = split(lits, ctx, oracle)
    if parts is None:  # a negated clause that always holds; the prune step reports those
        return Refutation("a negated clause holds for every document", _SPAN)
    for storage, group in parts.groups.items():
        negatives = [*group.neg, *parts.floating_neg]
        for atom in group.pos:
            value = _forced_value(atom, ctx, oracle)
            if value is None:
                continue
            if not oracle.holds(ctx, atom, {storage: value}):
                return Refutation(f"`{_text(atom)}` can never match: the field cannot index "
                                  "that value", atom.span)
            for other in negatives:
                if oracle.holds(ctx, other, {storage: value}):
                    return Refutation(
                        f"`{_text(atom)}` requires the value {value!r}, which `not "
                        f"{_text(other)}` excludes", other.span)
        absent = [n for n in group.neg
                  if isinstance(n, Exists) and not is_floating(n)]
        if absent and group.pos:
            atom = group.pos[0]
            return Refutation(f"`{_text(atom)}` needs a value, which `not {_text(absent[0])}` "
                              "forbids", absent[0].span)
    for path, positives in parts.nested_pos.items():
        negatives = [Not(n.query, _SPAN) for n in parts.nested_neg.get(path, ())]
        for atom in positives:
            query = And((atom.query, *negatives), _SPAN) if negatives else atom.query
            inner = _refute(query, oracle, (*ctx, path), budget)
            if inner is not None:
                return inner
    return None
