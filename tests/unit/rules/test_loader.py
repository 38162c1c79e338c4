"""Loading: syntax errors with positions, unknown keys with suggestions, wrong and missing types."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.errors import InputError
from kmsdet.rules.loader import find_rule_files, load_rule
from tests.unit.rules.rule_text import VALID_RULE, line_of, load, rule_text


def test_valid_rule_loads_with_line_numbers() -> None:
    result = load(VALID_RULE)
    assert result.problems == []
    assert result.rule is not None
    assert result.rule.source.line_of(("rule", "severity")) == line_of(VALID_RULE, "severity =")
    assert result.rule.source.line_of(("rule", "threat", 0, "tactic", "id")) == line_of(
        VALID_RULE, 'id = "TA0040"')


def test_toml_syntax_error_has_line_and_column() -> None:
    text = rule_text({'severity = "medium"': 'severity = "medium'})
    result = load(text)
    [problem] = result.problems
    assert problem.code == "KD101"
    assert problem.line == line_of(text, 'severity = "medium')
    assert problem.column is not None
    assert "TOML syntax error" in problem.message


def test_unknown_key_suggests_the_known_one() -> None:
    text = rule_text({'severity = "medium"': 'severty = "medium"'})
    problems = {p.code: p for p in load(text).problems}
    assert problems["KD102"].message == "unknown key 'severty' in [rule]"
    assert problems["KD102"].hint == "did you mean 'severity'?"
    assert problems["KD102"].line == line_of(text, "severty")
    assert problems["KD104"].message == "missing required field 'rule.severity'"


def test_unknown_key_in_nested_table() -> None:
    text = rule_text({'name = "Impact"': 'nmae = "Impact"'})
    problem = next(p for p in load(text).problems if p.code == "KD102")
    assert problem.message == "unknown key 'nmae' in [rule.threat[0].tactic]"
    assert problem.hint == "did you mean 'name'?"
    assert problem.line == line_of(text, "nmae")


def test_wrong_type_names_the_field_and_the_expected_type() -> None:
    text = rule_text({"risk_score = 47": 'risk_score = "47"'})
    [problem] = load(text).problems
    assert problem.code == "KD103"
    assert "rule.risk_score" in problem.message
    assert problem.hint == "expected an integer"
    assert problem.line == line_of(text, "risk_score")


def test_missing_required_field() -> None:
    text = rule_text({'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"\n': ""})
    [problem] = load(text).problems
    assert (problem.code, problem.message) == ("KD104", "missing required field 'rule.rule_id'")
    assert problem.line == line_of(text, "[rule]")


def test_load_rule_raises_input_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[rule\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_rule(path)
    assert info.value.file == str(path)
    assert "KD101" in info.value.message


def test_find_rule_files_skips_case_files_and_rejects_missing(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "r.toml").write_text("", encoding="utf-8")
    (tmp_path / "a" / "r.cases.toml").write_text("", encoding="utf-8")
    assert find_rule_files([tmp_path]) == [tmp_path / "a" / "r.toml"]
    with pytest.raises(InputError):
        find_rule_files([tmp_path / "nope"])


def test_a_folder_without_rules_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="no rule files under"):
        find_rule_files([tmp_path])


def test_toml_error_at_end_of_document_points_at_the_last_line() -> None:
    text = VALID_RULE + "[rule.investigation_fields\n"
    [problem] = load(text).problems
    assert problem.code == "KD101"
    assert problem.line == text.count("\n")
