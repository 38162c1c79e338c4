"""Fixtures for the contract tier: a Kibana double on 127.0.0.1, and a target that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kmsdet.config import Secret, Target
from kmsdet.kibana.client import KibanaClient
from tests.contract.kibana_double import READ, KibanaDouble

API_KEY = "S3cr3t-ApiKey-Do-Not-Print-0123456789"
READ_ONLY_KEY = "ReadOnly-Secret-Key-9876543210"
PASSWORD = "Very-Secret-Password-42"
SEED_RULES = Path(__file__).resolve().parents[2] / "rules" / "aws_kms"



@pytest.fixture
def kibana() -> Iterator[KibanaDouble]:
    double = KibanaDouble(spaces=("default", "detections"))
    double.add_api_key(API_KEY)
    double.add_api_key(READ_ONLY_KEY, privilege=READ, name="viewer")
    double.add_user("deployer", PASSWORD)
    double.start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def target(kibana: KibanaDouble) -> Target:
    return Target(url=kibana.url, space="default", api_key=Secret(API_KEY), timeout=5.0)


@pytest.fixture
def client(target: Target) -> Iterator[KibanaClient]:
    with KibanaClient(target, retries=2, backoff=0.0, retry_after_cap=1.0) as c:
        yield c


@pytest.fixture
def seed_rules() -> Path:
    return SEED_RULES
