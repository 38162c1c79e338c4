"""Properties of the mapping over records with empty values scattered anywhere.

The pipeline ends with a pass that removes null, "" and empty maps/lists from the document; the
emulation guarantees the same result by construction, which this test holds it to.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.kms_apis import KMS_APIS
from kmsdet.cloudtrail.to_ecs import to_ecs

AT = datetime(2024, 9, 11, 9, 29, 16, tzinfo=timezone.utc)
EMPTIES = st.sampled_from([None, "", "-", "none", {}, [], [None, ""], {"a": None}])
PATHS = st.sampled_from([
    "userIdentity.userName", "userIdentity.arn", "userIdentity.principalId",
    "userIdentity.accountId", "userIdentity.sessionContext.sessionIssuer.userName",
    "userIdentity.sessionContext.attributes.creationDate", "userIdentity.invokedBy",
    "sourceIPAddress", "userAgent", "awsRegion", "eventSource", "recipientAccountId",
    "requestParameters", "requestParameters.keyId", "responseElements",
    "responseElements.keyId", "additionalEventData", "resources", "tlsDetails",
    "tlsDetails.tlsVersion", "tlsDetails.cipherSuite", "errorCode", "errorMessage",
    "eventCategory", "eventType", "readOnly", "userIdentity",
])


def empties_in(node: Any, path: str = "") -> list[str]:
    if isinstance(node, dict):
        found = [path] if not node else []
        for key, value in node.items():
            found += empties_in(value, f"{path}.{key}")
        return found
    if isinstance(node, list):
        found = [path] if not node else []
        for index, value in enumerate(node):
            found += empties_in(value, f"{path}[{index}]")
        return found
    return [path] if node is None or node == "" else []


def nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


@settings(max_examples=150, deadline=None)
@given(event_name=st.sampled_from(sorted(KMS_APIS)),
       identity=st.sampled_from(["IAMUser", "AssumedRole", "Root", "AWSService", "AWSAccount",
                                 "FederatedUser", "IdentityCenterUser"]),
       holes=st.lists(st.tuples(PATHS, EMPTIES), max_size=4),
       seed=st.integers(0, 1000))
def test_no_empty_values_survive(event_name: str, identity: str,
                                 holes: list[tuple[str, Any]], seed: int) -> None:
    record = build_record({"eventName": event_name, "userIdentity": {"type": identity}},
                          rng=random.Random(seed), at=AT)
    for path, value in holes:
        node = record
        parts = path.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = copy.deepcopy(value)  # sampled values are shared objects
    doc = to_ecs(record, ingested=AT)
    if doc["event"].get("kind") == "pipeline_error":
        doc.pop("json", None)  # the failure handler keeps the leftovers as they are
    assert empties_in(doc) == []
    assert doc["event"]["outcome"] in ("success", "failure")
