"""Kibana response -> Rule -> TOML, exact for rules kmsdet deployed, tidy for UI-made ones."""

from __future__ import annotations

from pathlib import Path

from kmsdet.kibana.payload import build_payload
from kmsdet.kibana.plan import normalise
from kmsdet.kibana.pull import rule_from_kibana, rule_to_toml
from kmsdet.rules.loader import load_text
from tests.unit.kibana.kibana_rules import seed_rule


def test_round_trip_through_payload_and_toml() -> None:
    rule = seed_rule(append='\n[kmsdet.suppress]\nKD999 = "because"\n')
    response = {**normalise(build_payload(rule).body), "id": "x", "revision": 2}
    back = rule_from_kibana(response)
    assert back.model_dump() == rule.model_dump()
    reloaded = load_text(rule_to_toml(back), Path("pulled.toml"))
    assert reloaded.rule is not None and reloaded.rule.model_dump() == rule.model_dump()


def test_rule_made_in_the_ui_gets_metadata_and_no_default_noise() -> None:
    response = {"rule_id": "ui-1", "id": "x", "type": "query", "name": "UI rule",
                "description": "made by hand", "risk_score": 21, "severity": "low",
                "query": "event.action: x", "language": "kuery", "interval": "5m",
                "from": "now-6m", "to": "now", "max_signals": 100, "enabled": True,
                "tags": ["Team: SOC"], "author": [], "references": [], "setup": "",
                "created_at": "2026-03-04T05:06:07Z", "updated_at": "2026-03-05T00:00:00Z",
                "required_fields": [], "related_integrations": [], "version": 1}
    rule = rule_from_kibana(response)
    assert rule.metadata.creation_date == "2026/03/04"
    assert rule.metadata.updated_date == "2026/03/05"
    text = rule_to_toml(rule)
    assert "interval" not in text and "max_signals" not in text and 'Team: SOC' in text
    assert load_text(text, Path("ui.toml")).rule is not None


def test_legacy_investigation_fields_list_is_read() -> None:
    response = {"rule_id": "r", "type": "query", "name": "n", "description": "d",
                "risk_score": 1, "severity": "low", "investigation_fields": ["user.name"]}
    rule = rule_from_kibana(response)
    assert rule.rule.investigation_fields is not None
    assert rule.rule.investigation_fields.field_names == ["user.name"]
