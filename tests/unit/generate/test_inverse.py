"""ECS values back to raw CloudTrail overrides: the table and its refusals."""

from __future__ import annotations

import pytest

from kmsdet.generate.inverse import invert
from kmsdet.generate.solve import ABSENT


@pytest.mark.parametrize(("values", "overrides"), [
    ({"event.action": "DisableKey", "event.provider": "kms.amazonaws.com"},
     {"eventName": "DisableKey", "eventSource": "kms.amazonaws.com"}),
    ({"event.outcome": "failure"}, {"errorCode": "AccessDenied"}),
    ({"event.outcome": "failure", "aws.cloudtrail.error_code": "NotFoundException"},
     {"errorCode": "NotFoundException"}),
    ({"event.outcome": "success"}, {}),
    ({"aws.cloudtrail.user_identity.type": "AWSService"}, {"userIdentity.type": "AWSService"}),
    ({"aws.cloudtrail.user_identity.invoked_by": ABSENT}, {"userIdentity.invokedBy": "<absent>"}),
    ({"source.ip": "192.0.2.10", "user_agent.original": "aws-cli/2"},
     {"sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2"}),
    ({"cloud.region": "eu-west-1"}, {"awsRegion": "eu-west-1"}),
    ({"aws.cloudtrail.flattened.request_parameters.pendingWindowInDays": "7"},
     {"requestParameters.pendingWindowInDays": 7}),
    ({"aws.cloudtrail.flattened.request_parameters.operations": ["CreateGrant", "Decrypt"]},
     {"requestParameters.operations": ["CreateGrant", "Decrypt"]}),
    ({"user.name": "alice", "aws.cloudtrail.user_identity.type": "IAMUser"},
     {"userIdentity.type": "IAMUser", "userIdentity.userName": "alice"}),
    ({"user.name": "Admin"}, {"userIdentity.sessionContext.sessionIssuer.userName": "Admin"}),
    ({"aws.cloudtrail.resources.arn": "arn:aws:kms:us-east-1:1:key/k"},
     {"resources": [{"ARN": "arn:aws:kms:us-east-1:1:key/k", "type": "AWS::KMS::Key"}]}),
    ({"data_stream.dataset": "aws.cloudtrail", "event.kind": "event"}, {}),
])
def test_inversion_table(values: dict, overrides: dict) -> None:
    result = invert(values)
    assert result.ok, result.problems
    assert result.overrides == overrides


@pytest.mark.parametrize(("values", "words"), [
    ({"event.action": ["A", "B"]}, "several values"),
    ({"process.name": "curl"}, "no CloudTrail origin"),
    ({"event.outcome": "unknown"}, "not an outcome"),
    ({"source.ip": "192.0.2.1", "source.address": "198.51.100.1"}, "different values"),
])
def test_inversion_refusals(values: dict, words: str) -> None:
    result = invert(values)
    assert not result.ok
    assert any(words in p for p in result.problems)
