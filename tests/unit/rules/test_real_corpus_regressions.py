"""Regressions from linting a current copy of Elastic's prebuilt rules (2,440 files).

* KD501: the rule profiling tags Elastic added to most rules (``Noise:``, ``Performance:``,
  ``Profile:``) were "unknown prefixes".
* KD104: a threshold rule's alert suppression has only a duration (it suppresses on the
  threshold fields), yet ``group_by`` was required of every rule type.

The ES|QL false findings are covered in tests/unit/esql/test_newer_syntax.py.
"""

from __future__ import annotations

import pytest

from kmsdet.rules.checks.base import LintContext
from kmsdet.rules.checks.required import RequiredByType
from kmsdet.rules.lint import lint_results
from tests.unit.rules.rule_text import load, rule_text

TAGS = 'tags = ["Domain: Cloud", "Tactic: Impact"]'


def codes(text: str) -> list[str]:
    return [f.code for f in lint_results([load(text)]).findings]


@pytest.mark.parametrize("tag", [
    "Noise: Low", "Noise: Unknown", "Performance: Fast", "Performance: Very Slow",
    "Profile: Recommended", "Profile: Aggressive",
])
def test_profiling_tags_have_known_prefixes(tag: str) -> None:
    text = rule_text({TAGS: f'tags = ["Domain: Cloud", "Tactic: Impact", "{tag}"]'})
    assert not {"KD501", "KD502"} & set(codes(text))


def test_profiling_tags_are_held_to_their_spelling() -> None:
    text = rule_text({TAGS: 'tags = ["Domain: Cloud", "Tactic: Impact", "performance: very slow"]'})
    assert "KD502" in codes(text)
    text = rule_text({TAGS: 'tags = ["Domain: Cloud", "Tactic: Impact", "Noize: Low"]'})
    assert "KD501" in codes(text)


THRESHOLD = {
    'type = "query"': 'type = "threshold"',
    "[[rule.threat]]": '[rule.threshold]\nfield = ["user.name"]\nvalue = 5\n\n'
                       '[rule.alert_suppression]\nduration = {value = 1, unit = "h"}\n\n'
                       "[[rule.threat]]",
}


def test_threshold_suppression_needs_no_group_by() -> None:
    result = load(rule_text(THRESHOLD))
    assert result.rule is not None and not result.problems
    assert list(RequiredByType().check(result.rule, LintContext())) == []


def test_other_types_still_need_group_by() -> None:
    text = rule_text({"[[rule.threat]]": '[rule.alert_suppression]\nduration = {value = 1, '
                      'unit = "h"}\n\n[[rule.threat]]'})
    [finding] = RequiredByType().check(load(text).rule, LintContext())
    assert finding.message == "a query rule's alert_suppression needs 'group_by'"
    assert finding.line == text.splitlines().index("[rule.alert_suppression]") + 1
