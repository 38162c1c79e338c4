"""Each value, date, schedule and required-field check: a rule that breaks it, and where."""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext, Severity
from kmsdet.rules.checks.required import RequiredByType
from kmsdet.rules.checks.schedule import (
    DateFormat,
    DateOrder,
    FromDateMath,
    IntervalFormat,
    LookbackCoversInterval,
    MaxSignalsBounds,
    TimestampOverride,
)
from kmsdet.rules.checks.values import (
    FileName,
    LanguageValue,
    MaturityValue,
    RiskScoreBand,
    RiskScoreRange,
    RuleIdFormat,
    RuleTypeValue,
    SeverityValue,
)
from tests.unit.rules.rule_text import VALID_RULE, line_of, load, rule_text

CASES = [
    # (check, old line, new line, code, severity, message fragment, hint fragment)
    (SeverityValue, 'severity = "medium"', 'severity = "meduim"', "KD201", "error",
     "severity 'meduim' is not one of low, medium, high, critical", "did you mean 'medium'?"),
    (RuleTypeValue, 'type = "query"', 'type = "querry"', "KD202", "error",
     "type 'querry' is not one of", "did you mean 'query'?"),
    (LanguageValue, 'language = "kuery"', 'language = "kql"', "KD203", "error",
     "language 'kql' is not one of", None),
    (LanguageValue, 'language = "kuery"', 'language = "eql"', "KD203", "error",
     "language 'eql' does not fit a query rule", "use kuery or lucene"),
    (MaturityValue, 'maturity = "production"', 'maturity = "prod"', "KD204", "error",
     "maturity 'prod' is not one of", None),
    (RiskScoreRange, "risk_score = 47", "risk_score = 101", "KD205", "error",
     "risk_score 101 is outside 0..100", "0 to 100"),
    (RiskScoreBand, "risk_score = 47", "risk_score = 73", "KD206", "error",
     "risk_score 73 is outside the medium band 22-47", "severity 'high'"),
    (RuleIdFormat, 'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"', 'rule_id = "my-rule"',
     "KD207", "error", "rule_id 'my-rule' is not a lower-case UUID", "uuid4"),
    (RuleIdFormat, 'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"',
     'rule_id = "0B5A3E0C-1F7E-4F4E-9D3C-8A0E6F1C2B3D"', "KD207", "error",
     "is not a lower-case UUID", None),
    (DateFormat, 'creation_date = "2024/01/10"', 'creation_date = "2024-01-10"', "KD210",
     "error", "creation_date '2024-01-10' is not in YYYY/MM/DD form", None),
    (DateFormat, 'updated_date = "2024/02/01"', 'updated_date = "2024/02/30"', "KD210",
     "error", "updated_date '2024/02/30' is not a calendar date", None),
    (DateOrder, 'updated_date = "2024/02/01"', 'updated_date = "2023/12/31"', "KD211", "error",
     "updated_date 2023/12/31 is before creation_date 2024/01/10", None),
    (FromDateMath, 'from = "now-6m"', 'from = "6m"', "KD212", "error",
     "from '6m' is not date math like now-6m", None),
    (IntervalFormat, 'from = "now-6m"', 'from = "now-6m"\ninterval = "5 minutes"', "KD213",
     "error", "interval '5 minutes' is not a duration like 5m", None),
    (MaxSignalsBounds, 'from = "now-6m"', 'from = "now-6m"\nmax_signals = 0', "KD214", "error",
     "max_signals 0 is below 1", None),
    (MaxSignalsBounds, 'from = "now-6m"', 'from = "now-6m"\nmax_signals = 5000', "KD214",
     "warning", "max_signals 5000 is above 1000", None),
    (LookbackCoversInterval, 'from = "now-6m"', 'from = "now-2m"', "KD216", "warning",
     "look-back now-2m is shorter than interval 5m", None),
]


@pytest.mark.parametrize(("check", "old", "new", "code", "severity", "message", "hint"), CASES)
def test_check_reports_code_location_and_message(check, old, new, code, severity, message,
                                                 hint) -> None:
    text = rule_text({old: new})
    result = load(text)
    assert result.rule is not None, result.problems
    findings = list(check().check(result.rule, LintContext()))
    assert len(findings) == 1, findings
    [finding] = findings
    assert finding.code == code
    assert finding.severity is Severity(severity)
    assert message in finding.message
    if hint:
        assert hint in (finding.hint or "")
    assert finding.line == line_of(text, new.splitlines()[-1])
    assert finding.rule_id == result.rule.rule_id


ALL_CHECKS = [SeverityValue, RuleTypeValue, LanguageValue, MaturityValue, RiskScoreRange,
              RiskScoreBand, RuleIdFormat, DateFormat, DateOrder, FromDateMath, IntervalFormat,
              MaxSignalsBounds, TimestampOverride, LookbackCoversInterval, RequiredByType]


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_valid_rule_passes(check) -> None:
    rule = load(VALID_RULE).rule
    assert rule is not None
    assert list(check().check(rule, LintContext())) == []


def test_timestamp_override_missing_is_a_warning() -> None:
    text = rule_text({'timestamp_override = "event.ingested"\n': ""})
    [finding] = TimestampOverride().check(load(text).rule, LintContext())
    assert (finding.code, finding.severity) == ("KD215", Severity.WARNING)
    assert finding.hint == 'add timestamp_override = "event.ingested"'




def test_required_by_type_query_without_query_and_index() -> None:
    text = rule_text({'index = ["logs-aws.cloudtrail-*"]\n': ""})
    text = text.replace("query = '''\nevent.provider: \"kms.amazonaws.com\"\n"
                        "and event.action: \"DisableKey\"\n'''\n", "")
    rule = load(text).rule
    assert rule is not None
    messages = [f.message for f in RequiredByType().check(rule, LintContext())]
    assert messages == ["a query rule needs 'query'",
                        "a query rule needs 'index' or 'data_view_id'"]


def test_required_by_type_threshold_needs_threshold_table() -> None:
    text = rule_text({'type = "query"': 'type = "threshold"'})
    [finding] = RequiredByType().check(load(text).rule, LintContext())
    assert finding.message == "a threshold rule needs 'threshold'"


def test_file_name_convention() -> None:
    rule = load(VALID_RULE, name="Bad Name.toml").rule
    [finding] = FileName().check(rule, LintContext())
    assert finding.code == "KD106"
    assert finding.hint == "rename it, e.g. to test_rule.toml"
    assert list(FileName().check(load(VALID_RULE, name="good_name.toml").rule, LintContext())) == []


def test_rule_id_is_held_to_elastics_own_uuid_check() -> None:
    """Elastic's schema matches the UUID from the start only; two prebuilt rules rely on it."""
    from kmsdet.rules.checks.values import UUID_RE

    assert UUID_RE.match("7eb54028-ca72-4eb7-8185-b6864572347db")
    assert not UUID_RE.match("x7eb54028-ca72-4eb7-8185-b6864572347d")
    assert not UUID_RE.match("7EB54028-CA72-4EB7-8185-B6864572347D")
