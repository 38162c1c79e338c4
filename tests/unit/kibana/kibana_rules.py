"""Rules for the kibana unit tests, built from the seed rule so they stay realistic."""

from __future__ import annotations

from pathlib import Path

from kmsdet.rules.loader import load_text
from kmsdet.rules.model import Rule

SEED = Path(__file__).resolve().parents[3] / "rules" / "aws_kms" / \
    "impact_kms_imported_key_material_deleted.toml"


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def rule_from(text: str, name: str = "rule.toml") -> Rule:
    result = load_text(text, Path(name))
    assert result.rule is not None, result.problems
    return result.rule


def seed_rule(replace: dict[str, str] | None = None, append: str = "") -> Rule:
    text = seed_text()
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return rule_from(text + append)
