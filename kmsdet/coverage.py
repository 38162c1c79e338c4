"""What the pack covers: ATT&CK techniques and the KMS management APIs each rule watches.

Coverage is read from the rules themselves, never kept by hand: the techniques from each
rule's threat mapping, the APIs from its parsed query (the ``event.action`` values a rule
requires under ``event.provider: kms.amazonaws.com``). A README table generated here cannot
drift from the rules it describes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kmsdet.kql.ast import And, Is, Nested, Node, Not, Or
from kmsdet.rules.attack import AttackTable, load_attack
from kmsdet.rules.model import Rule

KMS_PROVIDER = "kms.amazonaws.com"
ALL_APIS = "*"

KMS_MANAGEMENT_APIS: tuple[str, ...] = (
    "CreateKey", "PutKeyPolicy", "CreateGrant", "RetireGrant", "RevokeGrant",
    "DisableKey", "EnableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
    "GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
    "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand",
    "CreateAlias", "UpdateAlias", "DeleteAlias", "ReplicateKey", "UpdatePrimaryRegion",
    "UpdateKeyDescription", "TagResource", "UntagResource",
)
"""The control-plane calls that change a key or who may use it, in lifecycle order."""

NAVIGATOR_VERSION = "5.1.0"
LAYER_VERSION = "4.5"


@dataclass(frozen=True)
class TechniqueRef:
    tactic_id: str
    tactic_name: str
    technique_id: str
    technique_name: str


@dataclass
class RuleCoverage:
    rule_id: str
    name: str
    type: str
    severity: str
    risk_score: int
    apis: tuple[str, ...]
    techniques: list[TechniqueRef] = field(default_factory=list)
    watches_all_apis: bool = False


@dataclass
class Coverage:
    rules: list[RuleCoverage]
    apis: list[str]

    def rules_for(self, api: str) -> list[RuleCoverage]:
        return [r for r in self.rules if api in r.apis]

    @property
    def uncovered(self) -> list[str]:
        return [a for a in self.apis if not self.rules_for(a)]


def build_coverage(rules: Sequence[Rule]) -> Coverage:
    """Coverage of ``rules``; KQL queries are parsed (a bad query raises its syntax error)."""
    entries = [_rule_coverage(r) for r in rules]
    extra = sorted({a for e in entries for a in e.apis} - set(KMS_MANAGEMENT_APIS))
    entries.sort(key=lambda e: e.name)
    return Coverage(rules=entries, apis=[*KMS_MANAGEMENT_APIS, *extra])


def _rule_coverage(rule: Rule) -> RuleCoverage:
    data = rule.rule
    actions = watched_actions(rule)
    every = actions == frozenset({ALL_APIS})
    apis = KMS_MANAGEMENT_APIS if every else tuple(sorted(actions or ()))
    return RuleCoverage(rule_id=data.rule_id, name=data.name, type=data.type,
                        severity=data.severity, risk_score=data.risk_score,
                        apis=tuple(apis), techniques=techniques_of(rule), watches_all_apis=every)


def techniques_of(rule: Rule) -> list[TechniqueRef]:
    """Each (tactic, technique or subtechnique) pair of the rule's ATT&CK mapping."""
    refs: list[TechniqueRef] = []
    for threat in rule.rule.threat or []:
        if threat.framework != "MITRE ATT&CK":
            continue
        for tech in threat.technique:
            refs.append(TechniqueRef(threat.tactic.id, threat.tactic.name, tech.id, tech.name))
            refs.extend(TechniqueRef(threat.tactic.id, threat.tactic.name, sub.id, sub.name)
                        for sub in tech.subtechnique)
    return refs


def watched_actions(rule: Rule) -> frozenset[str] | None:
    """The KMS API names the rule's query requires, ``{"*"}`` for every KMS API, or None when
    the rule does not look at KMS events (or is not KQL).

    The query is read branch by branch (its ``or`` alternatives), so ``kms and DisableKey or
    s3 and PutObject`` watches DisableKey only, and a KMS branch without an ``event.action``
    clause watches every KMS API. Negated clauses never add an API.
    """
    data = rule.rule
    if data.language not in ("kuery", "eql") or not data.query:
        return None
    watched: set[str] = set()
    kms = False
    for branch in _query_branches(data.language, data.query):
        providers = [v for f, v in branch if f == "event.provider"]
        if not any(_value_matches(v, KMS_PROVIDER) for v in providers):
            continue
        kms = True
        actions = [v for f, v in branch if f == "event.action"]
        if not actions:
            return frozenset({ALL_APIS})
        for value in actions:
            if "*" in value:
                watched.update(a for a in KMS_MANAGEMENT_APIS if _value_matches(value, a))
            else:
                watched.add(value)
    return frozenset(watched) if kms else None


Term = tuple[str, str]


def _query_branches(language: str, query: str) -> list[list[Term]]:
    if language == "eql":  # every event query of a sequence is one more alternative
        from kmsdet.eql.analysis import branches
        from kmsdet.eql.parser import parse as parse_eql

        return branches(parse_eql(query))
    from kmsdet.kql.parser import parse

    return _branches(parse(query), negated=False)


MAX_BRANCHES = 4096  # beyond this the query is read as one branch (an over-approximation)


def _branches(node: Node, *, negated: bool, prefix: str = "") -> list[list[Term]]:
    """The query as alternatives, each the ``field: value`` clauses that must all hold."""
    if isinstance(node, Is):
        if negated or node.field is None:
            return [[]]
        value = "*".join(node.value.wildcard) if node.value.wildcard else node.value.text
        return [[(prefix + node.field, value)]]
    if isinstance(node, Not):
        return _branches(node.item, negated=not negated, prefix=prefix)
    if isinstance(node, Nested):
        return _branches(node.query, negated=negated, prefix=f"{prefix}{node.path}.")
    if isinstance(node, (And, Or)) and not negated:
        parts = [_branches(item, negated=False, prefix=prefix) for item in node.items]
        if isinstance(node, Or):
            return [b for part in parts for b in part]
        combined: list[list[Term]] = [[]]
        for part in parts:
            if len(combined) * len(part) > MAX_BRANCHES:
                return [[t for p in parts for b in p for t in b]]
            combined = [a + b for a in combined for b in part]
        return combined
    return [[]]  # a negated and/or, exists, range: no clause that must hold


def _value_matches(pattern: str, text: str) -> bool:
    if "*" not in pattern:
        return pattern == text
    regex = ".*".join(re.escape(p) for p in pattern.split("*"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


# Renderings -----------------------------------------------------------------------------------

def coverage_json(cov: Coverage) -> dict[str, Any]:
    return {
        "rules": [{"rule_id": r.rule_id, "name": r.name, "type": r.type, "severity": r.severity,
                   "risk_score": r.risk_score, "apis": list(r.apis),
                   "watches_all_apis": r.watches_all_apis,
                   "techniques": [{"tactic_id": t.tactic_id, "tactic": t.tactic_name,
                                   "id": t.technique_id, "name": t.technique_name}
                                  for t in r.techniques]} for r in cov.rules],
        "apis": {api: [r.rule_id for r in cov.rules_for(api)] for api in cov.apis},
        "uncovered_apis": cov.uncovered,
    }


def _technique_labels(rule: RuleCoverage) -> str:
    return ", ".join(dict.fromkeys(f"{t.technique_id} {t.technique_name}"
                                   for t in rule.techniques)) or "-"


def _tactics(rule: RuleCoverage) -> str:
    return ", ".join(dict.fromkeys(t.tactic_name for t in rule.techniques)) or "-"


def _api_label(rule: RuleCoverage) -> str:
    if rule.watches_all_apis:
        return "every KMS API"
    if set(KMS_MANAGEMENT_APIS) <= set(rule.apis):
        rest = [a for a in rule.apis if a not in KMS_MANAGEMENT_APIS]
        return ", ".join([f"all {len(KMS_MANAGEMENT_APIS)} management APIs", *rest])
    return ", ".join(rule.apis) or "-"


def render_markdown(cov: Coverage) -> str:
    """The README's rule table, then the API matrix (rules numbered as in the first table)."""
    out = ["| # | Rule | Type | Severity (risk) | Tactics | Techniques | KMS APIs |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for number, r in enumerate(cov.rules, 1):
        out.append(f"| {number} | {_md(r.name)} | {r.type} | {r.severity} ({r.risk_score}) | "
                   f"{_md(_tactics(r))} | {_md(_technique_labels(r))} | {_md(_api_label(r))} |")
    numbers = {r.rule_id: i for i, r in enumerate(cov.rules, 1)}
    out += ["", "| KMS API | Rules |", "| --- | --- |"]
    for api in cov.apis:
        watching = cov.rules_for(api)
        cell = ", ".join(str(numbers[r.rule_id]) for r in watching) if watching else "none"
        out.append(f"| {api} | {cell} |")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_text(cov: Coverage) -> str:
    """A terminal matrix: one row per KMS API, one column per rule (numbered in the legend)."""
    width = len(str(len(cov.rules)))
    api_width = max(len(a) for a in cov.apis)
    head = " " * api_width + "  " + " ".join(f"{i:>{width}}" for i in
                                             range(1, len(cov.rules) + 1))
    lines = ["Rules:"]
    lines += [f"  {i:>{width}}. {r.name} ({r.type}, {r.severity})"
              for i, r in enumerate(cov.rules, 1)]
    lines += ["", head]
    for api in cov.apis:
        marks = " ".join(f"{'x' if api in r.apis else '.':>{width}}" for r in cov.rules)
        lines.append(f"{api:<{api_width}}  {marks}")
    uncovered = cov.uncovered
    lines += ["", f"{len(cov.apis) - len(uncovered)} of {len(cov.apis)} KMS management APIs "
                  "watched" + (f"; not watched: {', '.join(uncovered)}" if uncovered else "")]
    lines += ["", "ATT&CK techniques:", *_technique_lines(cov)]
    return "\n".join(lines) + "\n"


def _technique_lines(cov: Coverage) -> list[str]:
    """One line per technique (tactic in brackets) with the numbers of the rules mapping it."""
    by_technique: dict[tuple[str, str, str], list[int]] = {}
    for number, rule in enumerate(cov.rules, 1):
        for t in rule.techniques:
            key = (t.technique_id, t.technique_name, t.tactic_name)
            if number not in by_technique.setdefault(key, []):
                by_technique[key].append(number)
    if not by_technique:
        return ["  none: no rule maps an ATT&CK technique"]
    return [f"  {tid} {name} ({tactic}): rule{'s' if len(nums) > 1 else ''} "
            f"{', '.join(str(n) for n in nums)}"
            for (tid, name, tactic), nums in sorted(by_technique.items())]


def navigator_layer(cov: Coverage, attack: AttackTable | None = None, *,
                    name: str = "kmsdet rules") -> dict[str, Any]:
    """An ATT&CK Navigator layer (format 4.5): score = number of rules per technique."""
    table = attack or load_attack()
    cells: dict[tuple[str, str], list[str]] = {}
    for r in cov.rules:
        for t in r.techniques:
            tactic = table.tactic(t.tactic_id)
            shortname = tactic.shortname if tactic else t.tactic_name.lower().replace(" ", "-")
            cells.setdefault((t.technique_id, shortname), []).append(r.name)
    techniques = [
        {"techniqueID": tid, "tactic": tactic, "score": len(names), "color": "",
         "comment": "; ".join(names), "enabled": True,
         "metadata": [{"name": "rule", "value": n} for n in names],
         "links": [], "showSubtechniques": any(k[0].startswith(tid + ".") for k in cells)}
        for (tid, tactic), names in sorted(cells.items())
    ]
    top = max((t["score"] for t in techniques), default=1)
    return {
        "name": name,
        "versions": {"attack": table.version.split(".")[0], "navigator": NAVIGATOR_VERSION,
                     "layer": LAYER_VERSION},
        "domain": "enterprise-attack",
        "description": f"{len(cov.rules)} rules mapped to ATT&CK Enterprise {table.version}; "
                       "score = number of rules.",
        "filters": {"platforms": ["IaaS"]},
        "sorting": 3,
        "layout": {"layout": "side", "aggregateFunction": "max", "showID": True,
                   "showName": True, "showAggregateScores": False, "countUnscored": False,
                   "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": ["#ffe766ff", "#8ec843ff"], "minValue": 0, "maxValue": top},
        "legendItems": [],
        "metadata": [],
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }
