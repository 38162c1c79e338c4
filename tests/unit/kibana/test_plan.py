"""Plan: normalisation of Kibana's defaults, field diffs, conflicts, prune, enabled state."""

from __future__ import annotations

from typing import Any

from kmsdet.kibana.payload import MANAGED_TAG, build_payload
from kmsdet.kibana.plan import make_plan, normalise
from tests.unit.kibana.kibana_rules import seed_rule


def deployed(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What Kibana returns for ``body``: defaults filled, server fields added."""
    response = {**normalise(body), "id": "so-1", "revision": 3, "created_at": "2026-01-01",
                "immutable": False, "rule_source": {"type": "internal"}}
    response["required_fields"] = [{**f, "ecs": True} for f in response["required_fields"]]
    response.update(changes)
    return response


def test_deployed_rule_with_defaults_is_unchanged() -> None:
    payload = build_payload(seed_rule())
    plan = make_plan([payload], [deployed(payload.body)])
    assert [i.action for i in plan.items] == ["unchanged"]


def test_changed_field_is_an_update_with_that_field() -> None:
    payload = build_payload(seed_rule())
    plan = make_plan([payload], [deployed(payload.body, severity="high", interval="10m")])
    item = plan.items[0]
    assert item.action == "update"
    assert {(c.field, c.before, c.after) for c in item.changes} == {
        ("severity", "high", "medium"), ("interval", "10m", "5m")}


def test_missing_rule_is_created() -> None:
    assert make_plan([build_payload(seed_rule())], []).items[0].action == "create"


def test_unmanaged_rule_with_same_id_is_a_conflict() -> None:
    payload = build_payload(seed_rule())
    theirs = deployed(payload.body, tags=["Domain: Cloud"])
    item = make_plan([payload], [theirs]).items[0]
    assert item.action == "conflict" and "not managed" in (item.reason or "")


def test_prune_deletes_only_managed_rules() -> None:
    managed = {"rule_id": "old", "name": "old", "id": "1", "tags": [MANAGED_TAG]}
    foreign = {"rule_id": "ui", "name": "ui", "id": "2", "tags": []}
    plan = make_plan([], [managed, foreign], prune=True)
    assert [(i.rule_id, i.action) for i in plan.items] == [("old", "delete")]
    assert make_plan([], [managed, foreign], prune=False).items == []


def test_enabled_state_of_deployed_rule_is_kept_unless_explicit() -> None:
    payload = build_payload(seed_rule())
    plan = make_plan([payload], [deployed(payload.body, enabled=False)])
    assert plan.items[0].action == "unchanged" and payload.body["enabled"] is False
    forced = build_payload(seed_rule(), enabled=True)
    plan = make_plan([forced], [deployed(forced.body, enabled=False)])
    assert [c.field for c in plan.items[0].changes] == ["enabled"]


def test_exception_items_are_compared() -> None:
    payload = build_payload(seed_rule(append='\n[[kmsdet.exceptions]]\nfield = "a"\nvalue = "b"\n'))
    assert payload.exceptions is not None
    remote = deployed(payload.body)
    same = {payload.exceptions.list_id: payload.exceptions.items}
    assert make_plan([payload], [remote], remote_items=same).items[0].action == "unchanged"
    item = make_plan([payload], [remote], remote_items={}).items[0]
    assert item.action == "update" and item.exceptions_changed
