"""Must-fire documents (one per branch of every ``or``) and near misses (one per clause).

A near miss for a clause satisfies every other top-level clause and violates that one, so a
rule test built from it proves the clause is really needed: a rule that kept firing on it would
have lost that condition. Every document is checked by the matcher before it is offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from kmsdet.fields.schema import FieldSchema
from kmsdet.generate.nnf import Branch, Budget, Disj, to_nnf
from kmsdet.generate.proof import Refutation, refute
from kmsdet.generate.solve import Solution, Solver
from kmsdet.kql.ast import And, Exists, Is, Node, Not, Range, Span
from kmsdet.kql.matcher import describe

Kind = Literal["fire", "near_miss"]
_SPAN = Span(0, 0)


@dataclass(frozen=True)
class GeneratedEvent:
    """One ECS document the matcher has checked.

    ``values`` are the field values the query needed (stored field -> value, a list when the
    field needs several, or ``ABSENT``), which is what the raw CloudTrail inversion works from.
    ``clause`` names the clause a near miss breaks; ``branches`` the ``or`` branches a must-fire
    document takes.
    """

    kind: Kind
    name: str
    document: dict[str, Any]
    values: dict[str, Any]
    clause: str | None = None
    branches: tuple[str, ...] = ()
    branch_nodes: tuple[tuple[bool, Node], ...] = ()


@dataclass(frozen=True)
class Clause:
    """One top-level clause of the query and its near miss.

    ``negatable`` is True when a near miss was found, False when none can exist (proven, e.g. a
    constant_keyword that always holds), None when the solver found none but could not prove
    that none exists.
    """

    index: int
    text: str
    node: Node
    negatable: bool | None
    near_miss: GeneratedEvent | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Generation:
    firing: list[GeneratedEvent]
    clauses: list[Clause]
    branches: list[str]
    uncovered: list[str] = field(default_factory=list)
    unsatisfiable: Refutation | None = None

    @property
    def near_misses(self) -> list[GeneratedEvent]:
        return [c.near_miss for c in self.clauses if c.near_miss is not None]


def clause_text(node: Node, query: str | None = None) -> str:
    """How a clause reads in the query (whitespace collapsed), for names and messages."""
    if isinstance(node, (Is, Exists, Range)):
        return describe(node)
    if isinstance(node, Not) and isinstance(node.item, (Is, Exists, Range)):
        return "not " + describe(node.item)
    if query is not None and node.span.end > node.span.start:
        return " ".join(query[node.span.start:node.span.end].split())
    return describe(node)


def top_clauses(node: Node) -> tuple[Node, ...]:
    return node.items if isinstance(node, And) else (node,)


class Generator:
    """Generates events for queries of one schema at one instant."""

    def __init__(self, schema: FieldSchema | None, now: datetime, *, steps: int = 4000) -> None:
        self.solver = Solver(schema, now, steps=steps)
        self.steps = steps

    def generate(self, node: Node, query: str | None = None, *, count: int | None = None
                 ) -> Generation:
        """Firing documents covering every ``or`` branch (or ``count`` of them) and near misses.

        Raises the matcher's ``KqlTypeError`` when Elasticsearch would reject the query.
        """
        self.solver.oracle.compiled((), node)  # type errors surface before any search
        root, choices = to_nnf(node)
        names = {b: _branch_name(choices[b[0]], b[1], query) for b in _all_branches(choices)}
        firing = self._firing(node, root, choices, names, count)
        covered = {b for event in firing for b in event[1]}
        events = [_fire_event(sol, taken, names, choices) for sol, taken in firing]
        unsat = refute(node, self.solver.oracle, steps=self.steps) if not events else None
        clauses = self._near_misses(node, query)
        return Generation(
            firing=events, clauses=clauses, branches=[names[b] for b in sorted(names)],
            uncovered=[names[b] for b in sorted(names) if b not in covered],
            unsatisfiable=unsat)

    def _firing(self, node: Node, root: Any, choices: dict[int, Disj],
                names: dict[Branch, str], count: int | None
                ) -> list[tuple[Solution, frozenset[Branch]]]:
        found: list[tuple[Solution, frozenset[Branch]]] = []
        seen_docs: set[str] = set()

        def add(solution: Solution) -> None:
            key = repr(solution.doc)
            if key not in seen_docs:
                seen_docs.add(key)
                found.append((solution, solution.branches))

        first = next(self.solver.solutions(node, root=root), None)
        if first is None:
            return []
        add(first)
        covered = set(first.branches)
        for branch in sorted(names):
            if count is not None and len(found) >= count:
                break
            if branch in covered:
                continue
            for solution in self.solver.solutions(node, root=root, forced=dict([branch]),
                                                  budget=Budget(self.steps)):
                if branch in solution.branches:
                    add(solution)
                    covered |= solution.branches
                    break
        if count is not None and len(found) < count:
            for solution in self.solver.solutions(node, root=root, budget=Budget(self.steps)):
                add(solution)
                if len(found) >= count:
                    break
        return found[:count] if count is not None else found

    def _near_misses(self, node: Node, query: str | None) -> list[Clause]:
        clauses = top_clauses(node)
        out: list[Clause] = []
        for index, clause in enumerate(clauses):
            text = clause_text(clause, query)
            others = [c for i, c in enumerate(clauses) if i != index]
            broken = Not(clause, _SPAN)
            target: Node = And((*others, broken), _SPAN) if others else broken
            solution = self.solver.first(target)
            if solution is None:
                proof = refute(target, self.solver.oracle, steps=self.steps)
                out.append(Clause(index, text, clause, False if proof else None,
                                  reason=proof.message if proof else
                                  "no near miss found within the search budget"))
                continue
            event = GeneratedEvent("near_miss", f"near miss: breaks `{text}`", solution.doc,
                                   solution.values, clause=text)
            out.append(Clause(index, text, clause, True, event))
        return out


def _all_branches(choices: dict[int, Disj]) -> list[Branch]:
    return [(ident, i) for ident, disj in choices.items() for i in range(len(disj.items))]


def _branch_name(disj: Disj, index: int, query: str | None) -> str:
    positive, node = disj.branches[index]
    text = clause_text(node, query)
    return text if positive else f"not {text}"


def _fire_event(solution: Solution, taken: frozenset[Branch], names: dict[Branch, str],
                choices: dict[int, Disj]) -> GeneratedEvent:
    branches = tuple(names[b] for b in sorted(taken))
    nodes = tuple(choices[ident].branches[index] for ident, index in sorted(taken))
    name = "fires" + (": " + ", ".join(branches) if branches else "")
    return GeneratedEvent("fire", name, solution.doc, solution.values, branches=branches,
                          branch_nodes=nodes)


def generate_events(node: Node, schema: FieldSchema | None, now: datetime, *,
                    query: str | None = None, count: int | None = None) -> Generation:
    """Shorthand for ``Generator(schema, now).generate(node, query, count=count)``."""
    return Generator(schema, now).generate(node, query, count=count)


def describe_branches(branches: Sequence[str]) -> str:
    return ", ".join(branches) if branches else "(no choice)"
