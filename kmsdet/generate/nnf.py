"""A query in negation normal form, and the conjunctions of literals it is made of.

Generating a document means choosing one branch of every ``or`` and then finding values for
the literals of that choice. Pushing ``not`` down to the field clauses first (De Morgan) makes
every choice a plain list of "this clause holds" / "this clause does not hold" literals, which
is what the per-field solver and the unsatisfiability proof both work on.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kmsdet.kql.ast import And, Exists, Is, MatchAll, Nested, Node, Not, Or, Range, Span

Atom = Is | Exists | Range | Nested


@dataclass(frozen=True, slots=True)
class Lit:
    """One field clause that must hold (``positive``) or must not hold."""

    positive: bool
    atom: Atom


@dataclass(frozen=True, slots=True)
class Conj:
    items: tuple[NNF, ...]


@dataclass(frozen=True, slots=True)
class Disj:
    """A choice point. ``ident`` numbers it; ``branches`` are the AST nodes the items came from
    (negated when the choice comes from ``not (a and b)``) so a branch can be named."""

    ident: int
    items: tuple[NNF, ...]
    branches: tuple[tuple[bool, Node], ...]


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


NNF = Lit | Conj | Disj | Const
Branch = tuple[int, int]


def to_nnf(node: Node) -> tuple[NNF, dict[int, Disj]]:
    """The query in negation normal form, plus every choice point by its ident."""
    counter = itertools.count()
    choices: dict[int, Disj] = {}

    def build(current: Node, positive: bool) -> NNF:
        if isinstance(current, Not):
            return build(current.item, not positive)
        if isinstance(current, MatchAll):
            return Const(positive)
        if isinstance(current, (And, Or)):
            conjunctive = isinstance(current, And) == positive
            items = tuple(build(item, positive) for item in current.items)
            if conjunctive:
                return Conj(items)
            disj = Disj(next(counter), items, tuple((positive, i) for i in current.items))
            choices[disj.ident] = disj
            return disj
        return Lit(positive, current)

    return build(node, True), choices


@dataclass
class Budget:
    """How many search steps may still be spent; searching stops quietly when it runs out."""

    steps: int
    exhausted: bool = field(default=False)

    def spend(self) -> bool:
        self.steps -= 1
        if self.steps < 0:
            self.exhausted = True
            return False
        return True


Prune = Callable[[tuple[Lit, ...], Lit], bool]


def conjunctions(root: NNF, budget: Budget, *, forced: Mapping[int, int] | None = None,
                 prune: Prune | None = None
                 ) -> Iterator[tuple[tuple[Lit, ...], frozenset[Branch]]]:
    """Every conjunction of literals the query allows, depth first, with the branches taken.

    ``forced`` fixes the branch of some choice points; ``prune(lits, new)`` rejects a partial
    conjunction early (a literal that contradicts what was already chosen).
    """
    forced = forced or {}

    def dfs(pending: tuple[NNF, ...], lits: tuple[Lit, ...], taken: frozenset[Branch]
            ) -> Iterator[tuple[tuple[Lit, ...], frozenset[Branch]]]:
        while pending:
            if not budget.spend():
                return
            head, pending = pending[0], pending[1:]
            if isinstance(head, Conj):
                pending = head.items + pending
            elif isinstance(head, Const):
                if not head.value:
                    return
            elif isinstance(head, Lit):
                if prune is not None and prune(lits, head):
                    return
                lits = lits + (head,)
            else:
                want = forced.get(head.ident)
                for index, item in enumerate(head.items):
                    if want is not None and index != want:
                        continue
                    yield from dfs((item,) + pending, lits, taken | {(head.ident, index)})
                    if budget.exhausted:
                        return
                return
        yield lits, taken

    yield from dfs((root,), (), frozenset())


_NO_SPAN = Span(0, 0)


@lru_cache(maxsize=8192)
def atom_key(node: Any) -> Any:
    """``node`` with every span zeroed: two clauses written alike compare equal."""
    if isinstance(node, Span):
        return _NO_SPAN
    if isinstance(node, tuple):
        return tuple(atom_key(item) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: atom_key(getattr(node, f.name)) for f in dataclasses.fields(node)
                   if isinstance(getattr(node, f.name), (Span, tuple))
                   or dataclasses.is_dataclass(getattr(node, f.name))}
        return dataclasses.replace(node, **changes)
    return node
