"""Query checks through lint: positions inside the query map back to the TOML file."""

from __future__ import annotations

from pathlib import Path

from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.cases import CasesPresent, CasesReadable
from kmsdet.rules.checks.query import InvestigationFieldsKnown, QueryFields, QuerySyntax
from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE, line_of, load, rule_text

QUERY = 'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"\n'


def with_query(query: str) -> str:
    return rule_text({QUERY: query})


def test_kql_syntax_error_points_at_file_line_and_column() -> None:
    text = with_query('event.provider: "kms.amazonaws.com"\nand event.action: (DisableKey or\n')
    [finding] = QuerySyntax().check(load(text).rule, LintContext())
    assert finding.code == "KD301"
    assert finding.message.startswith("KQL syntax error: expected")
    assert finding.line == line_of(text, "and event.action: (DisableKey or") + 1
    assert finding.column == 1


def test_kql_syntax_error_on_the_first_line_has_the_exact_column() -> None:
    text = with_query("event.action: DisableKey)\n")
    [finding] = QuerySyntax().check(load(text).rule, LintContext())
    assert finding.line == line_of(text, "event.action: DisableKey)")
    assert finding.column == len("event.action: DisableKey") + 1


def test_eql_syntax_error_is_reported() -> None:
    text = rule_text({'language = "kuery"': 'language = "eql"', 'type = "query"': 'type = "eql"',
                      QUERY: "process where process.name == \n"})
    [finding] = QuerySyntax().check(load(text).rule, LintContext())
    assert finding.code == "KD301" and finding.message.startswith("EQL syntax error")


def test_unknown_field_is_located_in_the_file_with_a_suggestion() -> None:
    text = with_query('event.provider: "kms.amazonaws.com"\nand event.acton: "DisableKey"\n')
    findings = list(QueryFields().check(load(text).rule, LintContext()))
    [finding] = [f for f in findings if f.code == "KD302"]
    assert finding.line == line_of(text, "and event.acton")
    assert finding.column == 5
    assert "event.action" in (finding.hint or "") + finding.message


def test_value_of_the_wrong_type_is_an_error() -> None:
    text = with_query('source.ip: "not-an-ip"\n')
    findings = list(QueryFields().check(load(text).rule, LintContext()))
    assert [(f.code, f.severity.value) for f in findings] == [("KD304", "error")]


def test_unknown_investigation_field() -> None:
    text = rule_text(append='\n[rule.investigation_fields]\nfield_names = ["user.nmae"]\n')
    [finding] = InvestigationFieldsKnown().check(load(text).rule, LintContext())
    assert finding.code == "KD306" and "user.nmae" in finding.message


def test_cases_checks(tmp_path: Path) -> None:
    rule_path = tmp_path / "my_rule.toml"
    rule_path.write_text(VALID_RULE, encoding="utf-8")
    from kmsdet.rules.loader import load_rule

    rule = load_rule(rule_path)
    [missing] = CasesPresent().check(rule, LintContext())
    assert (missing.code, missing.message) == ("KD601", "the rule has no test cases")
    cases = tmp_path / "my_rule.cases.toml"
    cases.write_text(VALID_CASES.split("\n[[case]]\nname = \"quiet\"")[0], encoding="utf-8")
    [quiet] = CasesPresent().check(rule, LintContext())
    assert quiet.message == "no must-not-fire case (expect = 0)"
    cases.write_text("[[case]]\nname = 1\n", encoding="utf-8")
    [broken] = CasesReadable().check(rule, LintContext())
    assert broken.code == "KD602" and broken.file == str(cases) and broken.line == 2


def test_single_line_query_string_maps_to_the_column_in_the_file() -> None:
    text = rule_text({"query = '''\n" + QUERY + "'''": 'query = "event.action: DisableKey)"'})
    [finding] = QuerySyntax().check(load(text).rule, LintContext())
    line = text.splitlines()[finding.line - 1]
    assert line.startswith("query = ")
    assert line[finding.column - 1] == ")"


def test_a_query_kibana_cannot_translate_is_a_finding_not_a_crash() -> None:
    """A nested field outside a ``path: { }`` group: Kibana throws at every run."""
    from kmsdet.rules.lint import lint_results

    text = rule_text({'index = ["logs-aws.cloudtrail-*"]': 'index = ["logs-*"]',
                      'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"':
                          'threat.enrichments.matched.field: x'})
    report = lint_results([load(text)])
    found = [f for f in report.findings if f.code == "KD308"]
    assert len(found) == 1 and found[0].severity.value == "error"
    assert "is a nested field" in found[0].message and found[0].line is not None
