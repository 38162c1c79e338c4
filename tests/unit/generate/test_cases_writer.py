"""--write-cases appends runnable cases and never touches what the file already holds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.cases.runner import run_tests
from kmsdet.errors import UsageError
from kmsdet.generate.cases import append_cases, toml_key, toml_value
from kmsdet.generate.for_rule import generate_for_rule
from kmsdet.rules.loader import load_rule
from tests.unit.generate.conftest import NOW
from tests.unit.rules.rule_text import VALID_CASES, rule_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

QUERY = '''query = \'\'\'
event.provider: "kms.amazonaws.com"
and event.action: "DisableKey"
\'\'\''''
NEW_QUERY = '''query = \'\'\'
data_stream.dataset: "aws.cloudtrail" and event.provider: "kms.amazonaws.com"
and event.action: ("DisableKey" or "ScheduleKeyDeletion") and event.outcome: "success"
and not aws.cloudtrail.user_identity.type: "AWSService"
and aws.cloudtrail.flattened.request_parameters.pendingWindowInDays <= 7
\'\'\''''


def _rule(tmp_path: Path, cases: str | None = VALID_CASES, query: str = NEW_QUERY) -> Path:
    path = tmp_path / "rule.toml"
    path.write_text(rule_text({QUERY: query}), encoding="utf-8")
    if cases is not None:
        (tmp_path / "rule.cases.toml").write_text(cases, encoding="utf-8")
    return path


def test_appended_cases_keep_the_file_and_pass_on_the_embedded_backend(tmp_path: Path) -> None:
    path = _rule(tmp_path, VALID_CASES.rstrip("\n"))  # no final newline: still kept as is
    before = (tmp_path / "rule.cases.toml").read_bytes()
    rule = load_rule(path)
    result = append_cases(generate_for_rule(rule, now=NOW))
    after = (tmp_path / "rule.cases.toml").read_bytes()
    assert after.startswith(before) and len(after) > len(before)
    names = [c["name"] for c in tomllib.loads(after.decode())["case"]]
    assert "near miss: breaks `event.outcome: \"success\"`" in names
    assert "near miss: breaks `not aws.cloudtrail.user_identity.type: \"AWSService\"`" in names
    assert any(n.startswith("fires: ") and "ScheduleKeyDeletion" in n for n in names)
    assert result.written and all(n in names for n in result.written)
    run = run_tests([rule], EmbeddedBackend(), now=NOW)
    generated = [r for r in run.results if r.case.name in result.written]
    assert len(generated) == len(result.written)
    assert [(r.case.name, r.actual) for r in generated if not r.passed] == []


def test_second_run_adds_nothing(tmp_path: Path) -> None:
    path = _rule(tmp_path)
    append_cases(generate_for_rule(load_rule(path), now=NOW))
    once = (tmp_path / "rule.cases.toml").read_bytes()
    again = append_cases(generate_for_rule(load_rule(path), now=NOW))
    assert again.written == []
    assert (tmp_path / "rule.cases.toml").read_bytes() == once


def test_existing_cases_that_cover_a_clause_are_not_duplicated(tmp_path: Path) -> None:
    covering = VALID_CASES + '''
[[case]]
name = "denied"
expect = 0
[[case.event]]
eventName = "DisableKey"
errorCode = "AccessDenied"
requestParameters.pendingWindowInDays = 7
'''
    path = _rule(tmp_path, covering)
    result = append_cases(generate_for_rule(load_rule(path), now=NOW))
    skipped = dict(result.skipped)
    assert skipped["near miss: breaks `event.outcome: \"success\"`"] == \
        "already covered by case 'denied'"


def test_missing_cases_file_is_created(tmp_path: Path) -> None:
    path = _rule(tmp_path, None)
    result = append_cases(generate_for_rule(load_rule(path), now=NOW))
    text = (tmp_path / "rule.cases.toml").read_text()
    assert text.startswith("# Test cases for rule.toml.")
    assert len(tomllib.loads(text)["case"]) == len(result.written)


def test_threshold_rules_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rule.toml"
    path.write_text(rule_text({'type = "query"': 'type = "threshold"'}, append=(
        "\n[rule.threshold]\nfield = []\nvalue = 3\n")), encoding="utf-8")
    with pytest.raises(UsageError):
        append_cases(generate_for_rule(load_rule(path), now=NOW))


@pytest.mark.parametrize(("value", "text"), [
    ("a\"b\\c\n", '"a\\"b\\\\c\\n"'),
    (7, "7"), (True, "true"), (None, '"<null>"'), (["x", 1], '["x", 1]'),
    ({"ARN": "a", "x-y": 1}, '{ARN = "a", x-y = 1}'),
])
def test_toml_values_round_trip(value: object, text: str) -> None:
    assert toml_value(value) == text
    expected = "<null>" if value is None else value
    assert tomllib.loads(f"k = {text}")["k"] == expected


def test_odd_keys_are_quoted() -> None:
    assert toml_key("requestParameters.x.y") == "requestParameters.x.y"
    assert toml_key("requestParameters.a b") == 'requestParameters."a b"'
