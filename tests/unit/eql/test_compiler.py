"""Condition semantics, each from Elasticsearch's EQL documentation or its query translation."""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.eql import EqlProgram
from kmsdet.eql.fields import EqlTypeError
from kmsdet.fields.schema import FieldSchema

from .conftest import event


def matches(query: str, doc: dict[str, Any], schema: FieldSchema) -> bool:
    program = EqlProgram(query, schema)
    return bool(program.run([doc], size=10))


DOC = event(0, "PutKeyPolicy", "Alice", source={"ip": "10.1.2.3"},
            aws={"cloudtrail": {"user_identity": {"type": "IAMUser"}}})


@pytest.mark.parametrize(("query", "expected"), [
    ('any where user.name == "Alice"', True),
    ('any where user.name == "alice"', False),  # == is case-sensitive
    ('any where user.name : "alice"', True),  # : is case-insensitive
    ('any where user.name : "AL*"', True),  # : expands * ...
    ('any where user.name : "Alic?"', True),  # ... and ? (one character)
    ('any where user.name : "Ali?"', False),
    ('any where user.name == "Al*"', False),  # == never expands wildcards
    ('any where user.name like "Al*"', True),
    ('any where user.name like "al*"', False),  # like is case-sensitive
    ('any where user.name like~ "al*"', True),
    ('any where user.name regex "A.ic[e]"', True),
    ('any where user.name regex~ "a.ice"', True),
    ('any where user.name in ("alice", "bob")', False),
    ('any where user.name in~ ("alice", "bob")', True),
    ('any where user.name not in ("alice", "bob")', True),
    ('any where user.name : ("bob", "ali*")', True),
    ('any where startsWith(user.name, "al")', False),  # functions are case-sensitive ...
    ('any where startsWith~(user.name, "al")', True),  # ... unless called with ~
    ('any where endsWith~(user.name, "CE")', True),
    ('any where stringContains(user.name, "lic")', True),
    ('any where length(user.name) == 5', True),
    ('any where cidrMatch(source.ip, "10.0.0.0/8")', True),
    ('any where cidrMatch(source.ip, "192.168.0.0/16", "172.16.0.0/12")', False),
    ('any where source.ip == "10.1.2.3"', True),
    ('iam where true', True),
    ('process where true', False),  # the category is event.category
    ('any where ?user.id == null', True),
    ('any where user.name != null', True),
])
def test_conditions(query: str, expected: bool, cloudtrail_schema: FieldSchema) -> None:
    assert matches(query, DOC, cloudtrail_schema) is expected


def test_not_equal_and_negations_hold_for_documents_without_the_field(
        cloudtrail_schema: FieldSchema) -> None:
    """Elasticsearch pushes these down as must_not queries, which match missing fields."""
    doc = event(0, "PutKeyPolicy")
    del doc["user"]
    assert matches('any where user.name != "bob"', doc, cloudtrail_schema)
    assert matches('any where not user.name : "bob"', doc, cloudtrail_schema)
    assert not matches('any where user.name : "*"', doc, cloudtrail_schema)


def test_functions_on_missing_fields_are_null_and_not_null_is_null(
        cloudtrail_schema: FieldSchema) -> None:
    doc = event(0, "PutKeyPolicy")
    del doc["user"]
    assert not matches('any where length(user.name) > 0', doc, cloudtrail_schema)
    assert not matches('any where not (length(user.name) > 0)', doc, cloudtrail_schema)


def test_multi_valued_fields_match_when_any_value_does(cloudtrail_schema: FieldSchema) -> None:
    doc = event(0, "x", related={"user": ["bob", "carol"]})
    assert matches('any where related.user == "carol"', doc, cloudtrail_schema)
    assert not matches('any where related.user != "carol"', doc, cloudtrail_schema)


def test_integer_division_truncates_as_documented(cloudtrail_schema: FieldSchema) -> None:
    doc = event(0, "x", process={"args_count": 3})
    assert matches("any where divide(4, process.args_count) == 1", doc, cloudtrail_schema)
    assert not matches("any where divide(4.0, process.args_count) == 1", doc, cloudtrail_schema)
    assert matches("any where (4 / process.args_count) == 1", doc, cloudtrail_schema)


@pytest.mark.parametrize("query", [
    'any where user.name == 1',  # a keyword compared with a number
    'any where source.ip == "not-an-ip"',
    'any where source.ip : "10.*"',  # : compares strings only
    'any where cidrMatch(user.name, "10.0.0.0/8")',
])
def test_type_errors_elasticsearch_raises_fail_at_compile_time(
        query: str, cloudtrail_schema: FieldSchema) -> None:
    with pytest.raises(EqlTypeError):
        EqlProgram(query, cloudtrail_schema)


def test_prefilter_keeps_documents_of_any_step_including_until(
        cloudtrail_schema: FieldSchema) -> None:
    program = EqlProgram('sequence [any where event.action == "A"] [any where event.action == '
                         '"B"] until [any where event.action == "C"]', cloudtrail_schema)
    assert [program.prefilter(event(0, a)) for a in "ABCD"] == [True, True, True, False]


def test_fields_read_as_the_kql_matcher_reads_them(cloudtrail_schema: FieldSchema) -> None:
    """Dotted keys, nested objects and arrays of objects are one field to both languages."""
    doc = event(0, "x")
    doc["aws.cloudtrail.user_identity"] = {"type": "Root"}
    doc["aws"] = {"cloudtrail": {"resources": [{"arn": "a1"}, {"arn": "a2"}]}}
    assert matches('any where aws.cloudtrail.user_identity.type == "Root"', doc,
                   cloudtrail_schema)
    assert matches('any where aws.cloudtrail.resources.arn == "a2"', doc, cloudtrail_schema)
