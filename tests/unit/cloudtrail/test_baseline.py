"""The benign baseline stream: deterministic, varied, ordered, free of KMS sabotage calls."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from kmsdet.cloudtrail.baseline import EXCLUDED_EVENT_NAMES, benign_baseline
from kmsdet.cloudtrail.to_ecs import to_ecs
from kmsdet.errors import UsageError

START = datetime(2024, 5, 1, tzinfo=timezone.utc)
SPAN = timedelta(hours=6)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return list(benign_baseline(3000, seed=3, start=START, span=SPAN))


def test_count_and_determinism(records: list[dict]) -> None:
    assert len(records) == 3000
    again = list(benign_baseline(3000, seed=3, start=START, span=SPAN))
    assert again == records
    other = list(benign_baseline(50, seed=4, start=START, span=SPAN))
    assert other != records[:50]


def test_time_order_and_window(records: list[dict]) -> None:
    times = [r["eventTime"] for r in records]
    assert times == sorted(times)
    assert times[0] >= "2024-05-01T00:00:00Z" and times[-1] < "2024-05-01T06:00:00Z"


def test_no_sabotage_calls(records: list[dict]) -> None:
    kms = [r for r in records if r["eventSource"] == "kms.amazonaws.com"]
    assert kms, "the baseline must exercise KMS"
    assert not {r["eventName"] for r in records} & EXCLUDED_EVENT_NAMES
    mutating_kms = {r["eventName"] for r in kms if not r["readOnly"]}
    assert mutating_kms <= {"EnableKeyRotation", "CreateGrant"}


def test_variety_of_services_identities_and_agents(records: list[dict]) -> None:
    sources = Counter(r["eventSource"] for r in records)
    assert {"kms.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com",
            "sts.amazonaws.com", "lambda.amazonaws.com"} <= set(sources)
    types = Counter(r["userIdentity"].get("type") for r in records)
    assert {"IAMUser", "AssumedRole", "AWSService", "AWSAccount"} <= set(types)
    principals = {r["userIdentity"].get("arn") for r in records} - {None}
    assert len(principals) >= 10
    agents = {r["userAgent"].split("/")[0].split(" ")[0] for r in records}
    assert {"aws-cli", "Boto3", "aws-sdk-java"} <= agents
    assert any(":" in r["sourceIPAddress"] for r in records)  # some IPv6 callers
    failures = [r for r in records if "errorCode" in r]
    assert failures and all(r["readOnly"] and r["responseElements"] is None for r in failures)


def test_every_record_maps_cleanly(records: list[dict]) -> None:
    for record in records[:500]:
        doc = to_ecs(record, ingested=START)
        assert doc["event"]["kind"] == "event"
        assert doc["event"]["action"] == record["eventName"]


def test_records_do_not_share_mutable_parts() -> None:
    fresh = list(benign_baseline(300, seed=9, start=START, span=SPAN))
    for record in fresh:
        record["userIdentity"].setdefault("sessionContext", {}).setdefault("attributes", {})[
            "marker"] = id(record)
    assert all(r["userIdentity"]["sessionContext"]["attributes"]["marker"] == id(r)
               for r in fresh)


def test_empty_and_invalid_requests() -> None:
    assert list(benign_baseline(0, seed=1, start=START, span=SPAN)) == []
    with pytest.raises(UsageError):
        list(benign_baseline(-1, seed=1, start=START, span=SPAN))
    with pytest.raises(UsageError):
        list(benign_baseline(1, seed=1, start=START, span=timedelta(0)))
