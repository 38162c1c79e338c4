"""Writes corpus.toml: realistic KQL rule queries in Elastic's style, over the CloudTrail schema.

Run once at development time (``python tests/unit/generate/corpus/make_corpus.py``); the
output is committed so tests and bench/bench_generate.py read the same corpus. Each query is
built from a handful of templates crossed with AWS services and actions, then a hand-written
set covers every operator and field type the matcher supports.
"""

from __future__ import annotations

import json
from pathlib import Path

CT = ["logs-aws.cloudtrail-*"]
BOTH = ["filebeat-*", "logs-aws.cloudtrail-*"]
ECS = ["logs-*"]

SERVICES = {
    "kms.amazonaws.com": ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant",
                          "DeleteImportedKeyMaterial", "DisableKeyRotation", "ReplicateKey"],
    "iam.amazonaws.com": ["CreateAccessKey", "AttachUserPolicy", "CreateLoginProfile",
                          "UpdateAssumeRolePolicy", "DeactivateMFADevice", "PutUserPolicy"],
    "cloudtrail.amazonaws.com": ["StopLogging", "DeleteTrail", "UpdateTrail",
                                 "PutEventSelectors"],
    "s3.amazonaws.com": ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl",
                         "PutBucketReplication"],
    "ec2.amazonaws.com": ["ModifySnapshotAttribute", "AuthorizeSecurityGroupIngress",
                          "CreateKeyPair", "ModifyInstanceAttribute"],
    "sts.amazonaws.com": ["GetSessionToken", "AssumeRole", "GetFederationToken"],
}


def templated() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for provider, actions in SERVICES.items():
        first = actions[0]
        listed = " or ".join(f'"{a}"' for a in actions[:3])
        out.append({"name": f"{provider} {first} succeeded", "index": BOTH, "query": (
            f'event.dataset: "aws.cloudtrail" and event.provider: "{provider}" and '
            f'event.action: "{first}" and event.outcome: "success"')})
        out.append({"name": f"{provider} any of three by a non-service caller", "index": CT,
                    "query": (
            f'data_stream.dataset: "aws.cloudtrail" and event.provider: "{provider}" and '
            f'event.action: ({listed}) and event.outcome: "success" and not '
            'aws.cloudtrail.user_identity.type: "AWSService"')})
        out.append({"name": f"{provider} failures from outside the VPC", "index": CT, "query": (
            f'event.provider: {provider} and event.outcome: failure and '
            'aws.cloudtrail.error_code: (AccessDenied or "Client.UnauthorizedOperation") and '
            'not source.ip: (10.0.0.0/8 or 172.16.0.0/12 or 192.168.0.0/16)')})
        out.append({"name": f"{provider} calls by root", "index": BOTH, "query": (
            f'event.dataset: aws.cloudtrail and event.provider: {provider} and '
            'aws.cloudtrail.user_identity.type: Root and not '
            'aws.cloudtrail.user_identity.invoked_by: *')})
        for action in actions[1:]:
            out.append({"name": f"{action} from an unusual agent", "index": CT, "query": (
                f'event.provider: "{provider}" and event.action: "{action}" and '
                'event.outcome: "success" and not user_agent.original: (*aws-cli* or '
                '*Boto3* or *console.amazonaws.com* or *Terraform*)')})
    return out


HAND_WRITTEN: list[dict[str, object]] = [
    {"name": "wildcard prefix on action", "index": CT,
     "query": 'event.provider: iam.amazonaws.com and event.action: Delete* and '
              'event.outcome: success'},
    {"name": "wildcard infix on arn", "index": CT,
     "query": 'aws.cloudtrail.user_identity.arn: *\\:assumed-role/*Admin* and '
              'event.action: AssumeRole'},
    {"name": "wildcard suffix on action", "index": CT,
     "query": 'event.action: *Policy and event.provider: (iam.amazonaws.com or '
              's3.amazonaws.com) and not aws.cloudtrail.user_identity.type: AWSService'},
    {"name": "quoted literal star", "index": CT,
     "query": 'aws.cloudtrail.flattened.request_parameters.policyName: "*" and '
              'event.action: PutKeyPolicy'},
    {"name": "exists and not exists", "index": CT,
     "query": 'aws.cloudtrail.user_identity.access_key_id: * and not '
              'aws.cloudtrail.user_identity.session_context.session_issuer.arn: *'},
    {"name": "long range", "index": CT,
     "query": 'source.as.number >= 64512 and source.as.number <= 65534 and '
              'event.provider: sts.amazonaws.com'},
    {"name": "long exclusive range", "index": CT,
     "query": 'source.as.number > 100 and source.as.number < 102'},
    {"name": "date math lower bound", "index": CT,
     "query": '@timestamp >= now-1h and event.action: ConsoleLogin'},
    {"name": "absolute date window", "index": CT,
     "query": 'aws.cloudtrail.user_identity.session_context.creation_date >= "2024-01-01" '
              'and aws.cloudtrail.user_identity.session_context.creation_date < '
              '"2024-02-01T00:00:00Z"'},
    {"name": "date is a day", "index": CT,
     "query": 'event.ingested: 2024-03-05 and event.provider: kms.amazonaws.com'},
    {"name": "ip cidr v4", "index": CT,
     "query": 'source.ip: 203.0.113.0/24 and event.action: GetSecretValue'},
    {"name": "ip cidr v6", "index": CT,
     "query": 'source.ip: "2001:db8::/32" and not source.ip: "2001:db8:1::/48"'},
    {"name": "ip range", "index": CT,
     "query": 'source.ip >= 198.51.100.0 and source.ip <= 198.51.100.255'},
    {"name": "boolean false", "index": CT,
     "query": 'aws.cloudtrail.read_only: false and event.provider: ec2.amazonaws.com'},
    {"name": "boolean console mfa", "index": CT,
     "query": 'event.action: ConsoleLogin and '
              'aws.cloudtrail.console_login.additional_eventdata.mfa_used: false and '
              'event.outcome: success'},
    {"name": "flattened number", "index": CT,
     "query": 'event.action: ScheduleKeyDeletion and '
              'aws.cloudtrail.flattened.request_parameters.pendingWindowInDays: 7'},
    {"name": "flattened nested key", "index": CT,
     "query": 'event.action: ModifySnapshotAttribute and '
              'aws.cloudtrail.flattened.request_parameters.createVolumePermission.add.items.'
              'group: all'},
    {"name": "flattened root wildcard", "index": CT,
     "query": 'aws.cloudtrail.flattened.request_parameters: *ami-* and event.action: '
              'ModifyImageAttribute'},
    {"name": "flattened range", "index": CT,
     "query": 'aws.cloudtrail.flattened.request_parameters.pendingWindowInDays <= "7"'},
    {"name": "string payload wildcard", "index": CT,
     "query": 'event.action: RunInstances and aws.cloudtrail.request_parameters: '
              '*userData*'},
    {"name": "response wildcard", "index": CT,
     "query": 'event.action: CreateAccessKey and aws.cloudtrail.response_elements: '
              '*AKIA*'},
    {"name": "constant keyword wrong value (unsat)", "index": CT, "unsat": True,
     "query": 'data_stream.dataset: "aws.guardduty" and event.action: GetFindings'},
    {"name": "contradiction (unsat)", "index": CT, "unsat": True,
     "query": 'event.action: DisableKey and not event.action: DisableKey'},
    {"name": "text multi-field match", "index": CT,
     "query": 'user_agent.original.text: python and event.provider: s3.amazonaws.com'},
    {"name": "text phrase", "index": CT,
     "query": 'error.message: "is not authorized" and event.outcome: failure'},
    {"name": "text wildcard", "index": CT,
     "query": 'user.name.text: admin* and not user.name: admin'},
    {"name": "free text", "index": CT,
     "query": 'kmsdet and event.provider: kms.amazonaws.com'},
    {"name": "free text quoted", "index": CT,
     "query": '"AccessDenied" and event.action: Decrypt'},
    {"name": "wildcard field name", "index": CT,
     "query": 'aws.cloudtrail.user_identity.session_context.session_issuer.*: '
              '"arn:aws:iam::111122223333:role/Admin"'},
    {"name": "negated wildcard field name", "index": CT,
     "query": 'event.action: GetCallerIdentity and not user_agent.*: *python*'},
    {"name": "not of or", "index": CT,
     "query": 'event.provider: s3.amazonaws.com and not (event.action: GetObject or '
              'event.action: ListBuckets or event.action: HeadObject)'},
    {"name": "not of and", "index": CT,
     "query": 'event.action: AssumeRole and not (aws.cloudtrail.user_identity.type: '
              'AWSService and user_agent.original: *amazonaws.com)'},
    {"name": "or of ands", "index": CT,
     "query": '(event.action: StopLogging and event.outcome: success) or '
              '(event.action: DeleteTrail and aws.cloudtrail.user_identity.type: Root)'},
    {"name": "value list and", "index": CT,
     "query": 'related.user: (alice and bob) and event.action: AttachUserPolicy'},
    {"name": "value list not", "index": CT,
     "query": 'event.action: (not Describe* and not List* and not Get*) and '
              'event.provider: ec2.amazonaws.com'},
    {"name": "several values one field", "index": CT,
     "query": 'event.type: change and event.type: creation and event.category: iam'},
    {"name": "region outside", "index": CT,
     "query": 'event.provider: ec2.amazonaws.com and event.action: RunInstances and not '
              'cloud.region: (us-east-1 or us-west-2 or eu-west-1)'},
    {"name": "account mismatch", "index": CT,
     "query": 'event.action: CreateGrant and aws.cloudtrail.recipient_account_id: '
              '111122223333 and not cloud.account.id: 111122223333'},
    {"name": "resources arn", "index": CT,
     "query": 'aws.cloudtrail.resources.type: "AWS::KMS::Key" and '
              'aws.cloudtrail.resources.arn: arn\\:aws\\:kms\\:*'},
    {"name": "tls version", "index": CT,
     "query": 'tls.version: "1.0" or tls.version: "1.1"'},
    {"name": "geo exists", "index": CT,
     "query": 'source.geo.location: * and not source.geo.country_iso_code: (US or CA)'},
    {"name": "keyword range", "index": CT,
     "query": 'event.action >= "Delete" and event.action < "Deletf"'},
    {"name": "user identity type set", "index": CT,
     "query": 'aws.cloudtrail.user_identity.type: (IAMUser or AssumedRole or FederatedUser)'
              ' and event.action: GetSecretValue and event.outcome: success'},
    {"name": "escaped characters", "index": CT,
     "query": 'aws.cloudtrail.user_identity.arn: arn\\:aws\\:iam\\:\\:*\\:root and '
              'event.action: PutBucketPolicy'},
    {"name": "nested threat enrichment", "index": ECS,
     "query": 'threat.enrichments: { indicator.ip: 192.0.2.0/24 and matched.field: '
              'source.ip }'},
    {"name": "nested with negation", "index": ECS,
     "query": 'threat.enrichments: { indicator.type: ipv4-addr and not '
              'indicator.confidence: Low }'},
    {"name": "ecs process", "index": ECS,
     "query": 'process.name: (curl or wget) and process.args: *169.254.169.254* and not '
              'user.name: root'},
    {"name": "ecs numbers", "index": ECS,
     "query": 'destination.port: (22 or 3389) and network.bytes > 1000000'},
    {"name": "ecs float", "index": ECS,
     "query": 'event.risk_score >= 73.5 and event.risk_score < 99.9'},
    {"name": "ecs wildcard type", "index": ECS,
     "query": 'process.command_line: *--no-verify-ssl* and host.os.type: linux'},
    {"name": "labels object", "index": ECS,
     "query": 'labels.env: production and cloud.provider: aws'},
    {"name": "unknown field in shared index", "index": ECS,
     "query": 'custom.team: payments and custom.priority > 3'},
    {"name": "match all with filter", "index": CT,
     "query": '* and event.action: ListKeys'},
    {"name": "exists star star", "index": CT,
     "query": '*: * and not event.outcome: success'},
    {"name": "empty string value", "index": CT,
     "query": 'aws.cloudtrail.error_message: "" and event.outcome: failure'},
    {"name": "deep boolean", "index": CT,
     "query": '((event.action: A and not event.outcome: failure) or (event.action: B and '
              'source.ip: 10.0.0.0/8)) and not (user.name: alice or user.name: bob)'},
]


def main() -> None:
    rules = templated() + HAND_WRITTEN
    lines = ["# Generated by make_corpus.py: KQL rule queries for kmsdet generate.", ""]
    for rule in rules:
        lines.append("[[rule]]")
        lines.append(f"name = {json.dumps(rule['name'])}")
        lines.append(f"index = {json.dumps(rule['index'])}")
        if rule.get("unsat"):
            lines.append("unsat = true")
        lines.append(f"query = {json.dumps(rule['query'])}")
        lines.append("")
    Path(__file__).with_name("corpus.toml").write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(rules)} rules")


if __name__ == "__main__":
    main()
