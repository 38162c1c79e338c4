"""Java Map.toString in HashMap order: the orders the reference verified against the fixtures."""

from __future__ import annotations

import pytest

from kmsdet.cloudtrail.javamap import (
    hashmap_order,
    java_double_to_string,
    java_string_hash,
    java_to_string,
    to_java_order,
)

# (JSON insertion order, HashMap iteration order). The first seven are the reference's
# (cloudtrail.md §2.3); the rest come from the integration's AssumeRole expected output.
ORDER_VECTORS = [
    (["keyId", "pendingWindowInDays"], ["pendingWindowInDays", "keyId"]),
    (["deletionDate", "keyId", "keyState", "pendingWindowInDays"],
     ["pendingWindowInDays", "deletionDate", "keyState", "keyId"]),
    (["keyId", "policyName", "policy", "bypassPolicyLockoutSafetyCheck"],
     ["policyName", "keyId", "bypassPolicyLockoutSafetyCheck", "policy"]),
    (["keyId", "keyMaterialId"], ["keyMaterialId", "keyId"]),
    (["keyId", "validTo", "expirationModel", "importType", "keyMaterialDescription"],
     ["expirationModel", "importType", "keyId", "keyMaterialDescription", "validTo"]),
    (["keyId", "constraints", "operations", "granteePrincipal"],
     ["operations", "keyId", "constraints", "granteePrincipal"]),
    (["encryptionContext", "keyId", "encryptionAlgorithm"],
     ["keyId", "encryptionAlgorithm", "encryptionContext"]),
    (["incomingTransitiveTags", "tags", "roleArn", "roleSessionName", "transitiveTagKeys",
      "durationSeconds"],
     ["incomingTransitiveTags", "transitiveTagKeys", "durationSeconds", "roleArn",
      "roleSessionName", "tags"]),
    (["value", "key"], ["value", "key"]),
    (["credentials", "assumedRoleUser"], ["assumedRoleUser", "credentials"]),
    (["accessKeyId", "expiration", "sessionToken"], ["accessKeyId", "sessionToken", "expiration"]),
    (["assumedRoleId", "arn"], ["assumedRoleId", "arn"]),
]


@pytest.mark.parametrize(("inserted", "iterated"), ORDER_VECTORS,
                         ids=[",".join(v[0])[:40] for v in ORDER_VECTORS])
def test_hashmap_iteration_order(inserted: list[str], iterated: list[str]) -> None:
    assert hashmap_order(inserted) == iterated


@pytest.mark.parametrize(("inserted", "iterated"), ORDER_VECTORS[:3])
def test_order_does_not_depend_on_json_order(inserted: list[str], iterated: list[str]) -> None:
    assert hashmap_order(reversed(inserted)) == iterated


@pytest.mark.parametrize(("text", "expected"), [
    ("", 0), ("a", 97), ("hello", 99162322), ("keyId", 101944282),
    ("polygenelubricants", -2147483648 & 0xFFFFFFFF),  # Java's Integer.MIN_VALUE hash
    ("\U0001F511", (31 * 0xD83D + 0xDD11) & 0xFFFFFFFF),  # UTF-16 surrogate pair
])
def test_java_string_hash(text: str, expected: int) -> None:
    assert java_string_hash(text) == expected


def test_colliding_keys_keep_insertion_order() -> None:
    # "Aa" and "BB" have the same Java hash, so they share a bucket in either order.
    assert java_string_hash("Aa") == java_string_hash("BB")
    assert hashmap_order(["Aa", "BB"]) == ["Aa", "BB"]
    assert hashmap_order(["BB", "Aa"]) == ["BB", "Aa"]


def test_thirteen_keys_resize_the_table() -> None:
    # More than 12 entries resize 16 -> 32 buckets, which moves keys with hash bit 4 set.
    keys = [f"k{i}" for i in range(13)]
    order = hashmap_order(keys)
    mask = 31
    spread = {k: (java_string_hash(k) ^ (java_string_hash(k) >> 16)) & mask for k in keys}
    assert order == sorted(keys, key=lambda k: (spread[k], keys.index(k)))
    assert order != hashmap_order(keys[:12]) + ["k12"]


@pytest.mark.parametrize(("value", "expected"), [
    ({"keyId": "k", "pendingWindowInDays": 7}, "{pendingWindowInDays=7, keyId=k}"),
    ({"a": [1, "x", True, None]}, "{a=[1, x, true, null]}"),
    ({"outer": {"keyId": "k", "keyMaterialId": "m"}}, "{outer={keyMaterialId=m, keyId=k}}"),
    ({"tags": [{"key": "Email", "value": "x@example.com"}]},
     "{tags=[{value=x@example.com, key=Email}]}"),
    ({"b": False, "d": 2.0}, "{b=false, d=2.0}"),
    ({}, "{}"),
    ("plain", "plain"),
])
def test_map_to_string(value: object, expected: str) -> None:
    assert java_to_string(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (2.0, "2.0"), (100.5, "100.5"), (0.001, "0.001"), (1e-4, "1.0E-4"), (1e7, "1.0E7"),
    (9999999.0, "9999999.0"), (12345678.0, "1.2345678E7"), (1e10, "1.0E10"), (-3.25, "-3.25"),
    (0.1, "0.1"), (1e23, "1.0E23"), (5e-324, "4.9E-324"), (-0.0, "-0.0"),
    (float("inf"), "Infinity"), (float("nan"), "NaN"),
])
def test_double_to_string(value: float, expected: str) -> None:
    assert java_double_to_string(value) == expected


def test_to_java_order_is_a_reordered_copy() -> None:
    original = {"keyId": "k", "pendingWindowInDays": 7,
                "nested": [{"keyId": "a", "keyMaterialId": "b"}]}
    ordered = to_java_order(original)
    assert ordered == original
    assert list(original) == ["keyId", "pendingWindowInDays", "nested"]
    assert list(ordered["nested"][0]) == ["keyMaterialId", "keyId"]


def _reference_hash(text: str) -> int:
    """Java's definition, one UTF-16 code unit at a time."""
    data = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h


@pytest.mark.parametrize("text", [
    "arn:aws:s3:::bucket/key_111122223333_AWS::S3::Object", "é" * 300, "x" * 5000,
    "mixed \U0001F511 text" * 10,
])
def test_fast_hash_matches_the_definition(text: str) -> None:
    assert java_string_hash(text) == _reference_hash(text)
