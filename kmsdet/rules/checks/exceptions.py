"""Checks on [[kmsdet.exceptions]]: entries Kibana accepts and Elasticsearch can run."""

from __future__ import annotations

from collections.abc import Iterable

from kmsdet.rules.checks.base import Check, Finding, LintContext
from kmsdet.rules.loader import did_you_mean
from kmsdet.rules.model import Rule

TYPES = ("match", "match_any", "exists", "wildcard")
OPERATORS = ("included", "excluded")


class ExceptionEntries(Check):
    code = "KD309"
    summary = "exception entries use a known type and operator, known fields, and values " \
              "Elasticsearch can run"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        items = rule.kmsdet.exceptions if rule.kmsdet else []
        if not items:
            return
        from kmsdet.fields.registry import schema_for_indices

        schema = schema_for_indices(tuple(rule.rule.index or ()))
        for i, item in enumerate(items):
            path = ("kmsdet", "exceptions", i)
            if item.type not in TYPES:
                yield self.finding(rule, f"exception type '{item.type}' is not one of "
                                   f"{', '.join(TYPES)}", path + ("type",),
                                   hint=_guess(item.type, TYPES))
            if item.operator not in OPERATORS:
                yield self.finding(rule, f"exception operator '{item.operator}' is not "
                                   "included or excluded", path + ("operator",),
                                   hint=_guess(item.operator, OPERATORS))
            if isinstance(item.value, list) and item.type != "match_any":
                yield self.finding(rule, f"a {item.type} exception takes one value, not a list",
                                   path + ("value",),
                                   hint='use type = "match_any" for a list, or one entry per '
                                        "pattern")
            known = schema.get(item.field) is not None
            root = schema.flattened_root(item.field)
            if not known and root is None:
                guess = next(iter(schema.suggest(item.field, limit=1)), None)
                yield self.finding(rule, f"exception field '{item.field}' is not in the schema "
                                   "of the rule's index patterns", path + ("field",),
                                   hint=f"did you mean '{guess}'?" if guess else None)
            elif root is not None and item.type == "wildcard":
                yield self.finding(
                    rule, f"a wildcard exception on '{item.field}', a key of flattened field "
                    f"'{root.name}', makes the rule fail: Elasticsearch refuses wildcard "
                    "queries on keyed flattened fields", path + ("field",),
                    hint="match exact values, or put the wildcard on a keyword field such as "
                         "the request's string form")


def _guess(word: str, options: tuple[str, ...]) -> str:
    guess = did_you_mean(word, options)
    return f"did you mean '{guess}'?" if guess else f"use one of: {', '.join(options)}"
