"""`--aws-integration` on the commands, through the real entry point: option, env var, config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.cases.test_versions import SESSION_CASES, SESSION_QUERY, _rule
from tests.unit.rules.rule_text import VALID_CASES, VALID_RULE


def kmsdet(*args: str, cwd: Path, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "KMSDET_AWS_INTEGRATION"}
    base["KMSDET_CONFIG"] = str(cwd / "no-config.toml")  # never the developer's own file
    return subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env={**base, **(env or {})})


def first_doc(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[0])


def rule_tree(tmp_path: Path) -> Path:
    (tmp_path / "r.toml").write_text(VALID_RULE, encoding="utf-8")
    (tmp_path / "r.cases.toml").write_text(VALID_CASES, encoding="utf-8")
    return tmp_path / "r.toml"


def test_list_prints_the_ranges_oldest_first(tmp_path: Path) -> None:
    result = kmsdet("events", "--list-aws-integrations", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("< 7.0.1") and ">= 7.3.1" in lines[-1]
    assert all("0b97ab02" in line or "PR #" in line for line in lines)


def test_option_env_and_config_pick_the_version_in_that_order(tmp_path: Path) -> None:
    rule = str(rule_tree(tmp_path))
    newest = first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path))
    assert newest["user"]["id"].startswith("arn:aws:") and newest["cloud"]["provider"] == "aws"
    old = first_doc(kmsdet("events", rule, "--ecs", "--aws-integration", "7.0.0", cwd=tmp_path))
    assert not old["user"]["id"].startswith("arn:") and "provider" not in old["cloud"]
    by_env = first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path,
                              env={"KMSDET_AWS_INTEGRATION": "6.9.0"}))
    assert by_env["user"]["id"] == old["user"]["id"]
    option_wins = first_doc(kmsdet("events", rule, "--ecs", "--aws-integration", "7.3.1",
                                   cwd=tmp_path, env={"KMSDET_AWS_INTEGRATION": "6.9.0"}))
    assert option_wins["user"]["id"] == newest["user"]["id"]
    config = tmp_path / "kmsdet.toml"
    config.write_text('aws_integration = "7.1.2"\n', encoding="utf-8")
    by_config = first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path,
                                 env={"KMSDET_CONFIG": str(config)}))
    assert by_config["user"]["id"] == old["user"]["id"] and "provider" not in by_config["cloud"]


def test_bad_versions_are_usage_errors_naming_their_source(tmp_path: Path) -> None:
    rule = str(rule_tree(tmp_path))
    result = kmsdet("events", rule, "--aws-integration", "seven", cwd=tmp_path)
    assert result.returncode == 2 and "--aws-integration: 'seven'" in result.stderr
    result = kmsdet("events", rule, cwd=tmp_path, env={"KMSDET_AWS_INTEGRATION": "x"})
    assert result.returncode == 2 and "KMSDET_AWS_INTEGRATION: 'x'" in result.stderr
    config = tmp_path / "kmsdet.toml"
    config.write_text("aws_integration = 7\n", encoding="utf-8")
    result = kmsdet("events", rule, cwd=tmp_path, env={"KMSDET_CONFIG": str(config)})
    assert result.returncode == 2 and "kmsdet.toml [aws_integration]" in result.stderr
    result = kmsdet("events", rule, "--aws-integration", "all", cwd=tmp_path)
    assert result.returncode == 2 and "only make sense for kmsdet test" in result.stderr
    assert "Traceback" not in result.stderr


def test_all_versions_name_the_rule_and_the_field_that_moved(tmp_path: Path) -> None:
    _rule(tmp_path, SESSION_QUERY, SESSION_CASES)
    result = kmsdet("test", ".", "--aws-integration", "all", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    out = " ".join(result.stdout.split())
    assert "AWS integration 0b97ab02: 1 passed, 0 failed" in out
    assert "AWS integration current: 0 passed, 1 failed" in out
    assert "passes on 0b97ab02, fails on 7.1.0, current; moved: user.changes.name" in out
    result = kmsdet("test", ".", "--aws-integration", "all", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["differences"][0]["moved_fields"] == ["user.changes.name"]
    assert (report["versions"]["0b97ab02"]["passed"], report["versions"]["0b97ab02"]["failed"]) \
        == (1, 0)
    assert report["versions"]["current"]["failed"] == 1


def test_all_versions_agree_on_a_stable_rule(tmp_path: Path) -> None:
    rule_tree(tmp_path)
    result = kmsdet("test", ".", "--aws-integration", "all", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "same verdict on every AWS integration version" in result.stdout


def test_one_version_runs_the_usual_report(tmp_path: Path) -> None:
    _rule(tmp_path, SESSION_QUERY, SESSION_CASES)
    assert kmsdet("test", ".", "--aws-integration", "7.0.0", cwd=tmp_path).returncode == 0
    assert kmsdet("test", ".", cwd=tmp_path).returncode == 1


def test_actor_target_switch_by_option_env_and_config(tmp_path: Path) -> None:
    rule = str(rule_tree(tmp_path))
    assert "actor" not in first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path))
    on = first_doc(kmsdet("events", rule, "--ecs", "--actor-target-mapping", cwd=tmp_path))
    assert "actor_target_mapping" in on["tags"] and on["actor"]["entity"]["id"]
    by_env = first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path,
                              env={"KMSDET_ACTOR_TARGET_MAPPING": "1"}))
    assert by_env["actor"] == on["actor"]
    config = tmp_path / "kmsdet.toml"
    config.write_text("actor_target_mapping = true\n", encoding="utf-8")
    by_config = first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path,
                                 env={"KMSDET_CONFIG": str(config)}))
    assert by_config["actor"] == on["actor"]
    off = first_doc(kmsdet("events", rule, "--ecs", "--no-actor-target-mapping", cwd=tmp_path,
                           env={"KMSDET_CONFIG": str(config)}))
    assert "actor" not in off


def test_geoip_db_option_fills_source_geo(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]), {
        "country": {"iso_code": "NL", "names": {"en": "Netherlands"}}})
    db = tmp_path / "country.mmdb"
    writer.to_db_file(str(db))
    rule = str(rule_tree(tmp_path))
    with_db = first_doc(kmsdet("events", rule, "--ecs", "--geoip-db", str(db), cwd=tmp_path))
    assert with_db["source"]["geo"] == {"country_name": "Netherlands", "country_iso_code": "NL"}
    assert "geo" not in first_doc(kmsdet("events", rule, "--ecs", cwd=tmp_path))["source"]
    bad = kmsdet("events", rule, "--geoip-db", str(tmp_path / "nope.mmdb"), cwd=tmp_path)
    assert bad.returncode == 2 and "cannot read GeoIP database" in bad.stderr
