"""Replay: raw and ECS inputs, the rule schedule over the whole span, one alert per event."""

from __future__ import annotations

import gzip
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from typer.testing import CliRunner

from kmsdet.cli import app
from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.to_ecs import to_ecs
from kmsdet.replay import load_documents, replay_rules
from kmsdet.rules.loader import load_rule
from tests.unit.rules.rule_text import VALID_RULE

START = datetime(2026, 1, 15, 8, 0, tzinfo=timezone.utc)


def records(names_and_minutes: list[tuple[str, int]]) -> list[dict]:
    rng = random.Random(1)
    return [build_record({"eventName": name}, rng=rng, at=START + timedelta(minutes=m))
            for name, m in names_and_minutes]


def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules" / "disable_rule.toml"
    path.parent.mkdir()
    path.write_text(VALID_RULE, encoding="utf-8")
    return path


def test_replay_over_hours_alerts_once_per_matching_event(tmp_path: Path) -> None:
    raw = records([("DisableKey", 0), ("DisableKey", 1), ("EnableKey", 2),
                   ("DisableKey", 300), ("Decrypt", 301)])
    trail = tmp_path / "trail.json.gz"
    trail.write_bytes(gzip.compress(json.dumps({"Records": raw}).encode()))
    docs = load_documents([trail])
    assert len(docs) == 5
    alerts = replay_rules([load_rule(rule_file(tmp_path))], docs)
    assert [a.event_id for a in alerts] == [raw[0]["eventID"], raw[1]["eventID"],
                                            raw[3]["eventID"]]


def test_ecs_documents_keep_their_own_ingest_time(tmp_path: Path) -> None:
    raw = records([("DisableKey", 0)])
    doc = to_ecs(raw[0], ingested=START + timedelta(minutes=1))
    export = tmp_path / "export.ndjson"
    export.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    [loaded] = load_documents([export])
    assert loaded["event"]["ingested"] == doc["event"]["ingested"]
    assert len(replay_rules([load_rule(rule_file(tmp_path))], [loaded])) == 1


def test_replay_cli_json(tmp_path: Path) -> None:
    raw = records([("DisableKey", 0), ("ScheduleKeyDeletion", 10)])
    trail = tmp_path / "trail.ndjson"
    trail.write_text("\n".join(json.dumps(r) for r in raw), encoding="utf-8")
    rules = rule_file(tmp_path).parent
    result = CliRunner().invoke(app, ["replay", str(trail), "--rules", str(rules),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["events"] == 2
    assert [a["event_id"] for a in payload["alerts"]] == [raw[0]["eventID"]]
    assert set(payload["alerts"][0]) >= {"rule_id", "rule_name", "event_id", "@timestamp"}


def test_events_from_raw_prints_ecs_in_input_order(tmp_path: Path) -> None:
    raw = records([("DisableKey", 0), ("EnableKey", 1)])
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": raw}), encoding="utf-8")
    result = CliRunner().invoke(app, ["events", "--from", str(trail), "--ecs"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["event"]["action"] for d in lines] == ["DisableKey", "EnableKey"]


def test_events_of_a_named_case(tmp_path: Path) -> None:
    path = rule_file(tmp_path)
    path.with_name("disable_rule.cases.toml").write_text(
        '[[case]]\nname = "one"\nexpect = 1\n[[case.event]]\neventName = "DisableKey"\n'
        '[[case]]\nname = "two"\nexpect = 0\n[[case.event]]\neventName = "EnableKey"\n'
        '_count = 2\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["events", str(path), "--case", "two"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["eventName"] for x in result.stdout.splitlines()] == ["EnableKey"] * 2
    missing = CliRunner().invoke(app, ["events", str(path), "--case", "three"])
    assert missing.exit_code != 0
