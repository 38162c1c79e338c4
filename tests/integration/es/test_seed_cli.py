"""`kmsdet seed` against the real Elasticsearch: cases, storylines and baseline, idempotently."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from typer.testing import CliRunner

from kmsdet.cli import app

RULES = Path(__file__).resolve().parents[3] / "rules"


def test_seed_twice_with_the_same_anchor_adds_nothing(es_url: str) -> None:
    namespace = f"seedcli{uuid.uuid4().hex[:8]}"
    args = ["seed", str(RULES), "--baseline", "50", "--now", "2026-01-15T12:00:00Z",
            "--namespace", namespace, "--es-url", es_url, "--format", "json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    created = json.loads(first.stdout)
    assert created["created"] > 50 and created["failed"] == 0
    assert created["target"] == f"logs-aws.cloudtrail-{namespace}"
    again = json.loads(CliRunner().invoke(app, args).stdout)
    assert (again["created"], again["existing"]) == (0, created["created"])


def test_dry_run_writes_the_bulk_body(tmp_path: Path) -> None:
    out = tmp_path / "bulk.ndjson"
    result = CliRunner().invoke(app, ["seed", str(RULES), "--dry-run", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines and len(lines) % 2 == 0
    action, source = json.loads(lines[0]), json.loads(lines[1])
    assert action["create"]["_index"] == "logs-aws.cloudtrail-default"
    assert source["event"]["provider"]
