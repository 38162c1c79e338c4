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
