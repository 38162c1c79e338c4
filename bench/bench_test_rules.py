"""Times `kmsdet test rules/` with a 100,000-event benign baseline, as a whole process.

Side by side in the same run: the pack's cases alone (no baseline), and a baseline that only
builds the same 100,000 raw records and maps them to ECS (the floor of generating the
documents at all, in one process), so the ratio shows what the whole run costs against
building the events serially. The full run builds and matches the baseline in chunks across
worker processes (one per CPU, kmsdet.backends.embedded.run_chunked), so a ratio below 1
means the parallel run beats even serial synthesis alone.
Goal (issue 4): under 5 s for the whole run on this machine.

Usage: .venv/bin/python bench/bench_test_rules.py [--events 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SYNTHESIS_ONLY = """
import sys
from datetime import datetime, timedelta, timezone
from kmsdet.cloudtrail.baseline import benign_baseline
from kmsdet.cloudtrail.to_ecs import to_ecs
now = datetime.now(timezone.utc)
for r in benign_baseline(int(sys.argv[1]), seed=0, start=now - timedelta(minutes=5),
                         span=timedelta(minutes=4)):
    to_ecs(r, ingested=now)
"""


def timed(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    kmsdet = [sys.executable, "-m", "kmsdet", "test", "rules/", "--format", "json"]
    cases, code_cases = timed(kmsdet)
    full, code_full = timed(kmsdet + ["--baseline", str(args.events)])
    synth, _ = timed([sys.executable, "-c", SYNTHESIS_ONLY, str(args.events)])
    print(f"pack cases only:                       {cases:6.2f} s  exit {code_cases}")
    print(f"pack cases + {args.events} baseline events: {full:6.2f} s  exit {code_full}"
          "   goal: < 5.00 s")
    print(f"synthesis only (build + map to ECS):   {synth:6.2f} s")
    print(f"ratio full run / synthesis only:       {full / synth:6.2f}x")


if __name__ == "__main__":
    main()
