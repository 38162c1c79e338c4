"""Tag checks (KD501-KD505).

Kibana filters rules by exact tag, and teams build saved views and coverage reports on those
filters, so a tag that is misspelt, oddly cased, duplicated or missing hides a rule from the
people looking for it. Findings point at the offending element of the ``tags`` array.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kmsdet.rules.attack import ATTACK_FRAMEWORK, AttackTable, load_attack
from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity
from kmsdet.rules.loader import did_you_mean
from kmsdet.rules.model import KeyPath, Rule, RuleSource, Threat
from kmsdet.rules.tags import (
    INVESTIGATION_GUIDE_TAG,
    PREFIXES,
    TACTIC_PREFIX,
    canonical_prefix,
    canonical_tag,
    split_tag,
    tactic_tag,
    tag_key,
)

_TAGS: KeyPath = ("rule", "tags")


def _tags(rule: Rule) -> list[str]:
    return list(rule.rule.tags or ())


class _TagCheck(Check):
    """Adds a finding located at one element of the tags array.

    Deprecated rules keep the tags they were retired with (Elastic's older, unprefixed
    vocabulary), so tag checks skip them.
    """

    checks_deprecated = False

    def tag_finding(self, rule: Rule, index: int, message: str, *,
                    hint: str | None = None) -> Finding:
        lines = element_lines(rule.source, _TAGS)
        line = lines[index] if index < len(lines) else None
        return self.finding(rule, message, (*_TAGS, index), hint=hint, line=line)


class UnknownTagPrefix(_TagCheck):
    code = "KD501"
    severity = Severity.ERROR
    summary = "tag does not start with a known prefix"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        for i, tag in enumerate(_tags(rule)):
            parts = split_tag(tag)
            if parts and canonical_prefix(parts[0]):
                continue
            yield self.tag_finding(rule, i, f"tag '{tag}' has no known prefix",
                                   hint=self._hint(tag, parts))

    def _hint(self, tag: str, parts: tuple[str, str] | None) -> str:
        if parts is None:
            tactic = load_attack().tactic_by_name(tag.strip())
            if tactic is not None:
                return f"did you mean '{tactic_tag(tactic.name)}'?"
        else:
            by_key = {p.casefold(): p for p in PREFIXES}
            close = did_you_mean(parts[0].casefold(), by_key)
            if close:
                return f"did you mean '{by_key[close]}: {parts[1]}'?"
        return "start it with one of: " + ", ".join(f"'{p}:'" for p in PREFIXES)


class TagCasing(_TagCheck):
    code = "KD502"
    severity = Severity.WARNING
    summary = "tag differs in casing or spacing from the known vocabulary"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        for i, tag in enumerate(_tags(rule)):
            expected = self._expected(tag)
            if expected is not None and expected != tag:
                yield self.tag_finding(
                    rule, i, f"tag '{tag}' should be spelt '{expected}'",
                    hint=f"Kibana matches tags exactly; write \"{expected}\"")

    @staticmethod
    def _expected(tag: str) -> str | None:
        known = canonical_tag(tag)
        if known is not None:
            return known
        parts = split_tag(tag)
        prefix = canonical_prefix(parts[0]) if parts else None
        return f"{prefix}: {parts[1]}" if parts and prefix else None


class TacticTag(_TagCheck):
    code = "KD503"
    severity = Severity.WARNING
    summary = "Tactic: tags disagree with the ATT&CK threat mapping"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        tags = _tags(rule)
        mapped = self._mapped_tactics(rule)
        keys = {tag_key(t) for t in tags}
        primary = self._primary(rule)
        if primary is not None and tag_key(tactic_tag(primary)) not in keys:
            path = _TAGS if rule.rule.tags is not None else ("rule", "threat", 0, "tactic")
            yield self.finding(
                rule, f"no '{tactic_tag(primary)}' tag for the primary tactic", path,
                hint=f"add \"{tactic_tag(primary)}\" to tags")
        for i, tag in enumerate(tags):
            parts = split_tag(tag)
            if parts is None or canonical_prefix(parts[0]) != TACTIC_PREFIX:
                continue
            if parts[1].casefold() in mapped:
                continue
            where = ", ".join(sorted(mapped.values())) or "nothing"
            yield self.tag_finding(
                rule, i, f"tag '{tag}' names a tactic the threat mapping does not list "
                f"(it lists {where})",
                hint="remove the tag or map that tactic in [[rule.threat]]")

    @staticmethod
    def _mapped_tactics(rule: Rule) -> dict[str, str]:
        """Tactic names of every threat entry (ATLAS too), keyed case-blind.

        Elastic maps some rules to ATLAS in ``threat_mappings`` (with the framework's version)
        rather than in ``threat``; a tag for such a tactic is as mapped as any other.
        """
        table = load_attack()
        names: dict[str, str] = {}
        versioned = [t for m in rule.rule.threat_mappings or () for t in m.threat]
        for threat in [*(rule.rule.threat or ()), *versioned]:
            for name in (threat.tactic.name, _table_name(table, threat)):
                if name:
                    names.setdefault(name.casefold(), name)
        return names

    @staticmethod
    def _primary(rule: Rule) -> str | None:
        """Name of the first threat entry's tactic, when it is ATT&CK and the rule not ML."""
        threats = rule.rule.threat or []
        if not threats or threats[0].framework != ATTACK_FRAMEWORK:
            return None
        if rule.rule.type == "machine_learning":
            return None
        return _table_name(load_attack(), threats[0]) or threats[0].tactic.name or None


class InvestigationGuideTag(_TagCheck):
    code = "KD504"
    severity = Severity.WARNING
    summary = f"note has an investigation guide but no '{INVESTIGATION_GUIDE_TAG}' tag"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        note = rule.rule.note or ""
        if "Investigating" not in note:
            return
        if tag_key(INVESTIGATION_GUIDE_TAG) in {tag_key(t) for t in _tags(rule)}:
            return
        path = _TAGS if rule.rule.tags is not None else ("rule", "note")
        yield self.finding(
            rule, f"note contains an investigation guide but the tags lack "
            f"'{INVESTIGATION_GUIDE_TAG}'", path,
            hint=f"add \"{INVESTIGATION_GUIDE_TAG}\" to tags")


class DuplicateTag(_TagCheck):
    code = "KD505"
    severity = Severity.ERROR
    summary = "the same tag is listed twice"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        first: dict[str, int] = {}
        for i, tag in enumerate(_tags(rule)):
            if tag not in first:
                first[tag] = i
                continue
            yield self.tag_finding(
                rule, i, f"tag '{tag}' is listed twice (first as element {first[tag] + 1})",
                hint="remove the repeated tag")


def _table_name(table: AttackTable, threat: Threat) -> str | None:
    """The table's name for an ATT&CK entry's tactic id (the rule's own name may be wrong)."""
    if threat.framework != ATTACK_FRAMEWORK:
        return None
    tactic = table.tactic(threat.tactic.id)
    return tactic.name if tactic else None


def element_lines(source: RuleSource, path: KeyPath) -> list[int]:
    """Line of each string element of the array at ``path``.

    The line index only records keys; tags are usually written one per line, and a finding about
    the fifth tag is more useful at that tag's line than at ``tags = [``.
    """
    start = source.lines.get(path)
    if start is None or not source.text:
        return []
    text_lines = source.text.splitlines()
    head = text_lines[start - 1]
    eq = head.find("=")
    if eq < 0:
        return []
    return list(_string_starts(text_lines, start - 1, eq + 1))


def _string_starts(lines: list[str], row: int, col: int) -> Iterator[int]:
    """Scan a TOML array from (row, col), yielding the 1-based line where each element starts."""
    depth = 0
    quote: str | None = None
    while row < len(lines):
        line = lines[row]
        while col < len(line):
            ch = line[col]
            if quote is not None:
                if quote == '"' and ch == "\\":
                    col += 2
                    continue
                if line.startswith(quote, col):
                    col += len(quote)
                    quote = None
                    continue
                col += 1
                continue
            if ch == "#":
                break
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth <= 0:
                    return
            elif ch in "\"'":
                quote = ch * 3 if line.startswith(ch * 3, col) else ch
                if depth == 1:
                    yield row + 1
                col += len(quote)
                continue
            col += 1
        row += 1
        col = 0
