"""Properties of the mapping over records with empty values scattered anywhere.

The pipeline ends with a pass that removes null, "" and empty maps/lists from the document; the
emulation guarantees the same result by construction, which this test holds it to.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.identities import IDENTITY_TYPES
from kmsdet.cloudtrail.integration import CURRENT, PIPELINES, Pipeline
from kmsdet.cloudtrail.kms_apis import KMS_APIS
from kmsdet.cloudtrail.service_apis import SERVICE_APIS
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
       seed=st.integers(0, 1000), pipeline=st.sampled_from(PIPELINES),
       actor_target=st.booleans())
def test_no_empty_values_survive(event_name: str, identity: str,
                                 holes: list[tuple[str, Any]], seed: int, pipeline: Pipeline,
                                 actor_target: bool) -> None:
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
    doc = to_ecs(record, ingested=AT, integration=pipeline, actor_target=actor_target)
    if doc["event"].get("kind") == "pipeline_error":
        doc.pop("json", None)  # the failure handler keeps the leftovers as they are
    assert empties_in(doc) == []
    assert doc["event"]["outcome"] in ("success", "failure")


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.name for p in PIPELINES])
@pytest.mark.parametrize("identity", IDENTITY_TYPES)
def test_every_api_and_identity_maps_without_error(pipeline: Pipeline, identity: str) -> None:
    """What the builder writes, the pipeline of each version takes without failing, and the
    current one's identity fields are where its documents have them."""
    for event_name in sorted(KMS_APIS) + sorted(SERVICE_APIS):
        record = build_record({"eventName": event_name, "userIdentity": {"type": identity}},
                              rng=random.Random(7), at=AT)
        doc = to_ecs(record, ingested=AT, integration=pipeline)
        assert doc["event"]["kind"] == "event", (event_name, doc.get("error"))
        ident = record["userIdentity"]
        if pipeline is CURRENT:
            assert doc["cloud"]["provider"] == "aws"
            assert doc["cloud"]["service"]["name"] == record["eventSource"].split(".")[0]
            if "arn" in ident:
                assert doc["user"]["id"] == ident["arn"]
                assert doc["user"]["id"] in doc["related"]["user"]
            if "principalId" in ident:
                assert doc["aws"]["cloudtrail"]["user_identity"]["principal_id"] == \
                    ident["principalId"]
            if "ip" in doc.get("source", {}):
                assert doc["related"]["ip"] == [doc["source"]["ip"]]
        elif "principalId" in ident:
            assert doc["user"]["id"] == ident["principalId"]
