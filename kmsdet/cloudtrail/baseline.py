"""A benign background stream: the ordinary account activity a KMS rule must stay silent on.

A rule pack that only ever sees its own positive cases can match far too much and never notice.
This stream is what an account looks like on a normal day: applications decrypting and
generating data keys (directly or through S3, RDS and Secrets Manager), people and auditors
listing and describing keys, key administrators turning on rotation, and the bulk of traffic on
other services (S3, EC2, IAM, STS, Lambda, Secrets Manager), with a few access-denied read
calls. It contains no destructive or policy-changing KMS call (DisableKey, ScheduleKeyDeletion,
DeleteImportedKeyMaterial, PutKeyPolicy, ...): see :data:`EXCLUDED_EVENT_NAMES`.

The population of principals (with stable ids, keys, addresses and tools) is drawn once per
seed, as in a real account where the same few callers repeat; each record then only draws
its time, call and ids. That keeps 100,000 records at a few seconds.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kmsdet.cloudtrail.builder import DEFAULT_ACCOUNT, DEFAULT_REGION, api_spec, compose_record
from kmsdet.cloudtrail.callers import CLIENTS, Origin
from kmsdet.cloudtrail.calls import KeyRef
from kmsdet.cloudtrail.identities import build_identity
from kmsdet.cloudtrail.values import account_id as draw_account
from kmsdet.cloudtrail.values import cloudtrail_time, ipv4, ipv6, uuid4
from kmsdet.errors import UsageError

EXCLUDED_EVENT_NAMES = frozenset({
    "DisableKey", "ScheduleKeyDeletion", "DeleteImportedKeyMaterial", "ImportKeyMaterial",
    "PutKeyPolicy", "DisableKeyRotation", "DeleteAlias", "UpdateAlias", "RevokeGrant",
    "RetireGrant", "CancelKeyDeletion", "EnableKey", "ReplicateKey", "UntagResource",
    "DeleteKey", "GetParametersForImport", "UpdateKeyDescription",
})
"""KMS calls that change a key's usability or its policy; the baseline never contains them."""


@dataclass(frozen=True)
class _Principal:
    identity: dict[str, Any]
    client: str | None  # None: a service acting for you (origin is the service name)
    addresses: tuple[str, ...]
    via: str | None = None  # AssumedRole used by a service (invokedBy)


# (event name, weight, caller group)
_ACTIVITIES: tuple[tuple[str, float, str], ...] = (
    ("Decrypt", 20, "app"), ("GenerateDataKey", 8, "app"), ("Encrypt", 5, "app"),
    ("Decrypt", 6, "via-service"), ("GenerateDataKey", 3, "via-service"),
    ("Decrypt", 0.5, "cross-account"),
    ("DescribeKey", 4, "reader"), ("ListKeys", 2, "reader"), ("ListAliases", 2, "reader"),
    ("GetKeyRotationStatus", 1, "reader"), ("GetKeyPolicy", 1, "reader"),
    ("ListResourceTags", 0.5, "reader"), ("EnableKeyRotation", 0.2, "key-admin"),
    ("CreateGrant", 0.3, "via-service"),
    ("GetObject", 10, "app"), ("PutObject", 5, "app"), ("ListBuckets", 1, "human"),
    ("GetBucketEncryption", 0.5, "reader"),
    ("DescribeInstances", 4, "human"), ("DescribeVolumes", 1, "reader"),
    ("DescribeSecurityGroups", 1, "reader"),
    ("ListRoles", 1, "reader"), ("ListUsers", 0.5, "reader"), ("GetRole", 1, "ci"),
    ("GetUser", 0.5, "human"),
    ("AssumeRole", 4, "service"), ("AssumeRole", 2, "human"), ("GetCallerIdentity", 3, "ci"),
    ("ListFunctions20150331", 1, "human"), ("GetFunction20150331v2", 1, "ci"),
    ("GetSecretValue", 3, "app"),
)
_DENIED_SHARE = 0.02
_APP_ROLES = ("orders-api-task", "payments-lambda-exec", "analytics-etl")
_SERVICES_FOR_KMS = ("s3.amazonaws.com", "rds.amazonaws.com", "secretsmanager.amazonaws.com",
                     "ec2.amazonaws.com")
_ASSUMING_SERVICES = ("lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com")


def _population(rng: random.Random, account: str, at: datetime) -> dict[str, list[_Principal]]:
    def addresses(n: int = 2) -> tuple[str, ...]:
        return tuple(ipv6(rng) if rng.random() < 0.1 else ipv4(rng) for _ in range(n))

    def role(name: str) -> dict[str, Any]:
        return build_identity("AssumedRole", rng, account=account, at=at,
                              hints={"sessionContext": {"sessionIssuer": {"userName": name}}})

    humans = [_Principal(build_identity("IAMUser", rng, account=account, at=at,
                                        hints={"userName": name}),
                         rng.choice(("aws-cli-v2", "aws-cli-v2-ua2", "aws-cli-v2-mac",
                                     "console")), addresses())
              for name in ("alice", "bob", "carol", "dave", "erin", "frank")]
    humans += [_Principal(role(name), "console", addresses())
               for name in ("AWSReservedSSO_AdministratorAccess_4a1f0c2d9e8b7a65",
                            "AWSReservedSSO_ReadOnlyAccess_0b9c8d7e6f5a4b3c")]
    apps = [_Principal(role(name), rng.choice(("boto3", "aws-sdk-java")), addresses(3))
            for name in _APP_ROLES]
    ci = [_Principal(role("GitHubActionsDeploy"), "aws-cli-v2-ua2", addresses(4))]
    readers = [_Principal(role("SecurityAudit"), "boto3", addresses(1)), *humans[:4]]
    key_admins = [_Principal(role("KeyAdministrators"), "aws-cli-v2", addresses(1))]
    via = [_Principal(role(name), None, (), via=service)
           for name in _APP_ROLES for service in _SERVICES_FOR_KMS]
    services = [_Principal({"type": "AWSService", "invokedBy": s}, None, ())
                for s in _ASSUMING_SERVICES]
    partner = draw_account(rng, avoid=account)
    cross = [_Principal(build_identity("AWSAccount", rng, account=account, at=at,
                                       hints={"accountId": partner}), "boto3", addresses(2))]
    return {"app": apps, "via-service": via, "cross-account": cross, "reader": readers,
            "key-admin": key_admins, "human": humans, "ci": ci, "service": services}


def _identity_copy(principal: _Principal, rng: random.Random, at: datetime) -> dict[str, Any]:
    """A per-record copy; role sessions get a fresh creation time before ``at``."""
    identity = dict(principal.identity)
    session = identity.get("sessionContext")
    if session is not None:
        attributes = dict(session.get("attributes", {}))
        if attributes:
            attributes["creationDate"] = cloudtrail_time(
                at - timedelta(seconds=rng.randrange(60, 3 * 3600)))
        identity["sessionContext"] = {**session, "attributes": attributes,
                                      "sessionIssuer": dict(session.get("sessionIssuer", {}))}
    if principal.via is not None:
        identity["invokedBy"] = principal.via
    return identity


def _origin(principal: _Principal, rng: random.Random, event_name: str, source: str,
            region: str) -> Origin:
    if principal.client is None:
        service = principal.via or str(principal.identity.get("invokedBy", "AWS Internal"))
        return Origin(service, service, None)
    spec = api_spec(event_name)
    command = spec.cli_command if spec else event_name
    service = source.split(".", 1)[0]
    tls = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
           "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com"}
    return Origin(rng.choice(principal.addresses), CLIENTS[principal.client](command), tls,
                  console=principal.client == "console")


def benign_baseline(count: int, *, seed: int, start: datetime, span: timedelta,
                    account_id: str = DEFAULT_ACCOUNT,
                    region: str = DEFAULT_REGION) -> Iterator[dict[str, Any]]:
    """``count`` raw records spread over ``[start, start + span)``, in time order.

    Deterministic for a given seed and arguments.
    """
    _check(count, span)
    rng = random.Random(seed)
    stream = _Stream(rng, start, account_id, region)
    seconds = span.total_seconds()
    offsets = sorted(rng.random() * seconds for _ in range(count))
    return stream.records(rng, start, offsets)


def benign_baseline_chunk(count: int, *, chunk: int, chunk_size: int, seed: int,
                          start: datetime, span: timedelta, account_id: str = DEFAULT_ACCOUNT,
                          region: str = DEFAULT_REGION) -> Iterator[dict[str, Any]]:
    """Chunk ``chunk`` of a ``count``-record stream cut into ``chunk_size`` pieces.

    Every chunk can be built on its own (in another process) and the chunks, concatenated in
    index order, form one time-ordered stream over ``[start, start + span)``: chunk ``i``
    covers the slice of the span proportional to its records. The principals and keys are
    drawn from ``seed`` alone, so all chunks share one account population; each chunk's own
    draws come from a generator seeded by (seed, chunk), so the stream depends only on its
    arguments, never on how many processes build it.
    """
    _check(count, span)
    if chunk_size <= 0:
        raise UsageError(f"chunk size must be positive, not {chunk_size}", field="chunk_size")
    first = chunk * chunk_size
    size = max(0, min(chunk_size, count - first))
    if size == 0:
        return iter(())
    stream = _Stream(random.Random(seed), start, account_id, region)
    seconds = span.total_seconds()
    low = seconds * first / count
    width = seconds * size / count
    rng = random.Random(f"kmsdet-baseline/{seed}/{chunk}")
    offsets = sorted(low + rng.random() * width for _ in range(size))
    return stream.records(rng, start, offsets)


def _check(count: int, span: timedelta) -> None:
    if count < 0:
        raise UsageError(f"count must be zero or more, not {count}", field="count")
    if span <= timedelta(0):
        raise UsageError("the baseline time span must be positive", field="span")


class _Stream:
    """One account's callers and keys (drawn from ``rng`` once); turns offsets into records."""

    def __init__(self, rng: random.Random, start: datetime, account_id: str,
                 region: str) -> None:
        self.account_id, self.region = account_id, region
        self.population = _population(rng, account_id, start)
        self.keys = [KeyRef.make(uuid4(rng), account=account_id, region=region)
                     for _ in range(12)]
        self.cumulative = list(itertools.accumulate(weight for _, weight, _ in _ACTIVITIES))

    def records(self, rng: random.Random, start: datetime,
                offsets: list[float]) -> Iterator[dict[str, Any]]:
        account_id, region, keys = self.account_id, self.region, self.keys
        population, cumulative = self.population, self.cumulative
        total = cumulative[-1]
        for offset in offsets:
            at = start + timedelta(seconds=offset)
            event_name, _, group = _ACTIVITIES[bisect.bisect(cumulative, rng.random() * total)]
            principal = rng.choice(population[group])
            spec = api_spec(event_name)
            source = spec.source if spec else "kms.amazonaws.com"
            denied = (group in ("reader", "human") and rng.random() < _DENIED_SHARE)
            yield compose_record(
                event_name, rng=rng, at=at, account_id=account_id, region=region,
                key=rng.choice(keys), identity=_identity_copy(principal, rng, at),
                origin=_origin(principal, rng, event_name, source, region),
                error_code="AccessDenied" if denied else None)
