"""The registry of AWS integration package versions and the pipeline behaviour each runs."""

from __future__ import annotations

import pytest

from kmsdet.cloudtrail.integration import (
    CURRENT,
    ENV_VAR,
    LEGACY,
    NEWEST,
    PIPELINES,
    RANGES,
    SESSION_RELATED,
    Pipeline,
    list_ranges,
    resolve,
    select,
    selected,
    using,
)
from kmsdet.errors import UsageError


@pytest.mark.parametrize(("text", "pipeline"), [
    ("2.17.0", LEGACY), ("5.3.0", LEGACY), ("6.4.2", LEGACY), ("7.0.0", LEGACY),
    ("7.0.1", CURRENT), ("7.0.9", CURRENT),
    ("7.1.0", SESSION_RELATED), ("7.1.2", SESSION_RELATED), ("7.1.3", CURRENT),
    ("7.2.0", SESSION_RELATED), ("7.2.1", CURRENT),
    ("7.3.0", SESSION_RELATED), ("7.3.1", CURRENT), ("7.4.0", CURRENT), ("8.0.0", CURRENT),
    ("7.1", SESSION_RELATED), ("v7.3.1", CURRENT), ("7.1.0-preview01", SESSION_RELATED),
    ("current", CURRENT), ("latest", CURRENT), ("0b97ab02", LEGACY), (" CURRENT ", CURRENT),
])
def test_version_to_pipeline(text: str, pipeline: Pipeline) -> None:
    assert resolve(text) is pipeline


@pytest.mark.parametrize("text", ["", "seven", "7", "7.x", "1.2.3.4"])
def test_bad_version_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve(text, source="config: aws_integration")
    assert caught.value.field == "config: aws_integration"
    assert "--list-aws-integrations" in (caught.value.hint or "")


def test_ranges_are_contiguous_oldest_first_and_end_with_the_newest() -> None:
    assert RANGES[0].low is None and RANGES[-1].high is None
    for before, after in zip(RANGES, RANGES[1:], strict=False):
        assert before.high == after.low
    assert RANGES[-1].pipeline is NEWEST is CURRENT is PIPELINES[-1]


def test_listing_has_one_line_per_range_oldest_first() -> None:
    lines = list_ranges()
    assert len(lines) == len(RANGES)
    assert lines[0].startswith("< 7.0.1") and "0b97ab02" in lines[0]
    assert lines[2].startswith("7.1.0 - <7.1.3") and "related.user" in lines[2]
    assert lines[4].startswith("7.2.0 ")
    assert lines[-1].startswith(">= 7.3.1") and "user.id = identity ARN" in lines[-1]


def test_selection_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    select(None)
    assert selected() is NEWEST
    monkeypatch.setenv(ENV_VAR, "7.1.1")
    assert selected() is SESSION_RELATED
    with using(LEGACY):
        assert selected() is LEGACY
    assert selected() is SESSION_RELATED
    monkeypatch.setenv(ENV_VAR, "nope")
    with pytest.raises(UsageError) as caught:
        selected()
    assert caught.value.field == ENV_VAR
