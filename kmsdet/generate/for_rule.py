"""Generated events for one rule, each with the raw CloudTrail record it comes from.

A generated event is only worth a test case if it behaves the same after the trip through the
record builder and the integration's mapping, because that is what ``kmsdet test`` runs. So
every inverted event is rebuilt exactly as a case would be (same builder, same mapping, several
seeds for the values the builder draws at random) and checked again with the matcher: a
must-fire event must match, a near miss must still satisfy every other clause and break its
own. Events that fail the trip keep their ECS document and say why they have no raw record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kmsdet.cases.events import build_case_events
from kmsdet.cases.model import Case
from kmsdet.errors import InputError, UsageError
from kmsdet.generate.generator import GeneratedEvent, Generation, Generator, top_clauses
from kmsdet.generate.inverse import invert
from kmsdet.kql.ast import Node
from kmsdet.kql.matcher import CompiledQuery
from kmsdet.rules.model import Rule

VERIFY_SEEDS: tuple[int, ...] = (0, 1, 2)
Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class RawEvent:
    """The builder overrides (what a case file holds), the record and its ECS document."""

    overrides: dict[str, Any]
    record: dict[str, Any]
    document: dict[str, Any]


@dataclass(frozen=True)
class RuleEvent:
    event: GeneratedEvent
    raw: RawEvent | None
    note: str | None = None

    @property
    def document(self) -> dict[str, Any]:
        """The realistic document when the raw trip worked, else the solver's minimal one."""
        return self.raw.document if self.raw is not None else self.event.document


@dataclass(frozen=True)
class RuleGeneration:
    rule: Rule
    query: str
    node: Node
    generation: Generation
    firing: list[RuleEvent]
    near_misses: list[RuleEvent]
    now: datetime


def rule_query(rule: Rule) -> tuple[str, Node]:
    """The rule's KQL text and AST; typed errors for rules kmsdet cannot generate for."""
    from kmsdet.kql.errors import KqlSyntaxError
    from kmsdet.kql.parser import parse
    from kmsdet.rules.checks.query import QUERY_PATH

    path = str(rule.source.path)
    if rule.rule.language != "kuery" or not rule.rule.query:
        raise UsageError(f"rule '{rule.name}' has no KQL query (language: "
                         f"{rule.rule.language or 'none'})", file=path, field="rule.language",
                         hint="kmsdet generate works from KQL (language = \"kuery\") queries")
    query = rule.rule.query
    try:
        return query, parse(query)
    except KqlSyntaxError as exc:
        start = rule.source.value_starts.get(QUERY_PATH)
        if start is not None:
            raise exc.in_file(path, start[0], start[1]) from None
        raise InputError(exc.message, file=path, field="rule.query", hint=exc.hint) from None


def generate_for_rule(rule: Rule, *, now: datetime | None = None, count: int | None = None,
                      seeds: Sequence[int] = VERIFY_SEEDS) -> RuleGeneration:
    """Must-fire and near-miss events for ``rule``, raw records included where they work."""
    from kmsdet.fields.registry import schema_for_indices

    when = now or datetime.now(timezone.utc).replace(microsecond=0)
    query, node = rule_query(rule)
    schema = schema_for_indices(tuple(rule.rule.index or ()))
    generator = Generator(schema, when)
    generation = generator.generate(node, query, count=count)
    oracle = generator.solver.oracle
    whole = oracle.compiled((), node)
    clauses = [oracle.compiled((), c) for c in top_clauses(node)]

    def near_miss_check(index: int) -> Predicate:
        def check(doc: dict[str, Any]) -> bool:
            return all(c(doc) != (i == index) for i, c in enumerate(clauses))
        return check

    firing = [with_raw(e, whole, rule.rule_id, when, seeds) for e in generation.firing]
    misses = [with_raw(c.near_miss, near_miss_check(c.index), rule.rule_id, when, seeds)
              for c in generation.clauses if c.near_miss is not None]
    return RuleGeneration(rule, query, node, generation, firing, misses, when)


def with_raw(event: GeneratedEvent, check: Predicate | CompiledQuery, key: str,
             now: datetime, seeds: Sequence[int] = VERIFY_SEEDS) -> RuleEvent:
    """``event`` with its raw record when the inversion survives the builder and mapping.

    ``check`` says whether a mapped document still does its job; ``key`` seeds the builder as
    a case of the rule with that id would be (``kmsdet test`` uses the rule id).
    """
    from kmsdet.cloudtrail.to_ecs import to_ecs

    inversion = invert(event.values)
    if not inversion.ok:
        return RuleEvent(event, None, "; ".join(inversion.problems))
    case = Case(name=event.name, expect=1 if event.kind == "fire" else 0,
                event=[inversion.overrides])
    first: RawEvent | None = None
    for seed in seeds:
        try:
            built = build_case_events(case, now=now, seed=seed, key=key)
        except InputError as exc:
            return RuleEvent(event, None, f"the record builder refused the overrides: "
                                          f"{exc.message}")
        record = built[0].raw
        document = to_ecs(record, ingested=built[0].ingested)
        if not check(document):
            what = "match" if event.kind == "fire" else "miss as intended"
            return RuleEvent(event, None, f"the record built from the overrides does not {what}"
                                          f" once mapped (seed {seed}); fields left to the "
                                          f"pipeline: {', '.join(inversion.derived) or 'none'}")
        if first is None:
            first = RawEvent(dict(inversion.overrides), record, document)
    return RuleEvent(event, first)
