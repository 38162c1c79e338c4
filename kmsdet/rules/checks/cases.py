"""Checks that every rule is tested: a readable cases file with both kinds of case."""

from __future__ import annotations

from collections.abc import Iterable

from kmsdet.errors import InputError
from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity
from kmsdet.rules.model import Rule


class CasesPresent(Check):
    code = "KD601"
    severity = Severity.WARNING
    summary = "the rule has at least one must-fire and one must-not-fire test case"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        from kmsdet.cases.loader import cases_path, load_cases

        try:
            loaded = load_cases(rule.source.path)
        except InputError:
            return  # reported by KD602
        target = cases_path(rule.source.path).name
        if loaded is None:
            yield self.finding(rule, "the rule has no test cases", line=1,
                               hint=f"add {target} with a must-fire and a must-not-fire case")
            return
        if not any(c.must_fire for c in loaded.cases):
            yield self.finding(rule, "no must-fire case (expect > 0)", line=1,
                               hint=f"add a case to {target} on which the rule must alert")
        if not any(not c.must_fire for c in loaded.cases):
            yield self.finding(rule, "no must-not-fire case (expect = 0)", line=1,
                               hint=f"add a near miss to {target} on which it must stay quiet")


class CasesReadable(Check):
    code = "KD602"
    summary = "the rule's cases file is valid"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        from kmsdet.cases.loader import load_cases

        try:
            load_cases(rule.source.path)
        except InputError as exc:
            yield Finding(self.code, self.severity, exc.message, exc.file or "", exc.line,
                          exc.column, rule.rule_id, exc.hint)
