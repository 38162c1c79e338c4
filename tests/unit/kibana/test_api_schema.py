"""kmsdet's schema of the rule API refuses what Kibana would reject or silently drop."""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.errors import InputError
from kmsdet.kibana.api_schema import payload_problems, validate_payload

BASE: dict[str, Any] = {"rule_id": "r", "type": "query", "name": "n", "description": "d",
                        "risk_score": 21, "severity": "low", "query": "a: b", "index": ["x"]}


def test_minimal_query_payload_is_valid() -> None:
    assert payload_problems(BASE) == []


@pytest.mark.parametrize(("change", "field"), [
    ({"severty": "low"}, "severty"),                       # typo: Kibana would drop it
    ({"risk_score": 101}, "risk_score"),
    ({"risk_score": "47"}, "risk_score"),
    ({"severity": "urgent"}, "severity"),
    ({"name": ""}, "name"),
    ({"interval": "5 minutes"}, "interval"),
    ({"from": "yesterday"}, "from"),
    ({"max_signals": 0}, "max_signals"),
    ({"language": "eql"}, "language"),
    ({"investigation_fields": {"field_names": []}}, "investigation_fields"),
    ({"threat": [{"framework": "MITRE ATT&CK"}]}, "threat.0.tactic"),
    ({"building_block_type": "yes"}, "building_block_type"),
    ({"timeline_id": "t"}, "timeline_title"),
    ({"data_view_id": "dv"}, "data_view_id"),
    ({"type": "sigma"}, "type"),
    ({"required_fields": [{"name": "a"}]}, "required_fields.0.type"),
])
def test_invalid_payloads_name_the_field(change: dict[str, Any], field: str) -> None:
    problems = payload_problems({**BASE, **change})
    assert any(p[0].startswith(field) for p in problems), problems


def test_validate_raises_input_error_with_rule_field() -> None:
    with pytest.raises(InputError) as info:
        validate_payload({**BASE, "max_signals": 0}, file="r.toml", line_of=lambda f: 7)
    assert info.value.field == "rule.max_signals" and info.value.line == 7


@pytest.mark.parametrize("payload", [
    {**BASE, "type": "eql", "language": "eql", "query": "any where true"},
    {**BASE, "type": "threshold", "threshold": {"field": ["user.name"], "value": 5}},
    {**BASE, "type": "new_terms", "new_terms_fields": ["user.name"],
     "history_window_start": "now-7d"},
    {k: v for k, v in BASE.items() if k not in ("query", "index")} | {
        "type": "machine_learning", "anomaly_threshold": 50, "machine_learning_job_id": "j"},
])
def test_other_rule_types(payload: dict[str, Any]) -> None:
    assert payload_problems(payload) == []
