"""deploy / pull / export driven through the CLI against the Kibana double, faults included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from kmsdet.cli import kibana as kibana_cli
from kmsdet.config import Secret, Target
from kmsdet.kibana.client import KibanaClient
from kmsdet.kibana.payload import MANAGED_TAG
from kmsdet.rules.loader import load_rules
from tests.contract.conftest import API_KEY, PASSWORD, READ_ONLY_KEY
from tests.contract.kibana_double import Fault, KibanaDouble

pytestmark = pytest.mark.contract
SECRETS = (API_KEY, READ_ONLY_KEY, PASSWORD)

app = typer.Typer()
app.command("deploy")(kibana_cli.deploy)
app.command("export")(kibana_cli.export)
app.command("pull")(kibana_cli.pull)


def run(kibana: KibanaDouble, *args: str, key: str = API_KEY, env: dict[str, str] | None = None,
        ) -> Result:
    runner = CliRunner()
    result = runner.invoke(app, list(args), env={
        "KMSDET_KIBANA_URL": kibana.url, "KMSDET_KIBANA_API_KEY": key,
        "KMSDET_CONFIG": "/nonexistent/kmsdet.toml", **(env or {})})
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    for secret in SECRETS:
        assert secret not in text, "a secret was printed"
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def repo(tmp_path: Path, seed_rules: Path) -> Path:
    shutil.copytree(seed_rules, tmp_path / "rules", ignore=shutil.ignore_patterns("*.cases.toml"))
    return tmp_path / "rules"


def deploy_json(kibana: KibanaDouble, *args: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    result = run(kibana, "deploy", *args, "--format", "json", **kw)
    return result.exit_code, json.loads(result.stdout)


def test_deploy_creates_then_changes_nothing(kibana: KibanaDouble, repo: Path) -> None:
    code, first = deploy_json(kibana, str(repo))
    assert code == 0
    assert {r["status"] for r in first["result"]["rules"]} == {"created"}
    assert [r.path for r in kibana.writes()] == ["/api/detection_engine/rules/_import"]
    assert all(MANAGED_TAG in r["tags"] for r in kibana.space().rules.values())
    writes = len(kibana.writes())
    code, second = deploy_json(kibana, str(repo))
    assert code == 0
    assert {i["action"] for i in second["plan"]} == {"unchanged"}
    assert len(kibana.writes()) == writes


def test_plan_shows_field_diff_and_applies_nothing(kibana: KibanaDouble, repo: Path) -> None:
    assert run(kibana, "deploy", str(repo)).exit_code == 0
    rule = next(repo.glob("*deleted.toml"))
    rule.write_text(rule.read_text().replace('from = "now-6m"', 'from = "now-9m"'))
    writes = len(kibana.writes())
    result = run(kibana, "deploy", str(repo), "--plan")
    assert result.exit_code == 0
    assert '~ update' in result.stdout and 'from: "now-6m" -> "now-9m"' in result.stdout
    assert len(kibana.writes()) == writes
    code, applied = deploy_json(kibana, str(repo))
    assert code == 0 and "updated" in {r["status"] for r in applied["result"]["rules"]}
    changed = load_rules([rule])[0].rule_id
    assert kibana.space().rules[changed]["from"] == "now-9m"
    assert [i["rule_id"] for i in applied["plan"] if i["action"] == "update"] == [changed]


def test_prune_deletes_only_managed_rules(kibana: KibanaDouble, repo: Path) -> None:
    assert run(kibana, "deploy", str(repo)).exit_code == 0
    client_rule = {"rule_id": "hand-made", "type": "query", "name": "UI rule",
                   "description": "d", "risk_score": 1, "severity": "low", "query": "*"}
    with KibanaClient(Target(url=kibana.url, api_key=Secret(API_KEY))) as client:
        client.create_rule(client_rule)
    gone = next(repo.glob("*deleted.toml"))
    gone_id = load_rules([gone])[0].rule_id
    gone.unlink()
    code, report = deploy_json(kibana, str(repo), "--prune")
    assert code == 0
    assert {(i["rule_id"], i["action"]) for i in report["plan"]} >= {(gone_id, "delete")}
    assert gone_id not in kibana.space().rules and "hand-made" in kibana.space().rules


def test_unmanaged_rule_with_same_rule_id_is_a_conflict(kibana: KibanaDouble,
                                                        repo: Path) -> None:
    rule = load_rules([next(repo.glob("*deleted.toml"))])[0]
    with KibanaClient(Target(url=kibana.url, api_key=Secret(API_KEY))) as client:
        client.create_rule({"rule_id": rule.rule_id, "type": "query", "name": "theirs",
                            "description": "d", "risk_score": 1, "severity": "low"})
    code, report = deploy_json(kibana, str(repo))
    assert code == 1
    assert kibana.space().rules[rule.rule_id]["name"] == "theirs"
    conflict = [i for i in report["plan"] if i["action"] == "conflict"]
    assert conflict and "not managed by kmsdet" in conflict[0]["reason"]


def test_pull_of_deployed_rules_round_trips(kibana: KibanaDouble, repo: Path,
                                            tmp_path: Path) -> None:
    assert run(kibana, "deploy", str(repo), "--space", "detections").exit_code == 0
    out = tmp_path / "pulled"
    result = run(kibana, "pull", "--output", str(out), "--space", "detections")
    assert result.exit_code == 0, result.output
    original = {r.rule_id: r.model_dump() for r in load_rules([repo])}
    pulled = {r.rule_id: r.model_dump() for r in load_rules([out])}
    assert pulled == original


def test_pull_brings_back_a_ui_edit_in_place(kibana: KibanaDouble, repo: Path) -> None:
    assert run(kibana, "deploy", str(repo)).exit_code == 0
    rule = load_rules([next(repo.glob("*deleted.toml"))])[0]
    kibana.space().rules[rule.rule_id]["severity"] = "high"
    result = run(kibana, "pull", "--output", str(repo), "--rule-id", rule.rule_id)
    assert result.exit_code == 0
    again = load_rules([rule.source.path])[0]
    assert again.rule.severity == "high"
    assert again.model_dump(exclude={"rule": {"severity"}}) == rule.model_dump(
        exclude={"rule": {"severity"}})


def test_export_file_imports_like_a_deploy(kibana: KibanaDouble, repo: Path,
                                           tmp_path: Path) -> None:
    out = tmp_path / "rules.ndjson"
    assert run(kibana, "export", str(repo), "--output", str(out)).exit_code == 0
    objects = [json.loads(line) for line in out.read_text().splitlines()]
    rules = [o for o in objects if "rule_id" in o and "list_id" not in o]
    assert len(rules) == len(list(repo.glob("*.toml")))
    with KibanaClient(Target(url=kibana.url, api_key=Secret(API_KEY))) as client:
        summary = client.import_rules(out.read_bytes())
    assert summary["success"] is True and summary["success_count"] == len(rules)
    code, report = deploy_json(kibana, str(repo))
    assert code == 0 and {i["action"] for i in report["plan"]} == {"unchanged"}


def test_exceptions_are_deployed_as_a_list_and_pulled_back(kibana: KibanaDouble, repo: Path,
                                                           tmp_path: Path) -> None:
    rule_file = next(repo.glob("*deleted.toml"))
    rule_file.write_text(rule_file.read_text() + '\n[[kmsdet.exceptions]]\nfield = '
                         '"aws.cloudtrail.user_identity.arn"\nvalue = "arn:aws:iam::1:role/x"\n')
    assert run(kibana, "deploy", str(repo)).exit_code == 0
    rule_id = load_rules([rule_file])[0].rule_id
    assert [i["entries"][0]["value"] for i in kibana.space().items[f"kmsdet-{rule_id}"]] == [
        "arn:aws:iam::1:role/x"]
    code, report = deploy_json(kibana, str(repo))
    assert {i["action"] for i in report["plan"]} == {"unchanged"}
    out = tmp_path / "pulled"
    assert run(kibana, "pull", "--output", str(out)).exit_code == 0
    assert {r.rule_id: r.model_dump() for r in load_rules([out])} == {
        r.rule_id: r.model_dump() for r in load_rules([repo])}


# -- faults -----------------------------------------------------------------------------------

def test_429_with_retry_after_is_retried(kibana: KibanaDouble, repo: Path) -> None:
    kibana.faults.append(Fault("status", path="/_import", status=429, retry_after=1))
    code, report = deploy_json(kibana, str(repo))
    assert code == 0 and report["result"]["ok"]
    imports = [r for r in kibana.requests if r.path.endswith("/_import")]
    assert [r.status for r in imports] == [429, 200]


def test_dropped_connection_is_retried(kibana: KibanaDouble, repo: Path) -> None:
    kibana.faults.append(Fault("drop", path="/_import"))
    code, report = deploy_json(kibana, str(repo))
    assert code == 0 and report["result"]["ok"]


def test_persistent_500_on_import_is_reported_rule_by_rule(kibana: KibanaDouble,
                                                           repo: Path) -> None:
    kibana.faults.append(Fault("status", path="/_import", status=500, times=10))
    result = run(kibana, "deploy", str(repo))
    assert result.exit_code == 1
    assert "not applied" in result.stdout and "Deploy FAILED" in result.stdout
    assert kibana.space().rules == {}


def test_dropped_connections_after_kibana_applied_are_verified(kibana: KibanaDouble,
                                                               repo: Path) -> None:
    original = kibana._import

    def apply_then_drop(*args: Any) -> Any:
        original(*args)
        raise ConnectionAbortedError

    kibana._import = apply_then_drop  # type: ignore[method-assign]
    code, report = deploy_json(kibana, str(repo))
    # Every attempt reached Kibana and applied, then the connection dropped before the answer.
    statuses = {r["status"] for r in report["result"]["rules"]}
    assert statuses == {"created"} and code == 0
    assert all("applied although the request failed" in r["message"]
               for r in report["result"]["rules"])


def test_partial_import_failure_names_changed_and_unchanged_rules(kibana: KibanaDouble,
                                                                  repo: Path) -> None:
    rules = load_rules([repo])
    bad = rules[0].rule_id
    kibana.reject_rule_ids[bad] = (400, "simulated validation failure")
    code, report = deploy_json(kibana, str(repo))
    assert code == 1 and report["result"]["ok"] is False
    by_id = {r["rule_id"]: r for r in report["result"]["rules"]}
    assert by_id[bad]["status"] == "failed" and "simulated" in by_id[bad]["message"]
    assert by_id[rules[1].rule_id]["status"] == "created"


def test_slow_kibana_times_out_with_exit_3(kibana: KibanaDouble, repo: Path,
                                           tmp_path: Path) -> None:
    config = tmp_path / "kmsdet.toml"
    config.write_text(f'[targets.slow]\nurl = "{kibana.url}"\ntimeout = 0.3\n')
    kibana.faults.append(Fault("slow", path="/api/status", delay=1.0, times=10))
    result = run(kibana, "deploy", str(repo), "--target", "slow", "--config", str(config),
                 env={"KMSDET_KIBANA_URL": ""})
    assert result.exit_code == 3
    assert "did not answer" in result.stderr


@pytest.mark.parametrize(("key", "code", "text"), [
    ("not-a-valid-key-" + "x" * 20, 3, "did not accept the credentials"),
    (READ_ONLY_KEY, 3, "securitySolution-rules-all"),
])
def test_auth_problems_exit_3_without_secrets(kibana: KibanaDouble, repo: Path, key: str,
                                              code: int, text: str) -> None:
    result = run(kibana, "deploy", str(repo), key=key)
    assert result.exit_code == code
    assert text in result.stderr
    assert key not in result.stderr


def test_wrong_space_is_explained(kibana: KibanaDouble, repo: Path) -> None:
    result = run(kibana, "deploy", str(repo), "--space", "missing")
    assert result.exit_code == 3
    assert "space 'missing'" in result.stderr


def test_basic_auth_password_never_printed(kibana: KibanaDouble, repo: Path) -> None:
    result = run(kibana, "deploy", str(repo), "--format", "json", key="", env={
        "KMSDET_KIBANA_USER": "deployer", "KMSDET_KIBANA_PASSWORD": PASSWORD})
    assert result.exit_code == 0


def test_server_that_is_not_kibana(repo: Path) -> None:
    double = KibanaDouble()
    double.start()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["deploy", str(repo), "--kibana-url",
                                     double.url + "/not-kibana-prefix"],
                               env={"KMSDET_KIBANA_API_KEY": "", "KMSDET_CONFIG": "/none"})
    finally:
        double.stop()
    assert result.exit_code == 3


def test_every_call_carries_kibanas_headers_and_the_space_prefix(kibana: KibanaDouble,
                                                                repo: Path) -> None:
    assert run(kibana, "deploy", str(repo), "--space", "detections").exit_code == 0
    engine = [r for r in kibana.requests if r.path.startswith("/api/detection_engine")]
    assert engine and all(r.space == "detections" for r in engine)
    assert all(r.headers.get("elastic-api-version") == "2023-10-31" for r in engine)
    assert all(r.headers.get("kbn-xsrf") for r in kibana.requests)


def test_missing_encryption_key_stops_before_any_write(kibana: KibanaDouble,
                                                       repo: Path) -> None:
    kibana.has_encryption_key = False
    result = run(kibana, "deploy", str(repo))
    assert result.exit_code == 3 and "encryption key" in result.stderr
    assert kibana.writes() == []


# -- import answers that do not account for the rules (issue 15) --------------------------------

@pytest.mark.parametrize("answer", [
    {},
    {"success": True, "success_count": 1, "rules_count": 13, "errors": []},
    {"success": True, "errors": []},
])
def test_a_200_that_does_not_account_for_the_rules_is_not_ok(kibana: KibanaDouble, repo: Path,
                                                             answer: dict[str, Any]) -> None:
    kibana._import = lambda *args: (200, answer)  # type: ignore[method-assign]
    code, report = deploy_json(kibana, str(repo))
    assert code == 1 and not report["result"]["ok"]
    assert {r["status"] for r in report["result"]["rules"]} == {"not applied"}
    assert all("does not account" in r["message"] for r in report["result"]["rules"])
    text = run(kibana, "deploy", str(repo))
    assert text.exit_code == 1 and "Deploy FAILED: 0 changed" in text.stdout


def test_rules_applied_behind_an_empty_answer_are_verified(kibana: KibanaDouble,
                                                           repo: Path) -> None:
    original = kibana._import

    def apply_then_answer_nothing(*args: Any) -> Any:
        original(*args)
        return 200, {}

    kibana._import = apply_then_answer_nothing  # type: ignore[method-assign]
    code, report = deploy_json(kibana, str(repo))
    assert code == 0, report
    assert {r["status"] for r in report["result"]["rules"]} == {"created"}
    assert all("applied although" in r["message"] for r in report["result"]["rules"])


def test_every_http_request_is_counted(kibana: KibanaDouble, repo: Path) -> None:
    kibana.faults.append(Fault("status", path="/_import", status=503, retry_after=1))
    code, report = deploy_json(kibana, str(repo))
    assert code == 0
    assert report["requests"] == report["result"]["requests"] == len(kibana.requests)
    assert len(kibana.requests) >= 5  # status, privileges, _find, _import twice
    before = len(kibana.requests)
    result = run(kibana, "deploy", str(repo), "--plan")
    assert result.exit_code == 0
    before_text = len(kibana.requests)
    result = run(kibana, "deploy", str(repo))
    assert f"{len(kibana.requests) - before_text} HTTP requests" in result.stdout
    assert before_text > before
