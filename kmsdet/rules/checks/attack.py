"""ATT&CK mapping checks (KD401-KD409).

Kibana stores a rule's ``threat`` block as given and draws its ATT&CK coverage views from it, so
a wrong id, a stale name or a technique filed under the wrong tactic shows up as false coverage
rather than as an error. Each check answers one question against the bundled ATT&CK table and
points at the exact key that is wrong. Entries of the MITRE ATLAS framework are skipped: the
table covers ATT&CK Enterprise only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kmsdet.rules.attack import (
    ATTACK_FRAMEWORK,
    FRAMEWORKS,
    AttackTable,
    AttackTechnique,
    id_from_url,
    load_attack,
    tactic_url,
    technique_url,
)
from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity
from kmsdet.rules.loader import did_you_mean
from kmsdet.rules.model import KeyPath, Rule, Subtechnique, Technique, Threat


@dataclass(frozen=True)
class _Entry:
    """One technique or subtechnique of a rule's threat block, with where it sits."""

    path: KeyPath
    id: str
    name: str
    reference: str
    tactic_id: str
    parent_id: str | None  # the technique a subtechnique is listed under


def _attack_threats(rule: Rule) -> Iterator[tuple[KeyPath, Threat]]:
    for i, threat in enumerate(rule.rule.threat or ()):
        if threat.framework == ATTACK_FRAMEWORK:
            yield ("rule", "threat", i), threat


def _entries(rule: Rule) -> Iterator[_Entry]:
    for path, threat in _attack_threats(rule):
        for j, tech in enumerate(threat.technique):
            tpath = (*path, "technique", j)
            yield _entry(tpath, tech, threat.tactic.id, None)
            for k, sub in enumerate(tech.subtechnique):
                yield _entry((*tpath, "subtechnique", k), sub, threat.tactic.id, tech.id)


def _entry(path: KeyPath, item: Technique | Subtechnique, tactic_id: str,
           parent_id: str | None) -> _Entry:
    return _Entry(path, item.id, item.name, item.reference, tactic_id, parent_id)


def _known(table: AttackTable, rule: Rule) -> Iterator[tuple[_Entry, AttackTechnique]]:
    """Entries whose id the table knows; unknown ids are KD404's alone."""
    for entry in _entries(rule):
        tech = table.technique(entry.id)
        if tech is not None:
            yield entry, tech


def _kind(entry: _Entry) -> str:
    return "subtechnique" if entry.parent_id is not None else "technique"


class _AttackCheck(Check):
    """ATT&CK retires and renames techniques; a deprecated rule is frozen at an older release."""

    checks_deprecated = False

    def warm(self) -> None:
        load_attack()


class UnknownTactic(_AttackCheck):
    code = "KD401"
    severity = Severity.ERROR
    summary = "threat framework or ATT&CK tactic id is unknown"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        table = load_attack()
        for i, threat in enumerate(rule.rule.threat or ()):
            path: KeyPath = ("rule", "threat", i)
            if threat.framework not in FRAMEWORKS:
                suggestion = did_you_mean(threat.framework, FRAMEWORKS)
                yield self.finding(
                    rule, f"unknown threat framework '{threat.framework}'",
                    (*path, "framework"),
                    hint=f"did you mean '{suggestion}'?" if suggestion else
                    "use 'MITRE ATT&CK' (or 'MITRE ATLAS')")
                continue
            if threat.framework != ATTACK_FRAMEWORK or table.tactic(threat.tactic.id):
                continue
            named = table.tactic_by_name(threat.tactic.name)
            hint = (f"'{named.name}' is {named.id}" if named else
                    f"ATT&CK {table.version} tactic ids: {', '.join(sorted(table.tactics))}")
            yield self.finding(
                rule, f"unknown ATT&CK tactic id '{threat.tactic.id}'",
                (*path, "tactic", "id"), hint=hint)


class TacticNameMismatch(_AttackCheck):
    code = "KD402"
    severity = Severity.ERROR
    summary = "ATT&CK tactic name does not match its id"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        table = load_attack()
        for path, threat in _attack_threats(rule):
            tactic = table.tactic(threat.tactic.id)
            if tactic is None or tactic.name == threat.tactic.name:
                continue
            other = table.tactic_by_name(threat.tactic.name)
            also = f" ('{other.name}' is {other.id})" if other and other.id != tactic.id else ""
            yield self.finding(
                rule, f"tactic {tactic.id} is named '{tactic.name}', "
                f"not '{threat.tactic.name}'{also}",
                (*path, "tactic", "name"), hint=f"name = \"{tactic.name}\"")


class ReferenceMismatch(_AttackCheck):
    code = "KD403"
    severity = Severity.ERROR
    summary = "ATT&CK reference URL does not match the id"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        for path, threat in _attack_threats(rule):
            tactic = threat.tactic
            if id_from_url(tactic.reference) != tactic.id:
                yield self._mismatch(rule, tactic.reference, tactic.id, tactic_url(tactic.id),
                                     (*path, "tactic", "reference"))
        for entry in _entries(rule):
            if id_from_url(entry.reference) != entry.id:
                yield self._mismatch(rule, entry.reference, entry.id, technique_url(entry.id),
                                     (*entry.path, "reference"))

    def _mismatch(self, rule: Rule, url: str, expected_id: str, expected_url: str,
                  path: KeyPath) -> Finding:
        pointed = id_from_url(url)
        message = (f"reference '{url}' points at {pointed}, not {expected_id}" if pointed else
                   f"reference '{url}' is not an ATT&CK URL for {expected_id}")
        return self.finding(rule, message, path, hint=f"reference = \"{expected_url}\"")


class UnknownTechnique(_AttackCheck):
    code = "KD404"
    severity = Severity.ERROR
    summary = "ATT&CK technique or subtechnique id is unknown"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        table = load_attack()
        for entry in _entries(rule):
            if table.technique(entry.id) is not None:
                continue
            named = table.techniques_named(entry.name)
            hint = (f"'{entry.name}' is {' or '.join(t.id for t in named)}" if named else
                    f"look the {_kind(entry)} up on https://attack.mitre.org/")
            yield self.finding(
                rule, f"unknown ATT&CK {_kind(entry)} id '{entry.id}' "
                f"(ATT&CK {table.version})", (*entry.path, "id"), hint=hint)


class TechniqueNameMismatch(_AttackCheck):
    code = "KD405"
    severity = Severity.ERROR
    summary = "ATT&CK technique or subtechnique name does not match its id"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        for entry, tech in _known(load_attack(), rule):
            if tech.name != entry.name:
                yield self.finding(
                    rule, f"{_kind(entry)} {tech.id} is named '{tech.name}', not '{entry.name}'",
                    (*entry.path, "name"), hint=f"name = \"{tech.name}\"")


class TechniqueNotUnderTactic(_AttackCheck):
    code = "KD406"
    severity = Severity.ERROR
    summary = "ATT&CK technique does not belong to the tactic it is listed under"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        table = load_attack()
        for entry, tech in _known(table, rule):
            tactic = table.tactic(entry.tactic_id)
            if (entry.parent_id is not None or tech.retired or tactic is None
                    or tactic.id in tech.tactics):
                continue
            homes = [t for t in (table.tactic(tid) for tid in tech.tactics) if t]
            listed = ", ".join(f"{t.name} ({t.id})" for t in homes) or "no tactic"
            yield self.finding(
                rule, f"technique {tech.id} {tech.name} is not part of tactic {tactic.id} "
                f"{tactic.name}; it belongs to {listed}", (*entry.path, "id"),
                hint="move it to a [[rule.threat]] entry for one of those tactics")


class SubtechniqueNotUnderTechnique(_AttackCheck):
    code = "KD407"
    severity = Severity.ERROR
    summary = "ATT&CK subtechnique is not listed under its own technique"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        for entry, tech in _known(load_attack(), rule):
            path = (*entry.path, "id")
            if entry.parent_id is None and tech.is_subtechnique:
                yield self.finding(
                    rule, f"{tech.id} {tech.name} is a subtechnique, listed as a technique",
                    path, hint=f"list {tech.parent_id} as the technique and {tech.id} under "
                    "its [[rule.threat.technique.subtechnique]]")
            elif entry.parent_id is not None and not tech.is_subtechnique:
                yield self.finding(
                    rule, f"{tech.id} {tech.name} is a technique, listed as a subtechnique "
                    f"of {entry.parent_id}", path,
                    hint="list it as a [[rule.threat.technique]] of its own")
            elif entry.parent_id is not None and tech.parent_id != entry.parent_id:
                yield self.finding(
                    rule, f"subtechnique {tech.id} {tech.name} belongs to {tech.parent_id}, "
                    f"not to {entry.parent_id}", path,
                    hint=f"move it under technique {tech.parent_id}")


class RetiredTechnique(_AttackCheck):
    code = "KD408"
    severity = Severity.WARNING
    summary = "ATT&CK technique or subtechnique is deprecated or revoked"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        table = load_attack()
        for entry, tech in _known(table, rule):
            if not tech.retired:
                continue
            state = "revoked" if tech.revoked else "deprecated"
            message = f"{_kind(entry)} {tech.id} {tech.name} is {state} in ATT&CK {table.version}"
            replacement = table.technique(tech.revoked_by) if tech.revoked_by else None
            if replacement is not None:
                message += f"; it was replaced by {replacement.id} {replacement.name}"
                hint = (f"map {replacement.id} ({replacement.name}, "
                        f"{replacement.reference}) instead")
            else:
                hint = "remove it or map a current technique instead"
            yield self.finding(rule, message, (*entry.path, "id"), hint=hint)


class DuplicateTactic(_AttackCheck):
    code = "KD409"
    severity = Severity.ERROR
    summary = "the same ATT&CK tactic is listed twice"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        first: dict[str, int] = {}
        for path, threat in _attack_threats(rule):
            index = int(path[-1])
            tactic_id = threat.tactic.id
            if tactic_id not in first:
                first[tactic_id] = index
                continue
            yield self.finding(
                rule, f"tactic {tactic_id} {threat.tactic.name} is listed again "
                f"(first in threat entry {first[tactic_id] + 1})", (*path, "tactic", "id"),
                hint="merge the techniques of both entries into one [[rule.threat]]")
