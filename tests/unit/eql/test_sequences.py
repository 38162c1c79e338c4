"""Sequence, sample and limit behaviour of one run, from Elasticsearch's EQL documentation."""

from __future__ import annotations

from typing import Any

from kmsdet.eql import EqlProgram
from kmsdet.fields.schema import FieldSchema

from .conftest import event

PAIR = ('sequence by user.name with maxspan=10m [any where event.action == "A"] '
        '[any where event.action == "B"]')


def run(query: str, docs: list[dict[str, Any]], schema: FieldSchema,
        size: int = 100, **options: Any) -> list[list[str]]:
    program = EqlProgram(query, schema, **options)
    return [[f'{e["event"]["action"]}@{e["@timestamp"][11:19]}' for e in m.events]
            for m in program.run(docs, size=size)]


def test_events_in_order_same_key_inside_maxspan_make_a_sequence(
        cloudtrail_schema: FieldSchema) -> None:
    docs = [event(0, "A"), event(5, "B")]
    assert run(PAIR, docs, cloudtrail_schema) == [["A@00:00:00", "B@00:05:00"]]


def test_wrong_order_other_key_or_outside_maxspan_do_not(cloudtrail_schema: FieldSchema) -> None:
    assert run(PAIR, [event(0, "B"), event(1, "A")], cloudtrail_schema) == []
    assert run(PAIR, [event(0, "A"), event(1, "B", "bob")], cloudtrail_schema) == []
    assert run(PAIR, [event(0, "A"), event(10.5, "B")], cloudtrail_schema) == []


def test_maxspan_is_inclusive(cloudtrail_schema: FieldSchema) -> None:
    assert len(run(PAIR, [event(0, "A"), event(10, "B")], cloudtrail_schema)) == 1


def test_the_most_recent_pending_sequence_overwrites_older_ones(
        cloudtrail_schema: FieldSchema) -> None:
    """The documented state machine: A1 A2 B1 gives one sequence, (A2, B1)."""
    docs = [event(0, "A"), event(1, "A"), event(2, "B"), event(3, "B")]
    assert run(PAIR, docs, cloudtrail_schema) == [["A@00:01:00", "B@00:02:00"]]


def test_an_event_can_serve_two_steps_of_different_sequences(
        cloudtrail_schema: FieldSchema) -> None:
    query = "sequence [any where true] [any where true]"
    docs = [event(0, "X"), event(1, "Y"), event(2, "Z")]
    assert run(query, docs, cloudtrail_schema) == [["X@00:00:00", "Y@00:01:00"],
                                                   ["Y@00:01:00", "Z@00:02:00"]]


def test_until_between_events_expires_the_sequence_but_not_after(
        cloudtrail_schema: FieldSchema) -> None:
    """The documented example: A,B and A,B,C match; A,C,B does not."""
    query = ('sequence by user.name [any where event.action == "A"] '
             '[any where event.action == "B"] until [any where event.action == "C"]')
    docs = [event(0, "A", "ab"), event(1, "B", "ab"),
            event(0, "A", "abc"), event(1, "B", "abc"), event(2, "C", "abc"),
            event(0, "A", "acb"), event(1, "C", "acb"), event(2, "B", "acb")]
    found = run(query, docs, cloudtrail_schema)
    assert len(found) == 2
    assert all("C" not in "".join(seq) for seq in found)


def test_runs_repeats_a_step(cloudtrail_schema: FieldSchema) -> None:
    query = ('sequence by user.name [any where event.action == "G"] with runs=3 '
             '[any where event.action == "D"]')
    assert run(query, [event(0, "G"), event(1, "G"), event(2, "D")], cloudtrail_schema) == []
    three = [event(0, "G"), event(1, "G"), event(2, "G"), event(3, "D")]
    assert len(run(query, three, cloudtrail_schema)) == 1


def test_per_step_keys_join_different_fields(cloudtrail_schema: FieldSchema) -> None:
    query = ('sequence [any where event.action == "A"] by user.name '
             '[any where event.action == "B"] by user.target.name')
    target = event(1, "B", "bob")
    target["user"]["target"] = {"name": "alice"}
    docs = [event(0, "A", "alice"), target]
    assert len(run(query, docs, cloudtrail_schema)) == 1


def test_null_join_keys_never_join_unless_the_key_is_optional(
        cloudtrail_schema: FieldSchema) -> None:
    docs = [event(0, "A"), event(1, "B")]
    for doc in docs:
        del doc["user"]
    assert run(PAIR, docs, cloudtrail_schema) == []
    optional = PAIR.replace("by user.name", "by ?user.name")
    assert len(run(optional, docs, cloudtrail_schema)) == 1


def test_missing_event_between_steps_drops_the_sequence(cloudtrail_schema: FieldSchema) -> None:
    query = ('sequence by user.name with maxspan=10m [any where event.action == "A"] '
             '![any where event.action == "X"] [any where event.action == "B"]')
    assert len(run(query, [event(0, "A"), event(2, "B")], cloudtrail_schema)) == 1
    assert run(query, [event(0, "A"), event(1, "X"), event(2, "B")], cloudtrail_schema) == []
    other_user = [event(0, "A"), event(1, "X", "bob"), event(2, "B")]
    assert len(run(query, other_user, cloudtrail_schema)) == 1


def test_trailing_missing_event_within_maxspan(cloudtrail_schema: FieldSchema) -> None:
    query = ('sequence by user.name with maxspan=5m [any where event.action == "A"] '
             '![any where event.action == "X"]')
    assert len(run(query, [event(0, "A")], cloudtrail_schema)) == 1
    assert run(query, [event(0, "A"), event(4, "X")], cloudtrail_schema) == []
    assert len(run(query, [event(0, "A"), event(6, "X")], cloudtrail_schema)) == 1


def test_sample_ignores_order(cloudtrail_schema: FieldSchema) -> None:
    query = 'sample by user.name [any where event.action == "A"] [any where event.action == "B"]'
    docs = [event(0, "B"), event(1, "A"), event(2, "B", "bob")]
    assert run(query, docs, cloudtrail_schema) == [["A@00:01:00", "B@00:00:00"]]


def test_size_limits_sequences_and_events(cloudtrail_schema: FieldSchema) -> None:
    docs = [event(i, a, f"user{i}") for i in range(5) for a in "AB"]
    assert len(run(PAIR, docs, cloudtrail_schema, size=3)) == 3
    assert len(run('any where event.action == "A"', docs, cloudtrail_schema, size=2)) == 2


def test_sequences_are_ordered_by_their_first_event(cloudtrail_schema: FieldSchema) -> None:
    docs = [event(0, "A", "late"), event(1, "A", "early"), event(2, "B", "early"),
            event(3, "B", "late")]
    found = run(PAIR, docs, cloudtrail_schema)
    assert found == [["A@00:00:00", "B@00:03:00"], ["A@00:01:00", "B@00:02:00"]]


def test_timestamp_field_orders_events_and_ties_fall_to_the_tiebreaker(
        cloudtrail_schema: FieldSchema) -> None:
    query = "sequence [any where event.action == \"A\"] [any where event.action == \"B\"]"
    b, a = event(0, "B"), event(0, "A")
    b["event"]["sequence"], a["event"]["sequence"] = 2, 1
    assert run(query, [b, a], cloudtrail_schema) == []  # same time: indexing order, B first
    assert len(run(query, [b, a], cloudtrail_schema, tiebreaker_field="event.sequence")) == 1


def test_documents_without_the_timestamp_are_not_searched(cloudtrail_schema: FieldSchema) -> None:
    doc = event(0, "A")
    del doc["@timestamp"]
    assert run('any where event.action == "A"', [doc], cloudtrail_schema) == []


def test_event_time_fast_path_equals_the_date_field_conversion(
        cloudtrail_schema: FieldSchema) -> None:
    """The ISO fast path of the ordering time must equal the date field's indexed value."""
    from datetime import datetime, timedelta, timezone

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kmsdet.kql.matcher import _Doc

    program = EqlProgram('any where true', cloudtrail_schema)
    reader = program.timestamp

    @settings(max_examples=300, deadline=None)
    @given(st.integers(0, 4_000_000_000_000), st.booleans())
    def check(millis: int, with_fraction: bool) -> None:
        moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=millis)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (
            f".{moment.microsecond // 1000:03d}Z" if with_fraction else "Z")
        fast = program._stamp(_Doc({"@timestamp": text}))
        slow = min(reader.read(_Doc({"@timestamp": [text]})))  # a list skips the fast path
        assert fast == slow

    check()


def test_an_event_that_is_both_step_and_until_extends_then_expires(
        cloudtrail_schema: FieldSchema) -> None:
    """Elasticsearch takes the nearest until event strictly before the event being added and
    rejects it when it lies at or after the sequence's last event (inclusive bounds)."""
    two = ('sequence by user.name [any where event.action == "A"] '
           '[any where event.action == "B"] until [any where event.action == "B"]')
    assert len(run(two, [event(0, "A"), event(1, "B")], cloudtrail_schema)) == 1
    three = two.replace('until', '[any where event.action == "C"] until')
    assert run(three, [event(0, "A"), event(1, "B"), event(2, "C")], cloudtrail_schema) == []
