"""`kmsdet generate` text: the fields the query reads by default, whole documents on --full."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kmsdet.cli import app

RULE = Path(__file__).resolve().parents[3] / "rules" / "aws_kms" / \
    "impact_kms_imported_key_material_deleted.toml"
runner = CliRunner()


def test_default_text_shows_the_fields_that_matter() -> None:
    result = runner.invoke(app, ["generate", str(RULE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) < 80  # was 500+ for this one-clause-per-field rule
    assert '   event.action: "DeleteImportedKeyMaterial"' in lines
    assert '   event.provider: "iam.amazonaws.com"' in lines  # the near miss's broken value
    assert "--full prints whole documents" in result.output
    assert '"request_id"' not in result.output  # no whole documents


def test_full_and_json_keep_whole_documents() -> None:
    full = runner.invoke(app, ["generate", str(RULE), "--full"])
    assert full.exit_code == 0 and '"request_id"' in full.output
    assert len(full.output.splitlines()) > 200
    data = json.loads(runner.invoke(app, ["generate", str(RULE), "--format", "json"]).output)
    assert "request_id" in data["firing"][0]["document"]["aws"]["cloudtrail"]
