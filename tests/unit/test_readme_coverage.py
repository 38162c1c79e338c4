"""The README's rule table is generated from the rules; this keeps it from drifting."""

from __future__ import annotations

import re
from pathlib import Path

from kmsdet.coverage import build_coverage, render_markdown
from kmsdet.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]


def test_readme_coverage_block_matches_the_rules() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- coverage:start -->\n(.*?)\n<!-- coverage:end -->", readme, re.S)
    assert block, "README.md lost its coverage markers"
    generated = render_markdown(build_coverage(load_rules([ROOT / "rules"]))).rstrip()
    assert block.group(1).rstrip() == generated, \
        "regenerate with: kmsdet coverage rules/ --format markdown"


def test_readme_says_what_make_test_needs_and_fetches() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## What `make test-rules` does")[0]
    for fact in ("Maven Central", "JDK 17+", "Maven", "112 MB", "PYTHON=python3.12"):
        assert fact in quick_start, fact


def test_readme_command_table_lists_every_command() -> None:
    from kmsdet.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands")[1].split("\n\n")[1]
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"`kmsdet {name}" in table or f"`kmsdet {name}`" in table, name
    for group in app.registered_groups:
        assert f"`kmsdet {group.name} " in table, group.name
