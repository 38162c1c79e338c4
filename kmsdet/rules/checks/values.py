"""Checks on single values: enumerations, identifiers, scores, names."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity, is_deprecated
from kmsdet.rules.loader import did_you_mean
from kmsdet.rules.model import Rule

SEVERITIES = ("low", "medium", "high", "critical")
RULE_TYPES = ("query", "saved_query", "machine_learning", "eql", "esql", "threshold",
              "threat_match", "new_terms")
LANGUAGES = ("kuery", "lucene", "eql", "esql")
MATURITIES = ("development", "experimental", "beta", "production", "deprecated")
RISK_BANDS = {"low": (0, 21), "medium": (22, 47), "high": (48, 73), "critical": (74, 100)}
# Elastic's rule schema matches its UUID pattern from the start of rule_id only, so an id that
# begins with a lower-case UUID passes its validation (two prebuilt rules carry 13 hex digits in
# the last group), and Kibana accepts any string: kmsdet holds rule_id to the same start.
UUID_RE = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
FILE_NAME_RE = re.compile(r"^[a-z0-9_]+\.toml$")
# Kibana accepts any language for these rule types, but only these make sense.
LANGUAGES_BY_TYPE = {
    "query": ("kuery", "lucene"),
    "saved_query": ("kuery", "lucene"),
    "threshold": ("kuery", "lucene"),
    "new_terms": ("kuery", "lucene"),
    "threat_match": ("kuery", "lucene"),
    "eql": ("eql",),
    "esql": ("esql",),
}


def _enum_finding(check: Check, rule: Rule, value: str | None, allowed: tuple[str, ...],
                  path: tuple[str, ...], label: str) -> Iterable[Finding]:
    if value is None or value in allowed:
        return
    guess = did_you_mean(value, allowed)
    hint = f"did you mean '{guess}'?" if guess else f"use one of: {', '.join(allowed)}"
    yield check.finding(rule, f"{label} '{value}' is not one of {', '.join(allowed)}", path,
                        hint=hint)


class SeverityValue(Check):
    code = "KD201"
    summary = "severity is one of low, medium, high, critical"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        yield from _enum_finding(self, rule, rule.rule.severity, SEVERITIES,
                                 ("rule", "severity"), "severity")


class RuleTypeValue(Check):
    code = "KD202"
    summary = "type is a rule type Kibana knows"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        yield from _enum_finding(self, rule, rule.rule.type, RULE_TYPES, ("rule", "type"), "type")


class LanguageValue(Check):
    code = "KD203"
    summary = "language is known and fits the rule type"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        language = rule.rule.language
        yield from _enum_finding(self, rule, language, LANGUAGES, ("rule", "language"), "language")
        allowed = LANGUAGES_BY_TYPE.get(rule.rule.type)
        if language in LANGUAGES and allowed and language not in allowed:
            yield self.finding(rule, f"language '{language}' does not fit a {rule.rule.type} rule",
                               ("rule", "language"), hint=f"use {' or '.join(allowed)}")


class MaturityValue(Check):
    code = "KD204"
    summary = "maturity is development, experimental, beta, production or deprecated"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        yield from _enum_finding(self, rule, rule.metadata.maturity, MATURITIES,
                                 ("metadata", "maturity"), "maturity")


class RiskScoreRange(Check):
    code = "KD205"
    summary = "risk_score is between 0 and 100"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        score = rule.rule.risk_score
        if not 0 <= score <= 100:
            yield self.finding(rule, f"risk_score {score} is outside 0..100",
                               ("rule", "risk_score"), hint="use an integer from 0 to 100")


class RiskScoreBand(Check):
    code = "KD206"
    summary = "risk_score lies in its severity's band (low 0-21 ... critical 74-100)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        band = RISK_BANDS.get(rule.rule.severity)
        score = rule.rule.risk_score
        if band is None or not 0 <= score <= 100:
            return
        low, high = band
        if not low <= score <= high:
            fitting = next(s for s, (lo, hi) in RISK_BANDS.items() if lo <= score <= hi)
            yield self.finding(
                rule, f"risk_score {score} is outside the {rule.rule.severity} band {low}-{high}",
                ("rule", "risk_score"),
                hint=f"use a score in {low}-{high}, or severity '{fitting}' for this score")


class RuleIdFormat(Check):
    code = "KD207"
    summary = "rule_id starts with a lower-case UUID (as Elastic's rule schema checks it)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        if not UUID_RE.match(rule.rule.rule_id):
            yield self.finding(rule, f"rule_id '{rule.rule.rule_id}' is not a lower-case UUID",
                               ("rule", "rule_id"),
                               hint="generate one with: "
                                    "python -c 'import uuid; print(uuid.uuid4())'")


class _Unique(Check):
    """Shared logic of the uniqueness checks: group rules by a key, report every repeat."""

    label = ""
    path: tuple[str, ...] = ()
    #: Whether deprecated rules take part; see NameUnique.
    among_deprecated = True

    def key(self, rule: Rule) -> str:
        raise NotImplementedError

    def finalize(self, ctx: LintContext) -> Iterable[Finding]:
        groups: dict[str, list[Rule]] = defaultdict(list)
        for rule in ctx.rules:
            if self.among_deprecated or not is_deprecated(rule):
                groups[self.key(rule)].append(rule)
        for value, rules in groups.items():
            if len(rules) < 2:
                continue
            first = rules[0]
            for dup in rules[1:]:
                yield self.finding(
                    dup, f"{self.label} '{value}' is also used by {first.source.path}",
                    self.path, hint=f"every rule needs its own {self.label}")


class RuleIdUnique(_Unique):
    code = "KD208"
    summary = "rule_id is unique across the tree"
    label = "rule_id"
    path = ("rule", "rule_id")

    def key(self, rule: Rule) -> str:
        return rule.rule.rule_id


class NameUnique(_Unique):
    """Among live rules only: Elastic keeps a retired rule's copy, name and all, in
    ``rules/_deprecated`` while a rewritten rule carries the name on (rule_ids stay unique)."""

    code = "KD209"
    summary = "rule name is unique across the tree (deprecated rules aside)"
    label = "name"
    path = ("rule", "name")
    among_deprecated = False

    def key(self, rule: Rule) -> str:
        return rule.rule.name


class FileName(Check):
    code = "KD106"
    severity = Severity.WARNING
    summary = "file name is lower-case letters, digits and underscores (.toml)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        name = rule.source.path.name
        if not FILE_NAME_RE.match(name):
            suggestion = re.sub(r"[^a-z0-9_]+", "_", rule.rule.name.lower()).strip("_") + ".toml"
            yield self.finding(rule, f"file name '{name}' breaks the naming convention", line=1,
                               hint=f"rename it, e.g. to {suggestion}")
