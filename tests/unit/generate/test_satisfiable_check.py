"""Lint check KD308 (kmsdet/rules/checks/satisfiable.py): a query nothing can match."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.rules.lint import lint_paths
from tests.unit.rules.rule_text import line_of, rule_text

QUERY_LINE = 'and event.action: "DisableKey"'


@pytest.mark.parametrize(("line", "found"), [
    ('and event.action: "DisableKey" and not event.action: "DisableKey"', True),
    ('and data_stream.dataset: "aws.guardduty"', True),
    ('and event.action: "DisableKey" and event.action: "EnableKey"', False),
    ('and (data_stream.dataset: "aws.guardduty" or event.action: "DisableKey")', False),
    (QUERY_LINE, False),
])
def test_kd308(tmp_path: Path, line: str, found: bool) -> None:
    text = rule_text({QUERY_LINE: line})
    path = tmp_path / "rule.toml"
    path.write_text(text, encoding="utf-8")
    findings = [f for f in lint_paths([path], jobs=1).findings if f.code == "KD308"]
    assert bool(findings) is found
    if found:
        assert findings[0].severity.value == "error"
        assert findings[0].line == line_of(text, line)
        assert "no document can match" in findings[0].message
