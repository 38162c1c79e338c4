"""Rules whose cases pass on one AWS integration version and fail on another, and why.

``kmsdet test --aws-integration all`` runs every case once per emulated pipeline version. A rule
whose verdict changes between versions is one that would go silent (or noisy) after an upgrade,
so it is reported by name with the document fields that moved between the versions' documents,
narrowed to the fields the rule reads when the query says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kmsdet.backends.base import RUN_ID_FIELD
from kmsdet.cases.runner import CaseResult, TestRun
from kmsdet.cloudtrail.integration import Pipeline
from kmsdet.errors import KmsdetError
from kmsdet.rules.model import Rule

_IGNORED = (RUN_ID_FIELD,)


@dataclass(frozen=True)
class Verdict:
    expected: int
    actual: int

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class VersionDifference:
    """One case whose outcome depends on the pipeline version."""

    rule: Rule
    case: str
    verdicts: dict[str, Verdict]
    moved: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule.rule_id, "rule": self.rule.name, "case": self.case,
                "verdicts": {name: {"expected": v.expected, "actual": v.actual,
                                    "passed": v.passed} for name, v in self.verdicts.items()},
                "moved_fields": self.moved}

    def render(self) -> str:
        passing = [n for n, v in self.verdicts.items() if v.passed]
        failing = [n for n, v in self.verdicts.items() if not v.passed]
        moved = ", ".join(self.moved) if self.moved else "no field the rule reads"
        return (f"{self.rule.name}: case '{self.case}' passes on {', '.join(passing) or 'none'}, "
                f"fails on {', '.join(failing)}; moved: {moved}")


def compare_runs(runs: Sequence[tuple[Pipeline, TestRun]]) -> list[VersionDifference]:
    """The cases whose pass/fail differs across ``runs`` (same rules, seed and time each)."""
    if len(runs) < 2:
        return []
    differences: list[VersionDifference] = []
    per_version = [run.results for _, run in runs]
    for results in zip(*per_version, strict=True):
        verdicts = {pipeline.name: Verdict(r.expected, r.actual)
                    for (pipeline, _), r in zip(runs, results, strict=True)}
        if len({v.passed for v in verdicts.values()}) < 2:
            continue
        first: CaseResult = results[0]
        differences.append(VersionDifference(
            rule=first.rule, case=first.case.name, verdicts=verdicts,
            moved=moved_fields(first.rule, [r.documents for r in results])))
    return differences


def moved_fields(rule: Rule, documents: Sequence[Sequence[Mapping[str, Any]]]) -> list[str]:
    """Fields whose values differ between the versions' documents of one case, limited to those
    the rule reads (all differing fields when the rule's reads are unknown)."""
    changed: set[str] = set()
    for docs in zip(*documents, strict=True):
        flats = [_flatten(doc) for doc in docs]
        for path in set().union(*flats):
            if path in _IGNORED:
                continue
            values = [flat.get(path, _MISSING) for flat in flats]
            if any(v != values[0] for v in values[1:]):
                changed.add(path)
    reads = rule_reads(rule)
    if reads is None:
        return sorted(changed)
    return sorted(p for p in changed
                  if any(p == f or p.startswith(f + ".") or f.startswith(p + ".") for f in reads))


def rule_reads(rule: Rule) -> set[str] | None:
    """The fields a rule's query and aggregation read, or None when that cannot be told (EQL,
    ES|QL, a query on all fields)."""
    data = rule.rule
    fields: set[str] = set()
    if data.query and (data.language or "kuery") == "kuery":
        from kmsdet.kql.ast import Exists, Is, Range, field_refs, walk
        from kmsdet.kql.parser import parse

        try:
            node = parse(data.query)
        except KmsdetError:
            return None
        if any(isinstance(n, (Is, Exists, Range)) and n.field is None for n in walk(node)):
            return None
        fields.update(name for name, _ in field_refs(node))
    elif data.query:
        return None
    if data.threshold is not None:
        fields.update(data.threshold.fields)
        fields.update(c.field for c in data.threshold.cardinality)
    if data.new_terms is not None:
        fields.update(data.new_terms.value)
    return fields


_MISSING = object()


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = prefix + key
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out
