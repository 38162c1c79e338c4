"""Coverage: APIs read from parsed queries, the README table, the Navigator layer and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kmsdet.cli.coverage import HELP, coverage
from kmsdet.coverage import (
    ALL_APIS,
    KMS_MANAGEMENT_APIS,
    build_coverage,
    coverage_json,
    navigator_layer,
    render_markdown,
    render_text,
    watched_actions,
)
from kmsdet.rules.loader import load_rules, load_text
from kmsdet.rules.model import Rule

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "rules" / "aws_kms"

RULE = '''[metadata]
creation_date = "2026/01/10"
updated_date = "2026/01/10"

[rule]
author = ["kmsdet"]
description = "Test rule."
index = ["logs-aws.cloudtrail-*"]
language = "{language}"
name = "{name}"
risk_score = 47
rule_id = "00000000-0000-4000-8000-000000000001"
severity = "medium"
type = "query"
query = \'\'\'
{query}
\'\'\'

[[rule.threat]]
framework = "MITRE ATT&CK"

[[rule.threat.technique]]
id = "T1485"
name = "Data Destruction"
reference = "https://attack.mitre.org/techniques/T1485/"

[[rule.threat.technique.subtechnique]]
id = "T1485.001"
name = "Lifecycle-Triggered Deletion"
reference = "https://attack.mitre.org/techniques/T1485/001/"

[rule.threat.tactic]
id = "TA0040"
name = "Impact"
reference = "https://attack.mitre.org/tactics/TA0040/"
'''


def rule_from(query: str, *, language: str = "kuery", name: str = "Test Rule") -> Rule:
    result = load_text(RULE.format(query=query, language=language, name=name),
                       Path("t.toml"))
    assert result.rule is not None, result.problems
    return result.rule


KMS = 'event.provider: "kms.amazonaws.com"'


@pytest.mark.parametrize(("query", "expected"), [
    (f'{KMS} and event.action: "DisableKey"', {"DisableKey"}),
    (f'{KMS} and event.action: ("DisableKey" or "ScheduleKeyDeletion")',
     {"DisableKey", "ScheduleKeyDeletion"}),
    (f"{KMS} and event.action: (Disable* or Enable*)",
     {"DisableKey", "DisableKeyRotation", "EnableKey", "EnableKeyRotation"}),
    (f'{KMS} and event.action: "PutKeyPolicy" and not event.action: "CreateKey"',
     {"PutKeyPolicy"}),
    (f'{KMS} and not aws.cloudtrail.user_identity.type: "AWSService"', {ALL_APIS}),
    (f'{KMS} and not event.action: "Decrypt"', {ALL_APIS}),
    ('event.provider: "kms.amazonaws.com" or event.provider: "s3.amazonaws.com" '
     'and event.action: "ReplicateKey"', {ALL_APIS}),
    (f'{KMS} and event.action: "DisableKey" or event.provider: "s3.amazonaws.com" '
     'and event.action: "PutObject"', {"DisableKey"}),
    (f'({KMS} or event.provider: "ec2.amazonaws.com") and event.action: ("EnableKey" or '
     '"RunInstances")', {"EnableKey", "RunInstances"}),
    (f'{KMS} and not (event.action: "DisableKey" and event.outcome: "failure")', {ALL_APIS}),
    ('event.provider: "iam.amazonaws.com" and event.action: "PutRolePolicy"', None),
    ('not event.provider: "kms.amazonaws.com" and event.action: "DisableKey"', None),
    ('event.action: "DisableKey"', None),
])
def test_watched_actions_follow_the_query(query: str, expected: set[str] | None) -> None:
    found = watched_actions(rule_from(query))
    assert found == (frozenset(expected) if expected is not None else None)


def test_non_kql_rules_watch_nothing() -> None:
    assert watched_actions(rule_from('any where event.action == "DisableKey"',
                                     language="eql")) is None


def test_a_rule_on_every_kms_event_covers_every_api() -> None:
    cov = build_coverage([rule_from(KMS)])
    assert cov.rules[0].watches_all_apis
    assert cov.uncovered == []
    assert "every KMS API" in render_markdown(cov)


def test_actions_outside_the_known_list_are_added_to_the_matrix() -> None:
    cov = build_coverage([rule_from(f'{KMS} and event.action: "Decrypt"')])
    assert cov.apis[-1] == "Decrypt"
    assert cov.apis[: len(KMS_MANAGEMENT_APIS)] == list(KMS_MANAGEMENT_APIS)
    assert set(cov.uncovered) == set(KMS_MANAGEMENT_APIS)


def test_pack_matrix_names_the_rules_that_watch_each_api() -> None:
    rules = load_rules([PACK])
    cov = build_coverage(rules)
    watching = {r.name for r in cov.rules_for("DeleteImportedKeyMaterial")}
    assert "AWS KMS Imported Key Material Deleted" in watching
    assert "AWS KMS Key Policy Replaced" not in watching
    assert len(cov.rules) == len(rules)
    assert cov.uncovered == []
    data = coverage_json(cov)
    assert data["uncovered_apis"] == []
    seed = "2fde4f71-2414-4a14-81d9-9cce5dd99798"
    assert seed in data["apis"]["DisableKey"] and seed in data["apis"]["ScheduleKeyDeletion"]


def test_markdown_has_one_row_per_rule_and_escapes_pipes() -> None:
    cov = build_coverage([rule_from(f'{KMS} and event.action: "DisableKey"', name="A | B")])
    text = render_markdown(cov)
    lines = text.splitlines()
    assert lines[0].startswith("| # | Rule |")
    assert lines[2] == ("| 1 | A \\| B | query | medium (47) | Impact | T1485 Data Destruction, "
                        "T1485.001 Lifecycle-Triggered Deletion | DisableKey |")
    assert "| DisableKey | 1 |" in lines
    assert "| EnableKey | none |" in lines


def test_text_matrix_marks_the_watched_cells() -> None:
    cov = build_coverage([rule_from(f'{KMS} and event.action: "DisableKey"')])
    rows = {line.split()[0]: line.split()[1:] for line in render_text(cov).splitlines()
            if line and line.split()[0] in KMS_MANAGEMENT_APIS}
    assert rows["DisableKey"] == ["x"]
    assert rows["EnableKey"] == ["."]
    assert "1 of 23 KMS management APIs watched" in render_text(cov)


def test_navigator_layer_scores_techniques_by_rule_count() -> None:
    first = rule_from(f'{KMS} and event.action: "DisableKey"', name="First")
    second = rule_from(f'{KMS} and event.action: "ScheduleKeyDeletion"', name="Second")
    layer = navigator_layer(build_coverage([first, second]))
    assert layer["versions"]["layer"] == "4.5"
    assert layer["domain"] == "enterprise-attack"
    assert layer["versions"]["attack"] == "18"
    cells = {(t["techniqueID"], t["tactic"]): t for t in layer["techniques"]}
    assert set(cells) == {("T1485", "impact"), ("T1485.001", "impact")}
    assert cells[("T1485", "impact")]["score"] == 2
    assert cells[("T1485", "impact")]["showSubtechniques"] is True
    assert [m["value"] for m in cells[("T1485", "impact")]["metadata"]] == ["First", "Second"]
    assert layer["gradient"]["maxValue"] == 2


def test_pack_layer_uses_the_tactics_of_each_mapping() -> None:
    layer = navigator_layer(build_coverage(load_rules([PACK])))
    pairs = {(t["techniqueID"], t["tactic"]) for t in layer["techniques"]}
    assert ("T1537", "exfiltration") in pairs
    assert ("T1078.004", "initial-access") in pairs
    assert ("T1098", "privilege-escalation") in pairs


@pytest.fixture()
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("coverage", help=HELP)(coverage)

    @app.callback()
    def _root() -> None:
        """Test root, so that 'coverage' stays a subcommand."""

    return app


def test_cli_writes_the_navigator_layer_to_a_file(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "layer.json"
    result = CliRunner().invoke(cli, ["coverage", str(PACK), "--format", "navigator",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert json.loads(out.read_text())["domain"] == "enterprise-attack"


@pytest.mark.parametrize(("fmt", "marker"), [
    ("text", "KMS management APIs watched"),
    ("markdown", "| KMS API | Rules |"),
    ("json", '"uncovered_apis"'),
])
def test_cli_prints_each_format(cli: typer.Typer, fmt: str, marker: str) -> None:
    result = CliRunner().invoke(cli, ["coverage", str(PACK), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert marker in result.output


def test_text_lists_the_attack_techniques_with_their_rules() -> None:
    first = rule_from(f'{KMS} and event.action: "DisableKey"', name="First")
    second = rule_from(f'{KMS} and event.action: "ScheduleKeyDeletion"', name="Second")
    text = render_text(build_coverage([first, second]))
    assert "ATT&CK techniques:" in text
    assert "  T1485 Data Destruction (Impact): rules 1, 2" in text
