"""A synthetic trail as CloudTrail writes it to S3, for benchmarks, tests and demos.

The benign baseline (kmsdet.cloudtrail.baseline) with attacks injected at a steady rate, cut
into gzipped ``{"Records": [...]}`` files of about ``per_file`` records under
``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``, with a digest file beside them, as
CloudTrail delivers: records inside a file are not in time order, and a few arrive in the
next file.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kmsdet.cloudtrail.baseline import benign_baseline_chunk
from kmsdet.cloudtrail.builder import DEFAULT_ACCOUNT, DEFAULT_REGION, build_record

# Calls the KMS pack watches for, as an attacker would make them.
ATTACKS = ("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "DeleteImportedKeyMaterial",
           "DisableKeyRotation", "ImportKeyMaterial", "CreateGrant", "UpdateAlias",
           "ReplicateKey", "CreateKey")
CHUNK = 10_000


@dataclass(frozen=True)
class TrailSpec:
    records: int
    start: datetime
    days: int = 30
    seed: int = 0
    per_file: int = 1000
    attack_every: int = 2000  # one injected attack per this many benign records


def write_trail(root: Path, spec: TrailSpec) -> list[Path]:
    """Write the trail under ``root`` (AWSLogs/...); returns the log files written."""
    folder_root = root / "AWSLogs" / DEFAULT_ACCOUNT / "CloudTrail" / DEFAULT_REGION
    digest = root / "AWSLogs" / DEFAULT_ACCOUNT / "CloudTrail-Digest" / DEFAULT_REGION
    rng = random.Random(f"kmsdet-trail/{spec.seed}")
    written: list[Path] = []
    carry: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    for record in _records(spec):
        batch.append(record)
        if len(batch) >= spec.per_file:
            carry = _flush(folder_root, batch, carry, rng, written)
            batch = []
    if batch or carry:
        _flush(folder_root, batch, carry, rng, written, last=True)
    digest.mkdir(parents=True, exist_ok=True)
    (digest / "digest.json.gz").write_bytes(gzip.compress(json.dumps(
        {"awsAccountId": DEFAULT_ACCOUNT, "digestStartTime": spec.start.isoformat(),
         "logFiles": [p.name for p in written[:3]]}).encode()))
    return written


def _records(spec: TrailSpec) -> Iterator[dict[str, Any]]:
    span = timedelta(days=spec.days)
    chunks = (spec.records + CHUNK - 1) // CHUNK
    attack_rng = random.Random(f"kmsdet-trail-attacks/{spec.seed}")
    for chunk in range(chunks):
        for number, record in enumerate(benign_baseline_chunk(
                spec.records, chunk=chunk, chunk_size=CHUNK, seed=spec.seed,
                start=spec.start, span=span)):
            yield record
            position = chunk * CHUNK + number + 1
            if position % spec.attack_every == 0:
                at = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
                at += timedelta(seconds=attack_rng.randint(0, 59))
                if position % (spec.attack_every * 5) == 0:
                    yield from _policy_then_destruction(attack_rng, at)
                else:
                    yield build_record({"eventName": attack_rng.choice(ATTACKS)},
                                       rng=attack_rng, at=at)


def _policy_then_destruction(rng: random.Random, at: datetime) -> Iterator[dict[str, Any]]:
    """One principal replaces a key's policy, then disables the key or schedules its deletion
    a few minutes later: the sequence the pack's EQL rule looks for."""
    name = f"intruder-{rng.randint(1, 9)}"
    who = {"userIdentity": {"type": "IAMUser", "userName": name,
                            "arn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/{name}"}}
    key = f"{rng.getrandbits(32):08x}-1111-4222-8333-{rng.getrandbits(48):012x}"
    yield build_record({"eventName": "PutKeyPolicy", **who}, rng=rng, at=at, key_id=key)
    yield build_record({"eventName": rng.choice(["DisableKey", "ScheduleKeyDeletion"]), **who},
                       rng=rng, at=at + timedelta(minutes=rng.randint(1, 8)), key_id=key)


def _flush(folder: Path, batch: list[dict[str, Any]], carry: list[dict[str, Any]],
           rng: random.Random, written: list[Path], *, last: bool = False,
           ) -> list[dict[str, Any]]:
    """Write one file: this batch plus what the previous file held back, shuffled; hold back
    a few records for the next file (late delivery)."""
    rng.shuffle(batch)
    late = [] if last else batch[:max(1, len(batch) // 100)]
    records = carry + batch[len(late):]
    if not records:
        return late
    rng.shuffle(records)
    newest = max(r["eventTime"] for r in records)
    day = newest[:10].replace("-", "/")
    stamp = newest[:16].replace("-", "").replace(":", "")
    target = folder / day
    target.mkdir(parents=True, exist_ok=True)
    name = f"{DEFAULT_ACCOUNT}_CloudTrail_{DEFAULT_REGION}_{stamp}Z_{len(written):06d}.json.gz"
    path = target / name
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=1))
    written.append(path)
    return late
