"""The values Kibana fills in for fields a payload leaves out, and the fields only it owns.

Plan compares local payloads with deployed rules, and pull decides which keys to write back:
both must treat "absent" and "Kibana's default" as the same thing, or every deploy would show
spurious changes and every pulled file would grow keys nobody wrote.
"""

from __future__ import annotations

from typing import Any

# Defaults applied on create (reference: kibana.md §2.2).
KIBANA_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "interval": "5m",
    "from": "now-6m",
    "to": "now",
    "max_signals": 100,
    "version": 1,
    "tags": [],
    "author": [],
    "references": [],
    "false_positives": [],
    "threat": [],
    "exceptions_list": [],
    "actions": [],
    "related_integrations": [],
    "required_fields": [],
    "risk_score_mapping": [],
    "severity_mapping": [],
    "setup": "",
    "filters": [],
    "response_actions": [],
    "meta": {},
}
# Query-language rule types default ``language`` to kuery and ``query`` to "".
LANGUAGE_DEFAULT_TYPES = {"query", "saved_query", "threshold", "new_terms", "threat_match"}

# Fields only Kibana sets; never part of a payload comparison.
SERVER_FIELDS = frozenset({
    "id", "immutable", "rule_source", "created_at", "created_by", "updated_at", "updated_by",
    "revision", "execution_summary", "output_index_missing", "throttle",
})


def defaults_for(rule_type: str | None) -> dict[str, Any]:
    out = dict(KIBANA_DEFAULTS)
    if rule_type in LANGUAGE_DEFAULT_TYPES:
        out["language"] = "kuery"
    if rule_type == "query":
        out["query"] = ""
    return out
