"""scripts/gen_integration_fields.py on a small package tree laid out as the integrations repo."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import gen_integration_fields as gen  # noqa: E402


def _tree(root: Path) -> None:
    pkg = root / "packages" / "demo"
    (pkg / "data_stream" / "audit" / "fields").mkdir(parents=True)
    (pkg / "manifest.yml").write_text('name: demo\nversion: "1.2.3"\n')
    (pkg / "data_stream" / "audit" / "fields" / "base-fields.yml").write_text(
        "- name: '@timestamp'\n  external: ecs\n"
        "- name: event.dataset\n  type: constant_keyword\n  value: demo.audit\n")
    (pkg / "data_stream" / "audit" / "fields" / "fields.yml").write_text(
        "- name: demo.audit\n  type: group\n  fields:\n"
        "    - name: actor\n      type: keyword\n"
        "      multi_fields:\n        - name: text\n          type: match_only_text\n"
        "    - name: labels.*\n      type: object\n      object_type: keyword\n"
        "    - name: count\n      type: long\n")


def test_tables_are_flattened_with_versions(tmp_path: Path) -> None:
    _tree(tmp_path)
    out = tmp_path / "out.json"
    assert gen.main([str(tmp_path), "demo", "--out", str(out), "--note", "test"]) == 0
    data = json.loads(out.read_text())
    stream = data["packages"]["demo"]["data_streams"]["demo.audit"]
    assert data["packages"]["demo"]["version"] == "1.2.3"
    assert stream["index"] == "logs-demo.audit-*"
    assert stream["fields"] == {
        "demo.audit.actor": {"type": "keyword"},
        "demo.audit.actor.text": {"type": "match_only_text", "parent": "demo.audit.actor"},
        "demo.audit.count": {"type": "long"},
        "demo.audit.labels": {"type": "object", "object_type": "keyword"},
        "event.dataset": {"type": "constant_keyword", "value": "demo.audit"},
    }
