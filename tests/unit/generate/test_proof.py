"""KD308's prover: contradictions are proven, satisfiable queries never are."""

from __future__ import annotations

import pytest

from kmsdet.generate.proof import refute
from kmsdet.generate.solve import Oracle
from kmsdet.kql.parser import parse
from tests.unit.generate.conftest import NOW


@pytest.mark.parametrize(("query", "words"), [
    ("event.action: x and not event.action: x", "contradict"),
    ("b: *x* and not b: *x*", "contradict"),
    ('data_stream.dataset: "aws.guardduty"', "constant_keyword"),
    ('not data_stream.dataset: "aws.cloudtrail"', "every document"),
    ("event.action: x and not event.action: (x or y)", "contradict"),
    ("user.name: alice and not user.name.text: alice", "excludes"),
    ("source.ip: 10.1.2.3 and not source.ip: 10.0.0.0/8", "excludes"),
    ("event.action: x and not event.action: *", "excludes"),
    ("event.action: x and not x", "excludes"),
    ('data_stream.dataset: foo or (a: x and not a: x)', "constant_keyword"),
])
def test_contradictions_are_proven(cloudtrail, query: str, words: str) -> None:
    refutation = refute(parse(query), Oracle(cloudtrail, NOW))
    assert refutation is not None
    assert words in refutation.message


@pytest.mark.parametrize("query", [
    "event.action: x and event.action: y",  # an array holds both
    "source.as.number > 10 and source.as.number < 5",  # [11, 4]
    "event.action: x* and not event.action: xy",
    "source.ip: 10.0.0.0/8 and not source.ip: 10.1.2.3",
    "event.action: * and not event.outcome: *",
    'data_stream.dataset: "aws.cloudtrail"',
    "user.name.text: alice and not user.name: alice",  # text matches "Alice" too
])
def test_satisfiable_queries_are_not_refuted(cloudtrail, query: str) -> None:
    assert refute(parse(query), Oracle(cloudtrail, NOW)) is None
