"""ECS values back to raw CloudTrail overrides: the table and its refusals."""

from __future__ import annotations

import pytest

from kmsdet.cloudtrail.integration import CURRENT, LEGACY, SESSION_RELATED, Pipeline, using
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


ARN = "arn:aws:iam::111122223333:user/alice"


@pytest.mark.parametrize(("pipeline", "values", "overrides"), [
    (LEGACY, {"user.id": "AIDAEXAMPLE"}, {"userIdentity.principalId": "AIDAEXAMPLE"}),
    (SESSION_RELATED, {"user.id": "AIDAEXAMPLE"}, {"userIdentity.principalId": "AIDAEXAMPLE"}),
    (CURRENT, {"user.id": ARN}, {"userIdentity.arn": ARN}),
    (CURRENT, {"aws.cloudtrail.user_identity.principal_id": "AIDAEXAMPLE"},
     {"userIdentity.principalId": "AIDAEXAMPLE"}),
    (CURRENT, {"service.name": "ec2.amazonaws.com"},
     {"userIdentity.invokedBy": "ec2.amazonaws.com"}),
])
def test_inversion_follows_the_pipeline_version(pipeline: Pipeline, values: dict,
                                                 overrides: dict) -> None:
    result = invert(values, integration=pipeline)
    assert result.ok, result.problems
    assert result.overrides == overrides


def test_current_user_id_and_arn_must_agree() -> None:
    result = invert({"user.id": ARN, "aws.cloudtrail.user_identity.arn": ARN + "x"},
                    integration=CURRENT)
    assert any("different values" in p for p in result.problems)


def test_inversion_defaults_to_the_selected_pipeline() -> None:
    with using(LEGACY):
        assert invert({"user.id": "AIDAX"}).overrides == {"userIdentity.principalId": "AIDAX"}
    with using(CURRENT):
        assert invert({"user.id": ARN}).overrides == {"userIdentity.arn": ARN}
