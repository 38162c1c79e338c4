"""Generated test cases for EQL rules: a must-fire event or sequence and its near misses.

For an event query, one must-fire event and one near miss per top-level clause, as for KQL.
For a sequence, one event per step (each solved from the step's query with the join key values
forced equal), placed in order inside ``maxspan`` and inside the rule's look-back, and near
misses that break exactly one sequence condition each: the steps in the wrong order, a
different ``by`` value on the last step, the events spread beyond ``maxspan``, an ``until``
event (or a missing-step event) between the first two events.

Each case is built as ``kmsdet test`` builds it (the CloudTrail record builder, the
integration's mapping, the rule's run at ``now``) and run through the embedded EQL engine; a
case is offered only when it raises exactly the alerts it claims (1 or 0), otherwise it keeps
the reason it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from kmsdet.eql import ast
from kmsdet.eql.to_kql import NotTranslatable, event_query_node
from kmsdet.errors import InputError
from kmsdet.generate.solve import ABSENT
from kmsdet.kql import ast as kql
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import window

Kind = Literal["fire", "near_miss"]
_SPAN = kql.Span(0, 0)
VERIFY_SEEDS = (0, 1, 2)
_SAMPLE_KEYS = {
    "aws.cloudtrail.user_identity.arn": ("arn:aws:iam::111122223333:user/kmsdet-principal",
                                         "arn:aws:iam::111122223333:user/someone-else"),
    "aws.cloudtrail.resources.arn": (
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:key/0a4d8c9e-1b2f-4c3d-8e5f-6a7b8c9d0e01"),
}


@dataclass(frozen=True)
class EqlCase:
    """A generated case: its events (case-file overrides with ``_at``) and expected alerts."""

    kind: Kind
    name: str
    description: str
    events: list[dict[str, Any]]
    note: str | None = None  # why it is not offered (None: verified)

    @property
    def verified(self) -> bool:
        return self.note is None

    @property
    def expect(self) -> int:
        return 1 if self.kind == "fire" else 0


@dataclass
class EqlGeneration:
    rule: Rule
    query: str
    now: datetime
    cases: list[EqlCase] = field(default_factory=list)

    @property
    def firing(self) -> list[EqlCase]:
        return [c for c in self.cases if c.kind == "fire" and c.verified]

    @property
    def near_misses(self) -> list[EqlCase]:
        return [c for c in self.cases if c.kind == "near_miss" and c.verified]


def generate_for_eql_rule(rule: Rule, *, now: datetime | None = None) -> EqlGeneration:
    from kmsdet.eql.rule import program_for
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.generate.generator import Generator

    when = now or datetime.now(timezone.utc).replace(microsecond=0)
    program = program_for(rule)  # the query's syntax and type errors, located in the file
    query = program.query
    out = EqlGeneration(rule, rule.rule.query or "", when)
    planner = _Planner(rule, Generator(schema_for_indices(tuple(rule.rule.index or ())), when),
                       rule.rule.event_category_override or "event.category")
    try:
        if isinstance(query, ast.EventQuery):
            out.cases.extend(planner.event_query(query))
        elif isinstance(query, ast.Sequence):
            out.cases.extend(planner.sequence(query))
        else:
            out.cases.append(EqlCase("fire", "fires", "", [],
                                     note="kmsdet generate does not build samples"))
    except NotTranslatable as exc:
        out.cases.append(EqlCase("fire", "fires", "", [], note=exc.message))
    return out


class _Planner:
    def __init__(self, rule: Rule, generator: Any, category_field: str) -> None:
        self.rule = rule
        self.generator = generator
        self.category_field = category_field
        data = rule.rule
        self.now: datetime = generator.solver.oracle.now
        start, end = window(data.from_, data.to, self.now)
        self.lookback = (end - start).total_seconds()

    # ------------------------------------------------------------------ solving

    def solve(self, node: kql.Node, fixed: dict[str, str]) -> dict[str, Any] | None:
        """Values of one event satisfying ``node`` with the ``fixed`` fields' values."""
        terms = [kql.Is(f, kql.Value(v, True, None, _SPAN), _SPAN) for f, v in fixed.items()]
        target = kql.And((node, *terms), _SPAN) if terms else node
        solution = self.generator.solver.first(target)
        return dict(solution.values) if solution is not None else None

    def overrides(self, values: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        from kmsdet.generate.inverse import invert

        inversion = invert(values)
        if not inversion.ok:
            return None, "; ".join(inversion.problems)
        return dict(inversion.overrides), None

    def alerts(self, events: list[dict[str, Any]], expect: int) -> str | None:
        """None when the case raises ``expect`` alerts for every seed, else why not."""
        from kmsdet.backends.embedded import EmbeddedBackend
        from kmsdet.cases.events import build_case_events, to_documents
        from kmsdet.cases.model import Case

        case = Case(name="generated", expect=expect, event=events)
        now = self.now
        for seed in VERIFY_SEEDS:
            try:
                built = build_case_events(case, now=now, seed=seed, key=self.rule.rule_id)
            except InputError as exc:
                return f"the record builder refused the events: {exc.message}"
            docs = to_documents(built, run_id="generated")
            found = len(EmbeddedBackend(workers=1).run(self.rule, docs, now))
            if found != expect:
                return (f"built and mapped, the events raise {found} alert(s), not {expect} "
                        f"(seed {seed})")
        return None

    def case(self, kind: Kind, name: str, description: str,
             events: list[dict[str, Any]] | None, problem: str | None = None) -> EqlCase:
        if events is None:
            return EqlCase(kind, name, description, [], note=problem or "no events found")
        note = self.alerts(events, 1 if kind == "fire" else 0)
        return EqlCase(kind, name, description, events, note=note)

    # ------------------------------------------------------------------ event queries

    def event_query(self, query: ast.EventQuery) -> list[EqlCase]:
        from kmsdet.generate.generator import clause_text, top_clauses

        node = event_query_node(query, self.category_field)
        cases = []
        values = self.solve(node, {})
        events, problem = self._one_event(values)
        cases.append(self.case("fire", "fires", "generated: a must-fire event", events, problem))
        clauses = top_clauses(node)
        for index, clause in enumerate(clauses):
            others = [c for i, c in enumerate(clauses) if i != index]
            target = kql.And((*others, kql.Not(clause, _SPAN)), _SPAN)
            text = clause_text(clause)
            events, problem = self._one_event(self.solve(target, {}))
            cases.append(self.case("near_miss", f"near miss: breaks `{text}`",
                                   f"generated: satisfies every other clause and breaks `{text}`",
                                   events, problem))
        return cases

    def _one_event(self, values: dict[str, Any] | None
                   ) -> tuple[list[dict[str, Any]] | None, str | None]:
        if values is None:
            return None, "no document satisfies the query"
        overrides, problem = self.overrides(values)
        if overrides is None:
            return None, f"no raw record: {problem}"
        return [{"_at": "-1m", **overrides}], None

    # ------------------------------------------------------------------ sequences

    def sequence(self, query: ast.Sequence) -> list[EqlCase]:
        """The must-fire sequence, then (only when it fires) its near misses."""
        positive = [s for s in query.steps if not s.missing]
        same = self._steps(positive)
        if isinstance(same, str):
            return [EqlCase("fire", "fires: the sequence in order", "", [], note=same)]
        gap = self._gap(query.maxspan_nanos, len(positive))
        fire = self._timed(same, gap)
        cases = [self.case("fire", "fires: the sequence in order, same keys, inside maxspan",
                           "generated: every step in order with the same join keys", fire)]
        if not cases[0].verified:
            return cases  # a near miss proves nothing next to a sequence that never fires
        if len(positive) > 1:
            cases.append(self.case(
                "near_miss", "near miss: the steps in reverse order",
                "generated: the sequence's events, last step first", self._timed(same[::-1], gap)))
            other = self._steps(positive, variant=1)
            if positive[-1].keys and not isinstance(other, str):
                changed = same[:-1] + [other[-1]]
                cases.append(self.case(
                    "near_miss", "near miss: a different `by` value on the last step",
                    "generated: the last step's join keys differ", self._timed(changed, gap)))
            if query.maxspan_nanos is not None:
                cases.append(self._outside_maxspan(same, query.maxspan_nanos))
        between = [("until", query.until)] if query.until is not None else []
        between += [("missing step", s) for s in query.steps if s.missing]
        for label, step in between:
            cases.append(self._interrupted(label, step, same, gap))
        return cases

    def _steps(self, steps: Sequence[ast.Step], variant: int = 0) -> list[dict[str, Any]] | str:
        """One event's overrides per step; the ``index``-th key field of every step gets the
        same value (``variant`` picks another set of values)."""
        out = []
        for number, step in enumerate(steps, start=1):
            fixed = {}
            for index, key in enumerate(step.keys):
                samples = _SAMPLE_KEYS.get(key.path)
                fixed[key.path] = samples[variant] if samples else f"kmsdet-join-{variant}-{index}"
                if key.path == "aws.cloudtrail.user_identity.arn":  # an identity that fits it
                    fixed["aws.cloudtrail.user_identity.type"] = "IAMUser"
            values = self.solve(event_query_node(step.query, self.category_field), fixed)
            if values is None:
                return f"step {number}: no document satisfies its query with the join keys set"
            values = {k: v for k, v in values.items() if v is not ABSENT or k not in fixed}
            overrides, problem = self.overrides(values)
            if overrides is None:
                return f"step {number}: no raw record: {problem}"
            out.append(overrides)
        return out

    def _gap(self, maxspan: int | None, count: int) -> int:
        """Seconds between consecutive events: well inside maxspan and the look-back."""
        room = min(self.lookback - 120, (maxspan / 1e9) if maxspan else 600)
        return max(1, min(60, int(room / max(count, 2))))

    def _timed(self, events: list[dict[str, Any]], gap: int, last: int = 60
               ) -> list[dict[str, Any]]:
        n = len(events)
        return [{"_at": f"-{last + gap * (n - 1 - i)}s", **e} for i, e in enumerate(events)]

    def _outside_maxspan(self, events: list[dict[str, Any]], maxspan: int) -> EqlCase:
        span = int(maxspan / 1e9) + 60
        name = "near miss: the events further apart than maxspan"
        if span + 120 > self.lookback:
            return EqlCase("near_miss", name, "", [], note=(
                f"the look-back ({int(self.lookback)}s) is too short to hold events more than "
                f"maxspan apart"))
        gap = max(1, span // max(len(events) - 1, 1)) + 1
        return self.case("near_miss", name, "generated: the sequence spread beyond maxspan",
                         self._timed(events, gap))

    def _interrupted(self, label: str, step: ast.Step, events: list[dict[str, Any]],
                     gap: int) -> EqlCase:
        name = f"near miss: {'an' if label == 'until' else 'a'} {label} event between the steps"
        extra = self._steps([step])
        if isinstance(extra, str):
            return EqlCase("near_miss", name, "", [], note=extra)
        timed = self._timed(events, gap * 2)
        first_at = int(timed[0]["_at"][1:-1])
        inserted = {"_at": f"-{first_at - gap}s", **extra[0]}
        return self.case("near_miss", name,
                         f"generated: the sequence with {label} event after its first event",
                         [timed[0], inserted, *timed[1:]])


# ---------------------------------------------------------------------- writing and reporting


def render_eql_case(case: EqlCase) -> str:
    from kmsdet.generate.cases import render_overrides, toml_value

    lines = ["[[case]]", f"name = {toml_value(case.name)}",
             f"description = {toml_value(case.description)}", f"expect = {case.expect}"]
    for event in case.events:
        lines.append("[[case.event]]")
        if "_at" in event:
            lines.append(f"_at = {toml_value(event['_at'])}")
        lines.extend(render_overrides({k: v for k, v in event.items() if k != "_at"}))
    return "\n".join(lines) + "\n"


def append_eql_cases(result: EqlGeneration, *, today: datetime | None = None) -> Any:
    """Append the verified generated cases whose names the cases file does not have yet."""
    from kmsdet.cases.loader import cases_path, load_cases
    from kmsdet.generate.cases import WriteResult, append_blocks

    rule_path = result.rule.source.path
    path = cases_path(rule_path)
    existing = load_cases(rule_path)
    names = {c.name for c in existing.cases} if existing is not None else set()
    out = WriteResult(path)
    blocks = []
    for case in result.cases:
        if not case.verified:
            out.skipped.append((case.name, f"not verified: {case.note}"))
        elif case.name in names:
            out.skipped.append((case.name, "a case of this name exists"))
        else:
            blocks.append(render_eql_case(case))
            out.written.append(case.name)
            names.add(case.name)
    append_blocks(path, rule_path, blocks, today)
    return out


def eql_as_json(result: EqlGeneration, written: Any) -> dict[str, Any]:
    return {
        "rule_id": result.rule.rule_id, "rule": result.rule.name,
        "file": str(result.rule.source.path),
        "cases": [{"kind": c.kind, "name": c.name, "expect": c.expect, "events": c.events,
                   "verified": c.verified, "note": c.note} for c in result.cases],
        "written": None if written is None else {
            "file": str(written.path), "cases": written.written,
            "skipped": [{"case": n, "why": w} for n, w in written.skipped]},
    }


def eql_render_text(result: EqlGeneration, written: Any) -> list[str]:
    lines = [f"{result.rule.name} ({result.rule.source.path})", "EQL query:"]
    lines += ["  " + line for line in result.query.strip().splitlines()]
    for case in result.cases:
        status = "ok" if case.verified else f"not offered: {case.note}"
        lines.append(f"- {case.name} (expect {case.expect}): {status}")
        for event in case.events:
            shown = ", ".join(f"{k}={v}" for k, v in event.items())
            lines.append(f"    {shown}")
    if written is not None:
        lines.append(f"wrote {len(written.written)} case(s) to {written.path}")
        lines += [f"  skipped {name}: {why}" for name, why in written.skipped]
    return lines
