"""FieldSchema lookups that the checks and the DSL generator rely on."""

from __future__ import annotations

from kmsdet.fields.schema import FieldInfo, FieldSchema

SCHEMA = FieldSchema(
    {
        "user.name": FieldInfo("user.name", "keyword"),
        "user.name.text": FieldInfo("user.name.text", "match_only_text", parent="user.name"),
        "user.na?e": FieldInfo("user.na?e", "keyword"),
        "aws.flat": FieldInfo("aws.flat", "flattened"),
        "labels": FieldInfo("labels", "object"),
        "aws.res": FieldInfo("aws.res", "object"),
        "aws.res.arn": FieldInfo("aws.res.arn", "keyword"),
    },
    object_types={"labels": "keyword"},
    raw_names={"eventName": "event.action", "requestParameters.*": "aws.flat.*"},
)


def test_expand_treats_only_star_as_wildcard() -> None:
    assert SCHEMA.expand("user.*") == ["user.na?e", "user.name", "user.name.text"]
    assert SCHEMA.expand("user.na?e") == ["user.na?e"]  # fnmatch would also give user.name
    assert SCHEMA.expand("user.[n]ame") == []
    assert SCHEMA.expand("*.text") == ["user.name.text"]


def test_flattened_and_object_sub_keys() -> None:
    assert SCHEMA.flattened_root("aws.flat.keyId").name == "aws.flat"
    assert SCHEMA.flattened_root("aws.flatter") is None
    assert SCHEMA.object_root("labels.env").name == "labels"
    assert SCHEMA.object_type("labels") == "keyword"
    assert SCHEMA.object_root("user.name") is None
    # An object whose sub-fields are listed is structure: other names under it are unknown.
    assert SCHEMA.object_root("aws.res.ARN") is None


def test_has_children_finds_implicit_objects() -> None:
    assert SCHEMA.has_children("user")
    assert SCHEMA.has_children("aws")
    assert not SCHEMA.has_children("use")
    assert not SCHEMA.has_children("user.name.text")


def test_suggest_prefers_known_aliases_then_spelling() -> None:
    assert SCHEMA.suggest("eventName") == ["event.action"]
    assert SCHEMA.suggest("requestParameters.keyId") == ["aws.flat.keyId"]
    assert SCHEMA.suggest("user.nmae")[0] == "user.name"
    assert SCHEMA.suggest("usr.name")[0] == "user.name"
    assert SCHEMA.suggest("aws.res.ARN") == ["aws.res.arn"]
    assert SCHEMA.suggest("aws.flt.keyId") == ["aws.flat.keyId"]
    assert SCHEMA.suggest("zzz") == []


def test_existing_constructor_still_works() -> None:
    schema = FieldSchema.from_types({"a": "keyword"})
    assert schema.complete and schema.get("a").type == "keyword" and len(schema) == 1
