"""Throughput of synthetic CloudTrail: building raw records and mapping them to ECS.

Prints records per second (CPU time, so other load on the machine matters less) for:
  build     benign_baseline() raw records
  to_ecs    the integration-pipeline emulation, warm caches (the normal case)
  naive     to_ecs with every cache cleared before each record (what caching buys)
  json      json.loads(json.dumps(record)): a hardware yardstick, since an ingest path can
            hardly map a record faster than it can copy it once through JSON
and the ratios between them, so runs on different machines can be compared.

    .venv/bin/python bench/bench_ecs.py [--count 100000] [--seed 1] [--naive-count 10000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from kmsdet.cloudtrail import javamap, useragent
from kmsdet.cloudtrail import to_ecs as to_ecs_module
from kmsdet.cloudtrail.baseline import benign_baseline
from kmsdet.cloudtrail.to_ecs import to_ecs

START = datetime(2024, 6, 1, tzinfo=timezone.utc)
INGESTED = START + timedelta(days=1, minutes=5)


def cpu_rate(label: str, count: int, work: Callable[[], Any]) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rate = count / cpu if cpu else float("inf")
    print(f"{label:8s} {count:>8,d} records  cpu {cpu:6.2f}s  wall {wall:6.2f}s  "
          f"{rate:>10,.0f} records/s  ({1e6 / rate:5.1f} us/record)")
    return rate


def clear_caches() -> None:
    javamap.java_string_hash.cache_clear()
    javamap._cached_order_indexes.cache_clear()
    useragent._parse.cache_clear()
    to_ecs_module._DATE_CACHE.clear()
    to_ecs_module._IP_CACHE.clear()


def naive_map(records: list[dict[str, Any]]) -> None:
    for record in records:
        clear_caches()
        to_ecs(record, ingested=INGESTED)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-count", type=int, default=10_000)
    args = parser.parse_args()

    records: list[dict[str, Any]] = []
    build = cpu_rate("build", args.count, lambda: records.extend(
        benign_baseline(args.count, seed=args.seed, start=START, span=timedelta(days=1))))
    mapped = cpu_rate("to_ecs", args.count,
                      lambda: [to_ecs(r, ingested=INGESTED) for r in records])
    subset = records[: args.naive_count]
    naive = cpu_rate("naive", len(subset), lambda: naive_map(subset))
    clear_caches()
    roundtrip = cpu_rate("json", args.count,
                         lambda: [json.loads(json.dumps(r)) for r in records])

    both = 1 / (1 / build + 1 / mapped)
    print()
    print(f"build + to_ecs: {both:,.0f} records/s; {args.count:,d} records in "
          f"{args.count / both:.1f} s of CPU")
    print(f"to_ecs vs naive (cold caches): {mapped / naive:.2f}x faster")
    print(f"to_ecs cost in JSON round trips: {roundtrip / mapped:.2f}  "
          f"(build: {roundtrip / build:.2f}, build + to_ecs: {roundtrip / both:.2f})")


if __name__ == "__main__":
    main()
