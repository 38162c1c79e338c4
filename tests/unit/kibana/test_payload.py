"""Rule model -> API payload: field shapes per stack version, marker tag, enabled, exceptions."""

from __future__ import annotations

import pytest

from kmsdet.errors import InputError
from kmsdet.kibana.payload import MANAGED_TAG, build_payload, build_payloads
from tests.unit.kibana.kibana_rules import seed_rule

EXCEPTION = '\n[[kmsdet.exceptions]]\nfield = "source.ip"\nvalue = "10.0.0.1"\n'


def test_seed_rule_payload_carries_every_field() -> None:
    body = build_payload(seed_rule()).body
    assert body["rule_id"] == "83a09442-28b0-4a75-9394-7b92ed8c9a50"
    assert body["from"] == "now-6m" and body["timestamp_override"] == "event.ingested"
    assert body["threat"][0]["technique"][0]["subtechnique"][0]["id"] == "T1485.001"
    assert body["tags"][-1] == MANAGED_TAG and body["enabled"] is True
    assert body["meta"]["kmsdet"]["metadata"]["maturity"] == "production"
    assert "from" in body["meta"]["kmsdet"]["keys"]


@pytest.mark.parametrize(("stack", "shape"), [
    ((9, 0), dict), ((8, 11), dict), ((8, 10), list), ((8, 9), type(None)),
])
def test_investigation_fields_shape_by_version(stack: tuple[int, int], shape: type) -> None:
    payload = build_payload(seed_rule(), stack=stack)
    assert isinstance(payload.body.get("investigation_fields"), shape)
    assert bool(payload.warnings) == (shape is type(None))


@pytest.mark.parametrize(("rule_says", "override", "expected", "explicit"), [
    ("", None, True, False),
    ("enabled = false\n", None, False, True),
    ("enabled = false\n", True, True, True),
    ("", False, False, True),
])
def test_enabled_override(rule_says: str, override: bool | None, expected: bool,
                          explicit: bool) -> None:
    rule = seed_rule({'type = "query"\n': f'type = "query"\n{rule_says}'})
    payload = build_payload(rule, enabled=override)
    assert payload.body["enabled"] is expected and payload.enabled_explicit is explicit


def test_exceptions_become_a_rule_default_list() -> None:
    payload = build_payload(seed_rule(append=EXCEPTION))
    assert payload.exceptions is not None
    ref = payload.body["exceptions_list"][-1]
    assert ref["type"] == "rule_default" and ref["list_id"] == payload.exceptions.list_id
    assert payload.exceptions.items[0]["entries"] == [
        {"field": "source.ip", "operator": "included", "type": "match", "value": "10.0.0.1"}]


def test_invalid_rule_value_is_refused_with_its_line() -> None:
    rule = seed_rule({'from = "now-6m"': 'from = "6 minutes ago"'})
    with pytest.raises(InputError) as info:
        build_payload(rule)
    assert info.value.field == "rule.from"
    assert info.value.line == rule.source.line_of(("rule", "from"))


def test_duplicate_rule_ids_are_refused() -> None:
    with pytest.raises(InputError, match="used twice"):
        build_payloads([seed_rule(), seed_rule()])


def test_new_terms_is_flattened_to_the_api_shape() -> None:
    rule = seed_rule({'type = "query"': 'type = "new_terms"'}, append=(
        '\n[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ["user.name"]\n'
        '[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\n'
        'value = "now-7d"\n'))
    body = build_payload(rule).body
    assert body["new_terms_fields"] == ["user.name"]
    assert body["history_window_start"] == "now-7d" and "new_terms" not in body


def test_payloads_refuse_a_query_kibana_could_not_run(tmp_path) -> None:
    from kmsdet.errors import InputError
    from kmsdet.kibana.payload import build_payloads
    from kmsdet.rules.loader import load_rule
    from tests.unit.rules.rule_text import VALID_RULE

    path = tmp_path / "bad_rule.toml"
    path.write_text(VALID_RULE.replace('event.action: "DisableKey"', "source.ip: not-an-ip"),
                    encoding="utf-8")
    with pytest.raises(InputError) as info:
        build_payloads([load_rule(path)])
    assert info.value.file == str(path)
    assert info.value.line is not None


def test_readme_states_the_stack_version_export_uses_for_investigation_fields() -> None:
    from pathlib import Path

    from kmsdet.kibana.payload import _SINCE

    major, minor = _SINCE["investigation_fields"]
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    said = " ".join(readme.split("`--stack-version` shapes payloads")[1].split()[:12])
    assert f"from {major}.{minor} on" in said, said
