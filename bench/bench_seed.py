"""Seeding throughput: kmsdet's seed_documents against a plain helpers.bulk, same documents.

Both write the same generated CloudTrail-like ECS documents into their own data stream under
kmsdet's template, alternating runs so that neither gets a warmer node. The baseline is a plain
``helpers.bulk`` call with the helper's defaults (chunks of 500); kmsdet uses its own defaults
(chunks of 1000, encoding one chunk ahead in a background thread). kmsdet pays for canonical
serialisation, content ids (and Elasticsearch for the id lookups they imply) and per-document
error accounting; the baseline uses auto ids and no accounting. Prints docs/s and client CPU
for each run, then the best and the median of each side and their ratios. Goal: >= 0.9.

Before each run the stream is rolled over and its older backing indices deleted, so each run
starts empty (content ids would otherwise all be 409s on the second run).

Usage: .venv/bin/python bench/bench_seed.py [--docs 100000] [--runs 3] [--es-url URL]
(without --es-url, the node of `make es-up` is used).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import bulk

from kmsdet.es.client import EsTarget, connect
from kmsdet.es.seed import DEFAULT_CHUNK, seed_documents
from kmsdet.es.template import data_stream_name, ensure_template
from kmsdet.fields.registry import schema_for_indices

ACTIONS = ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "Decrypt",
           "GenerateDataKey", "DescribeKey", "ListAliases"]
IDENTITIES = ["IAMUser", "AssumedRole", "AWSService", "Root"]


def make_docs(count: int) -> list[dict[str, Any]]:
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    docs = []
    for i in range(count):
        ts = (start + timedelta(milliseconds=3 * i)).isoformat().replace("+00:00", "Z")
        action = ACTIONS[i % len(ACTIONS)]
        docs.append({
            "@timestamp": ts,
            "event": {"action": action, "provider": "kms.amazonaws.com", "kind": "event",
                      "outcome": "success" if i % 17 else "failure", "type": ["info"],
                      "id": f"{i:08x}-6f2c-4a51-9d1e-{i:012x}", "ingested": ts,
                      "dataset": "aws.cloudtrail", "module": "aws"},
            "cloud": {"provider": "aws", "region": "eu-west-1", "account": {
                "id": f"{100000000000 + i % 40}"}},
            "source": {"ip": f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}",
                       "address": "kms.amazonaws.com"},
            "user": {"name": f"user{i % 300}"},
            "user_agent": {"original": "aws-cli/2.15.0 Python/3.11 Linux/6.1"},
            "aws": {"cloudtrail": {
                "event_version": "1.08", "event_type": "AwsApiCall", "read_only": i % 3 == 0,
                "management_event": "true", "recipient_account_id": "123456789012",
                "request_id": f"req-{i}",
                "request_parameters": f'{{"keyId":"key-{i % 500}"}}',
                "user_identity": {"type": IDENTITIES[i % len(IDENTITIES)],
                                  "arn": f"arn:aws:iam::123456789012:user/user{i % 300}"},
                "resources": [{"arn": f"arn:aws:kms:eu-west-1:123456789012:key/k{i % 500}",
                               "type": "AWS::KMS::Key"}],
            }},
            "data_stream": {"type": "logs", "dataset": "aws.cloudtrail",
                            "namespace": "default"},
        })
    return docs


def empty_stream(client: Elasticsearch, stream: str) -> None:
    """Roll the stream over and delete its older backing indices (no data stream API needed)."""
    if not client.indices.exists(index=stream):
        return
    client.indices.rollover(alias=stream)
    backing = sorted(client.indices.get(index=f".ds-{stream}-*", expand_wildcards="all"))
    for index in backing[:-1]:
        client.indices.delete(index=index)


def baseline(client: Elasticsearch, docs: list[dict[str, Any]], stream: str) -> int:
    """A plain helpers.bulk call: its own defaults, only ``create`` (data streams need it)."""
    ok, _ = bulk(client, ({"_op_type": "create", "_index": stream, "_source": d} for d in docs))
    return int(ok)


def kmsdet_seed(client: Elasticsearch, docs: list[dict[str, Any]], namespace: str) -> int:
    report = seed_documents(client, docs, namespace=namespace, prepare=False)
    report.raise_for_failures()
    return report.created


def timed(label: str, fn: Callable[[], int], count: int) -> float:
    """Docs/s of one run; also prints the client's own CPU seconds, which other load on a
    shared machine disturbs far less than wall time."""
    started, cpu = time.perf_counter(), time.process_time()
    done = fn()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if done != count:
        raise SystemExit(f"{label}: indexed {done} of {count}")
    rate = count / elapsed
    print(f"  {label:<24} {elapsed:7.2f} s  {rate:9.0f} docs/s  client CPU {cpu:6.2f} s",
          flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--es-url")
    args = parser.parse_args()

    client = connect(EsTarget.from_options(url=args.es_url))
    ensure_template(client, schema_for_indices(["logs-aws.cloudtrail-*"]),
                    warn=lambda line: print(f"  note: {line}"))
    docs = make_docs(args.docs)
    ns_base, ns_ours = "bench_baseline", "bench_kmsdet"
    print(f"seeding {args.docs} documents, {args.runs} run(s) each "
          f"(kmsdet chunk {DEFAULT_CHUNK}, baseline: helpers.bulk defaults)")
    # Untimed warm-up of the node's JIT and of both code paths on a slice of the documents.
    warm = docs[: min(len(docs), 20_000)]
    baseline(client, warm, data_stream_name(ns_base))
    kmsdet_seed(client, warm, ns_ours)
    base_rates, our_rates = [], []
    for _ in range(args.runs):
        empty_stream(client, data_stream_name(ns_base))
        base_rates.append(timed("helpers.bulk (baseline)",
                                lambda: baseline(client, docs, data_stream_name(ns_base)),
                                args.docs))
        empty_stream(client, data_stream_name(ns_ours))
        our_rates.append(timed("kmsdet seed_documents",
                               lambda: kmsdet_seed(client, docs, ns_ours), args.docs))
    best_base, best_ours = max(base_rates), max(our_rates)
    mid_base, mid_ours = statistics.median(base_rates), statistics.median(our_rates)
    print(f"best:   baseline {best_base:.0f} docs/s, kmsdet {best_ours:.0f} docs/s, "
          f"ratio {best_ours / best_base:.2f} (goal >= 0.90)")
    print(f"median: baseline {mid_base:.0f} docs/s, kmsdet {mid_ours:.0f} docs/s, "
          f"ratio {mid_ours / mid_base:.2f}")
    for ns in (ns_base, ns_ours):
        empty_stream(client, data_stream_name(ns))


if __name__ == "__main__":
    main()
