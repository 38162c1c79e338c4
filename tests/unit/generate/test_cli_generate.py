"""`kmsdet generate` (kmsdet/cli/generate.py) through Typer, as the lead registers it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from kmsdet.cli.generate import HELP, generate
from tests.unit.rules.rule_text import rule_text

app = typer.Typer()
app.command("generate", help=HELP)(generate)
app.command("noop")(lambda: None)  # two commands keep "generate" as a subcommand
runner = CliRunner()


def _rule(tmp_path: Path, query: str | None = None) -> Path:
    path = tmp_path / "rule.toml"
    replace = {'and event.action: "DisableKey"': query} if query else {}
    path.write_text(rule_text(replace), encoding="utf-8")
    return path


def test_json_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(_rule(tmp_path)), "--format", "json", "--raw"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["firing"][0]["overrides"] == {"eventName": "DisableKey",
                                              "eventSource": "kms.amazonaws.com"}
    assert data["firing"][0]["raw"]["eventName"] == "DisableKey"
    assert {c["clause"] for c in data["clauses"]} == {'event.provider: "kms.amazonaws.com"',
                                                      'event.action: "DisableKey"'}
    assert data["written"] is None


def test_unsatisfiable_query_exits_one(tmp_path: Path) -> None:
    path = _rule(tmp_path, 'and event.action: "DisableKey" and not event.action: "DisableKey"')
    result = runner.invoke(app, ["generate", str(path)])
    assert result.exit_code == 1
    assert "no document can satisfy the query" in result.output


def test_write_cases_reports_what_it_appended(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", str(_rule(tmp_path)), "--write-cases"])
    assert result.exit_code == 0, result.output
    assert "case(s) appended" in result.output
    assert (tmp_path / "rule.cases.toml").exists()


def test_eql_sequence_rule_json_and_text(tmp_path: Path) -> None:
    pack = Path(__file__).resolve().parents[3] / "rules" / "aws_kms"
    rule = pack / "impact_kms_key_policy_replaced_then_key_disabled_or_deleted.toml"
    result = runner.invoke(app, ["generate", str(rule), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [c["expect"] for c in data["cases"]] == [1, 0, 0, 0]
    assert all(c["verified"] for c in data["cases"])
    text = runner.invoke(app, ["generate", str(rule)])
    assert text.exit_code == 0 and "near miss: the steps in reverse order (expect 0): ok" in \
        text.output


def test_eql_rule_without_a_generable_condition_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "rule.toml"
    path.write_text(rule_text({
        'type = "query"': 'type = "eql"', 'language = "kuery"': 'language = "eql"',
        'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"':
            'any where length(event.action) == 10'}), encoding="utf-8")
    result = runner.invoke(app, ["generate", str(path)])
    assert result.exit_code == 1
    assert "length(...)" in result.output
