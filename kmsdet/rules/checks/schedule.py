"""Checks on dates and on how the rule is scheduled (look-back, interval, alert cap)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity
from kmsdet.rules.model import Rule
from kmsdet.rules.timing import duration_seconds, lookback_seconds

DATE_RE = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$")
FROM_RE = re.compile(r"^now-\d+[yMwdhHms]$")
INTERVAL_RE = re.compile(r"^\d+[smhd]$")
MAX_SIGNALS_LIMIT = 1000
QUERY_LANGUAGES = ("kuery", "eql")
# Whitespace and EQL comments (``/* ... */``, ``// ...``) may come before the keyword.
EQL_MULTI_EVENT_RE = re.compile(r"(?:\s+|/\*.*?\*/|//[^\n]*)*(sequence|sample)\b",
                                re.IGNORECASE | re.DOTALL)


def parse_rule_date(value: str) -> date | None:
    match = DATE_RE.match(value)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


class DateFormat(Check):
    code = "KD210"
    summary = "creation_date, updated_date and deprecation_date are real YYYY/MM/DD dates"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        for key in ("creation_date", "updated_date", "deprecation_date"):
            value = getattr(rule.metadata, key)
            if value is None:
                continue
            if not DATE_RE.match(value):
                yield self.finding(rule, f"{key} '{value}' is not in YYYY/MM/DD form",
                                   ("metadata", key), hint="write it like 2024/05/31")
            elif parse_rule_date(value) is None:
                yield self.finding(rule, f"{key} '{value}' is not a calendar date",
                                   ("metadata", key), hint="check the month and day")


class DateOrder(Check):
    code = "KD211"
    summary = "updated_date is not before creation_date"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        created = parse_rule_date(rule.metadata.creation_date)
        updated = parse_rule_date(rule.metadata.updated_date)
        if created and updated and updated < created:
            yield self.finding(
                rule, f"updated_date {rule.metadata.updated_date} is before creation_date "
                f"{rule.metadata.creation_date}", ("metadata", "updated_date"),
                hint="set updated_date to the day of the last change")


class FromDateMath(Check):
    code = "KD212"
    summary = "from is relative date math such as now-6m"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        value = rule.rule.from_
        if value is not None and not FROM_RE.match(value):
            yield self.finding(rule, f"from '{value}' is not date math like now-6m",
                               ("rule", "from"),
                               hint="use now-<number><unit>, unit one of s m h d w M y")


class IntervalFormat(Check):
    code = "KD213"
    summary = "interval is a duration such as 5m"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        value = rule.rule.interval
        if value is not None and not INTERVAL_RE.match(value):
            yield self.finding(rule, f"interval '{value}' is not a duration like 5m",
                               ("rule", "interval"), hint="use <number><unit>, unit one of s m h d")


class MaxSignalsBounds(Check):
    code = "KD214"
    summary = "max_signals is between 1 and 1000"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        value = rule.rule.max_signals
        if value is None:
            return
        if value < 1:
            yield self.finding(rule, f"max_signals {value} is below 1", ("rule", "max_signals"),
                               hint="Kibana rejects values below 1")
        elif value > MAX_SIGNALS_LIMIT:
            yield self.finding(
                rule, f"max_signals {value} is above {MAX_SIGNALS_LIMIT}", ("rule", "max_signals"),
                severity=Severity.WARNING,
                hint="Kibana caps alerts per run at xpack.alerting.rules.run.alerts.max "
                     "(1000 by default); the extra alerts are dropped")


class TimestampOverride(Check):
    code = "KD215"
    severity = Severity.WARNING
    checks_deprecated = False
    summary = "KQL and single-event EQL rules set timestamp_override = \"event.ingested\""

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        if rule.rule.language not in QUERY_LANGUAGES or rule.rule.timestamp_override is not None:
            return
        if rule.rule.language == "eql" and EQL_MULTI_EVENT_RE.match(rule.rule.query or ""):
            # Sequences and samples order their steps by @timestamp (maxspan is measured on
            # it); Elastic ships them without the override and so must we accept them.
            return
        yield self.finding(
            rule, "timestamp_override is missing: late-arriving events fall outside the "
            "look-back and are never alerted on", ("rule",),
            hint='add timestamp_override = "event.ingested"')


class LookbackCoversInterval(Check):
    code = "KD216"
    severity = Severity.WARNING
    summary = "the look-back (from) covers the interval, so runs leave no gaps"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        lookback = lookback_seconds(rule.rule.from_)
        interval = duration_seconds(rule.rule.interval or "5m")
        if lookback is None or interval is None:
            return
        if lookback < interval:
            yield self.finding(
                rule, f"look-back {rule.rule.from_} is shorter than interval "
                f"{rule.rule.interval or '5m'}: events between runs are never searched",
                ("rule", "from"), hint="make from at least now-<interval>, plus a margin")
