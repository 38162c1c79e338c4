"""Fields each rule type needs (beyond the ones every rule needs, which the model enforces)."""

from __future__ import annotations

from collections.abc import Iterable

from kmsdet.rules.checks.base import Check, Finding, LintContext
from kmsdet.rules.model import Rule

REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "query": ("language", "query"),
    "saved_query": ("language",),
    "eql": ("language", "query"),
    "esql": ("language", "query"),
    "threshold": ("language", "query", "threshold"),
    "new_terms": ("language", "query", "new_terms"),
    "threat_match": ("language", "query", "threat_index", "threat_mapping", "threat_query"),
    "machine_learning": ("anomaly_threshold", "machine_learning_job_id"),
}
NEEDS_DATA_SOURCE = ("query", "eql", "threshold", "new_terms", "threat_match", "saved_query")


class RequiredByType(Check):
    code = "KD105"
    summary = "fields required by the rule type are present (query, index, threshold, ...)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        data = rule.rule
        for key in REQUIRED_BY_TYPE.get(data.type, ()):
            if getattr(data, key) in (None, "", []):
                yield self.finding(rule, f"a {data.type} rule needs '{key}'", ("rule",),
                                   hint=f"add {key} = ... under [rule]")
        if data.type in NEEDS_DATA_SOURCE and not data.index and not data.data_view_id:
            yield self.finding(rule, f"a {data.type} rule needs 'index' or 'data_view_id'",
                               ("rule",), hint='add index = ["logs-aws.cloudtrail-*"]')
        if data.index and data.data_view_id:
            yield self.finding(rule, "index and data_view_id exclude each other",
                               ("rule", "data_view_id"), hint="keep one of them")
        if data.type == "esql" and data.index:
            yield self.finding(rule, "an esql rule takes its indices from FROM, not 'index'",
                               ("rule", "index"), hint="remove index")
        suppression = data.alert_suppression
        if suppression is not None and not suppression.group_by and data.type != "threshold":
            yield self.finding(rule, f"a {data.type} rule's alert_suppression needs 'group_by'",
                               ("rule", "alert_suppression"),
                               hint='add group_by = ["<field>"] under [rule.alert_suppression]')
        if data.type == "new_terms" and data.new_terms and not data.new_terms.history_window:
            yield self.finding(rule, "a new_terms rule needs a history_window_start",
                               ("rule", "new_terms"),
                               hint='add [[rule.new_terms.history_window_start]] with '
                                    'field = "history_window_start", value = "now-14d"')
