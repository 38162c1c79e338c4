"""Shapes of everyday non-KMS calls (S3, EC2, IAM, STS, Lambda, Secrets Manager).

They exist for the benign baseline: a KMS rule pack is only trustworthy if it stays silent on
the ordinary traffic around it, and that traffic is mostly other services. Shapes are kept
small but carry the fields the integration maps specially (S3 data events with
``additionalEventData``, IAM ``userName`` that feeds ``related.user``).
"""

from __future__ import annotations

from datetime import timedelta

from kmsdet.cloudtrail.calls import ApiCall, ApiSpec, CallContext
from kmsdet.cloudtrail.identities import ROLE_NAMES, USER_NAMES
from kmsdet.cloudtrail.values import aws_id, hex_string, java_human_date, token


def _bucket(ctx: CallContext) -> str:
    return f"app-data-{ctx.account}"


def _s3_object(ctx: CallContext, *, write: bool) -> ApiCall:
    bucket = _bucket(ctx)
    key = f"reports/{ctx.at:%Y/%m/%d}/{hex_string(ctx.rng, 8)}.parquet"
    size = ctx.rng.randrange(1_000, 5_000_000)
    additional = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                  "bytesTransferredIn": size if write else 0, "AuthenticationMethod": "AuthHeader",
                  "x-amz-id-2": hex_string(ctx.rng, 40),
                  "bytesTransferredOut": 0 if write else size}
    resources = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                 {"accountId": ctx.account, "type": "AWS::S3::Bucket",
                  "ARN": f"arn:aws:s3:::{bucket}"}]
    request = {"bucketName": bucket, "Host": f"{bucket}.s3.{ctx.region}.amazonaws.com", "key": key}
    return ApiCall(request, None, resources, additional, read_only=not write, management=False,
                   category="Data")


def _list_buckets(ctx: CallContext) -> ApiCall:
    return ApiCall({"Host": f"s3.{ctx.region}.amazonaws.com"}, None, None, read_only=True)


def _get_bucket_encryption(ctx: CallContext) -> ApiCall:
    bucket = _bucket(ctx)
    return ApiCall({"bucketName": bucket, "Host": f"{bucket}.s3.{ctx.region}.amazonaws.com",
                    "encryption": ""}, None,
                   [{"accountId": ctx.account, "type": "AWS::S3::Bucket",
                     "ARN": f"arn:aws:s3:::{bucket}"}], read_only=True)


def _ec2_describe(ctx: CallContext) -> ApiCall:
    return ApiCall({"maxResults": 1000, "instancesSet": {}, "filterSet": {}}, None, None,
                   read_only=True)


def _ec2_describe_plain(ctx: CallContext) -> ApiCall:
    return ApiCall({"filterSet": {}}, None, None, read_only=True)


def _iam_list(ctx: CallContext) -> ApiCall:
    return ApiCall(None, None, None, read_only=True)


def _iam_get_role(ctx: CallContext) -> ApiCall:
    return ApiCall({"roleName": ctx.rng.choice(ROLE_NAMES)}, None, None, read_only=True)


def _iam_get_user(ctx: CallContext) -> ApiCall:
    return ApiCall({"userName": ctx.rng.choice(USER_NAMES)}, None, None, read_only=True)


def _assume_role(ctx: CallContext) -> ApiCall:
    role = ctx.rng.choice(ROLE_NAMES)
    session = f"session-{hex_string(ctx.rng, 8)}"
    role_arn = f"arn:aws:iam::{ctx.account}:role/{role}"
    role_id = aws_id(ctx.rng, "AROA")
    session_token = "IQoJb3JpZ2luX2Vj" + token(ctx.rng, 64)
    response = {
        "credentials": {"accessKeyId": aws_id(ctx.rng, "ASIA", 20), "sessionToken": session_token,
                        "expiration": java_human_date(ctx.at + timedelta(hours=1))},
        "assumedRoleUser": {"assumedRoleId": f"{role_id}:{session}",
                            "arn": f"arn:aws:sts::{ctx.account}:assumed-role/{role}/{session}"},
    }
    return ApiCall({"roleArn": role_arn, "roleSessionName": session, "durationSeconds": 3600},
                   response,
                   [{"accountId": ctx.account, "type": "AWS::IAM::Role", "ARN": role_arn}],
                   read_only=True)


def _caller_identity(ctx: CallContext) -> ApiCall:
    return ApiCall(None, None, None, read_only=True)


def _lambda_list(ctx: CallContext) -> ApiCall:
    return ApiCall(None, None, None, read_only=True)


def _lambda_get(ctx: CallContext) -> ApiCall:
    name = ctx.rng.choice(("orders-api", "thumbnailer", "nightly-report"))
    return ApiCall({"functionName": name}, None, None, read_only=True)


def _get_secret_value(ctx: CallContext) -> ApiCall:
    secret = (f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:"
              f"prod/db-{hex_string(ctx.rng, 6)}")
    return ApiCall({"secretId": secret}, None, None, read_only=True)


SERVICE_APIS: dict[str, ApiSpec] = {
    "GetObject": ApiSpec("s3.amazonaws.com", lambda c: _s3_object(c, write=False), "s3.cp"),
    "PutObject": ApiSpec("s3.amazonaws.com", lambda c: _s3_object(c, write=True), "s3.cp"),
    "ListBuckets": ApiSpec("s3.amazonaws.com", _list_buckets, "s3.ls"),
    "GetBucketEncryption": ApiSpec("s3.amazonaws.com", _get_bucket_encryption,
                                   "s3api.get-bucket-encryption"),
    "DescribeInstances": ApiSpec("ec2.amazonaws.com", _ec2_describe, "ec2.describe-instances"),
    "DescribeVolumes": ApiSpec("ec2.amazonaws.com", _ec2_describe, "ec2.describe-volumes"),
    "DescribeSecurityGroups": ApiSpec("ec2.amazonaws.com", _ec2_describe_plain,
                                      "ec2.describe-security-groups"),
    "ListRoles": ApiSpec("iam.amazonaws.com", _iam_list, "iam.list-roles"),
    "ListUsers": ApiSpec("iam.amazonaws.com", _iam_list, "iam.list-users"),
    "GetRole": ApiSpec("iam.amazonaws.com", _iam_get_role, "iam.get-role"),
    "GetUser": ApiSpec("iam.amazonaws.com", _iam_get_user, "iam.get-user"),
    "AssumeRole": ApiSpec("sts.amazonaws.com", _assume_role, "sts.assume-role"),
    "GetCallerIdentity": ApiSpec("sts.amazonaws.com", _caller_identity,
                                 "sts.get-caller-identity"),
    "ListFunctions20150331": ApiSpec("lambda.amazonaws.com", _lambda_list,
                                     "lambda.list-functions"),
    "GetFunction20150331v2": ApiSpec("lambda.amazonaws.com", _lambda_get, "lambda.get-function"),
    "GetSecretValue": ApiSpec("secretsmanager.amazonaws.com", _get_secret_value,
                              "secretsmanager.get-secret-value"),
}
