"""Cases-file problems read like rule problems: the line, the table counted from 1, a
did-you-mean for a misspelt key; and `kmsdet lint` given a cases file lints it with its rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kmsdet.cases.loader import lint_targets, load_cases
from kmsdet.errors import InputError
from tests.unit.rules.rule_text import VALID_RULE, line_of

GOOD = '[[case]]\nname = "quiet"\nexpect = 0\n[[case.event]]\neventName = "EnableKey"\n\n'


def load_error(tmp_path: Path, cases: str) -> InputError:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text(cases, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_cases(tmp_path / "r.toml")
    return info.value


@pytest.mark.parametrize(("cases", "message", "field", "hint", "at"), [
    (GOOD + '[[case]]\nname = "fires"\nexpcet = 1\n[[case.event]]\neventName = "X"\n',
     "unknown key 'expcet' in [[case]] 2 'fires'", "case[2].expcet", "did you mean 'expect'?",
     "expcet ="),
    ('[[cases]]\nname = "fires"\nexpect = 1\n[[cases.event]]\neventName = "X"\n',
     "unknown table 'cases' in the top level", "cases", "did you mean 'case'?", "[[cases]]"),
    ('[[case]]\nname = "fires"\nexpect = 1\n[[case.evnet]]\neventName = "X"\n',
     "unknown table 'evnet' in [[case]] 1 'fires'", "case[1].evnet", "did you mean 'event'?",
     "[[case.evnet]]"),
    (GOOD + '[[case]]\nname = "fires"\n[[case.event]]\neventName = "X"\n',
     "[[case]] 2 'fires' has no 'expect'", "case[2].expect", "expect (alert count)",
     'name = "fires"'),
    ('[[case]]\nname = "fires"\nexpect = "one"\n[[case.event]]\neventName = "X"\n',
     "wrong value for 'expect' in [[case]] 1 'fires': input should be a valid integer",
     "case[1].expect", "expect",
     'expect = "one"'),
])
def test_problems_name_line_table_and_fix(tmp_path: Path, cases: str, message: str, field: str,
                                          hint: str, at: str) -> None:
    error = load_error(tmp_path, cases)
    assert error.message == message
    assert error.field == field
    assert error.hint is not None and hint in error.hint
    assert error.line is not None
    assert at in cases.splitlines()[error.line - 1] or \
        error.line == line_of(cases, at) - 1  # a missing key: the line of its table
    assert "Field required" not in error.render() and ".0." not in error.render()


def test_lint_targets_map_a_cases_file_to_its_rule(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text(GOOD, encoding="utf-8")
    assert lint_targets([tmp_path / "r.cases.toml", tmp_path / "r.toml"]) == [tmp_path / "r.toml"]
    (tmp_path / "orphan.cases.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(InputError, match="its rule orphan.toml does not exist"):
        lint_targets([tmp_path / "orphan.cases.toml"])


def test_lint_of_a_cases_file_reports_its_problems_not_rule_keys(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text(
        '[[case]]\nname = "fires"\nexpcet = 1\n[[case.event]]\neventName = "X"\n',
        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kmsdet", "lint", "r.cases.toml"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "r.cases.toml:3: error KD602 unknown key 'expcet'" in result.stdout
    assert "KD104" not in result.stdout and "missing required field 'rule'" not in result.stdout
