"""The lint run: cross-rule checks, suppressions with reasons, load problems as findings."""

from __future__ import annotations

from pathlib import Path

from kmsdet.rules.checks.base import Severity, all_checks
from kmsdet.rules.checks.values import RiskScoreBand
from kmsdet.rules.lint import lint_paths
from tests.unit.rules.rule_text import VALID_RULE, line_of, rule_text

OTHER_ID = 'rule_id = "7d0c4e55-9c1b-4d3c-8f0a-2b6e1d9f3a11"'
BASE_ID = 'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_registry_lists_every_check_once_ordered_by_code() -> None:
    codes = [c.code for c in all_checks()]
    assert codes == sorted(set(codes))
    assert {"KD105", "KD201", "KD208", "KD301"} <= set(codes)


def test_duplicate_rule_id_and_name_point_at_the_second_file(tmp_path: Path) -> None:
    write(tmp_path, "a_rule.toml", VALID_RULE)
    second = write(tmp_path, "b_rule.toml", VALID_RULE)
    report = lint_paths([tmp_path], checks=[c for c in all_checks() if c.code in
                                            ("KD208", "KD209")])
    by_code = {f.code: f for f in report.findings}
    assert sorted(by_code) == ["KD208", "KD209"]
    assert {f.file for f in report.findings} == {str(second)}
    assert "also used by" in by_code["KD208"].message
    assert by_code["KD208"].line == line_of(VALID_RULE, "rule_id =")
    assert by_code["KD209"].line == line_of(VALID_RULE, "name =")


def test_unique_rules_have_no_duplicate_findings(tmp_path: Path) -> None:
    write(tmp_path, "a_rule.toml", VALID_RULE)
    write(tmp_path, "b_rule.toml", rule_text({BASE_ID: OTHER_ID,
                                              'name = "Test Rule"': 'name = "Other"'}))
    report = lint_paths([tmp_path], checks=[c for c in all_checks() if c.code in
                                            ("KD208", "KD209")])
    assert report.findings == []


def test_suppression_with_reason_drops_only_that_code(tmp_path: Path) -> None:
    text = rule_text({"risk_score = 47": "risk_score = 80"},
                     append='\n[kmsdet.suppress]\nKD206 = "scored by the SOC, not the band"\n')
    write(tmp_path, "a_rule.toml", text)
    report = lint_paths([tmp_path], checks=[RiskScoreBand()])
    assert report.findings == []


def test_suppression_without_reason_or_of_unknown_code_is_an_error(tmp_path: Path) -> None:
    text = rule_text({"risk_score = 47": "risk_score = 80"},
                     append='\n[kmsdet.suppress]\nKD206 = ""\nKD999 = "typo"\n')
    write(tmp_path, "a_rule.toml", text)
    report = lint_paths([tmp_path], checks=[RiskScoreBand()])
    codes = sorted((f.code, f.message) for f in report.findings)
    assert codes == [("KD107", "suppression names unknown check 'KD999'"),
                     ("KD107", "suppression of KD206 gives no reason"),
                     ("KD206", "risk_score 80 is outside the medium band 22-47")]


def test_load_problems_become_error_findings_and_other_files_still_lint(tmp_path: Path) -> None:
    write(tmp_path, "a_rule.toml", "[metadata\n")
    write(tmp_path, "b_rule.toml", rule_text({"risk_score = 47": "risk_score = 80"}))
    report = lint_paths([tmp_path], checks=[RiskScoreBand()])
    assert [f.code for f in report.findings] == ["KD101", "KD206"]
    assert report.findings[0].line == 1
    assert report.files == 2 and len(report.rules) == 1


def test_strict_turns_warnings_into_failure(tmp_path: Path) -> None:
    write(tmp_path, "a_rule.toml", rule_text({'timestamp_override = "event.ingested"\n': ""}))
    report = lint_paths([tmp_path], checks=[c for c in all_checks() if c.code == "KD215"])
    assert [f.severity for f in report.findings] == [Severity.WARNING]
    assert not report.failed(strict=False)
    assert report.failed(strict=True)


def test_parallel_lint_reports_exactly_what_serial_lint_does(tmp_path: Path, monkeypatch) -> None:
    import kmsdet.rules.lint as lint_module

    for i in range(6):
        rule_id = f'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b{i:02d}"'
        text = rule_text({BASE_ID: rule_id, "risk_score = 47": f"risk_score = {40 + i * 5}"})
        write(tmp_path, f"rule_{i}.toml", text)  # same name everywhere: KD209 across workers
    monkeypatch.setattr(lint_module, "PARALLEL_MIN_FILES", 2)
    serial = lint_paths([tmp_path], jobs=1)
    parallel = lint_paths([tmp_path], jobs=2)
    assert parallel.findings == serial.findings
    assert {f.code for f in parallel.findings} >= {"KD206", "KD209"}
    assert [r.rule_id for r in parallel.rules] == [r.rule_id for r in serial.rules]
