"""Backtest at real volume: `kmsdet replay` over a month of CloudTrail, against its floor.

A synthetic trail (the benign baseline with attacks injected, kmsdet.backtest.synthetic_trail)
is written as CloudTrail writes to S3: gzipped files of about 1,000 records under
AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/. Measured side by side, each in a fresh
process:

* replay: the KMS pack over the whole trail (streaming engine, one worker per CPU);
* floor: one process that only reads and maps every record to ECS, matching nothing: what
  replay would cost done plainly on one core.

Printed: wall time and peak RSS of each (replay: the parent and its largest worker), their
ratio, replay's RSS at the larger size against the smaller (memory must not grow with the
records read), and, on a small trail, whether replay's alerts equal the per-run reference's.
Trails are cached under ~/.cache/kmsdet-bench.

Run: .venv/bin/python bench/bench_replay.py [--records 1000000] [--larger 3000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

START = datetime(2026, 10, 1, tzinfo=timezone.utc)
CACHE = Path.home() / ".cache" / "kmsdet-bench"


def trail(records: int, days: int) -> Path:
    from kmsdet.backtest.synthetic_trail import TrailSpec, write_trail

    root = CACHE / f"trail-v2-{records}-{days}d"  # v2: with injected EQL sequences
    done = root / ".complete"
    if not done.exists():
        began = time.perf_counter()
        print(f"writing a {records:,}-record trail over {days} days to {root} ...", flush=True)
        write_trail(root, TrailSpec(records=records, start=START, days=days, seed=1))
        done.write_text("ok")
        print(f"  written in {time.perf_counter() - began:.0f} s", flush=True)
    return root


def measure(mode: str, root: Path) -> dict:
    """Run one mode in a fresh process and read its own figures back, sampling the resident
    memory of it and its worker processes from /proc every 50 ms. (getrusage's maxrss is no
    use here: Linux carries a process's high-water mark across fork and exec, so a child
    reports at least what this benchmark process itself once held.)"""
    process = subprocess.Popen([sys.executable, __file__, "--measure", mode, str(root)],
                               stdout=subprocess.PIPE, text=True, cwd=REPO)
    peak_parent = peak_worker = peak_total = 0
    while process.poll() is None:
        parent = _rss_mb(process.pid)
        workers = [_rss_mb(child) for child in _children(process.pid)]
        peak_parent = max(peak_parent, parent)
        peak_worker = max([peak_worker, *workers])
        peak_total = max(peak_total, parent + sum(workers))
        time.sleep(0.05)
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"{mode} failed with exit {process.returncode}")
    figures = json.loads(out.strip().splitlines()[-1])
    figures.update(rss_mb=peak_parent, worker_rss_mb=peak_worker, total_rss_mb=peak_total)
    return figures


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _run_mode(mode: str, root: Path) -> None:
    from kmsdet.backends.documents import parse_time
    from kmsdet.backtest.engine import backtest
    from kmsdet.backtest.scan import discover
    from kmsdet.cloudtrail.readers import stream_events
    from kmsdet.cloudtrail.to_ecs import to_ecs
    from kmsdet.rules.loader import load_rules

    began = time.perf_counter()
    figures: dict = {}
    if mode == "replay":
        result = backtest(load_rules([REPO / "rules"]), [root])
        figures = {"events": result.events, "mapped": result.mapped,
                   "alerts": len(result.alerts)}
    else:
        count = 0
        for source in discover([root]):
            for _, record, _ in stream_events(source.path):
                to_ecs(record, ingested=parse_time(record["eventTime"]))
                count += 1
        figures = {"events": count}
    figures["seconds"] = time.perf_counter() - began
    print(json.dumps(figures))


def reference_check(records: int) -> bool:
    """On a small trail: the streaming engine's alerts equal the per-run reference's."""
    from kmsdet.backtest.engine import backtest
    from kmsdet.backtest.scan import discover
    from kmsdet.cloudtrail.readers import stream_events
    from kmsdet.cloudtrail.to_ecs import to_ecs
    from kmsdet.rules.loader import load_rules
    from tests.unit.backtest.reference import replay_per_run

    root = trail(records, 2)
    rules = load_rules([REPO / "rules"])
    docs = [to_ecs(r, ingested=datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00")))
            for s in discover([root]) for _, r, _ in stream_events(s.path)]
    expected = replay_per_run(rules, docs)
    got = backtest(rules, [root]).alerts
    print(f"reference check on {records:,} records: {len(got)} alerts, "
          f"{'identical' if got == expected else 'DIFFERENT'} to the per-run reference")
    return got == expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--larger", type=int, default=3_000_000,
                        help="a second size for the RSS comparison (0: skip)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reference-records", type=int, default=3_000)
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _run_mode(args.measure[0], Path(args.measure[1]))
        return 0
    same = reference_check(args.reference_records)
    root = trail(args.records, args.days)
    floor = measure("floor", root)
    replay = measure("replay", root)
    print(f"\n{args.records:,} records over {args.days} days "
          f"({replay['mapped']:,} mapped to ECS by replay, {replay['alerts']} alerts)")
    print(f"  floor (read + map, one process): {floor['seconds']:7.1f} s  "
          f"peak RSS {floor['rss_mb']:6.0f} MB")
    print(f"  replay (streaming engine)      : {replay['seconds']:7.1f} s  "
          f"peak RSS {replay['rss_mb']:6.0f} MB parent, {replay['worker_rss_mb']:6.0f} MB "
          f"largest worker, {replay['total_rss_mb']:6.0f} MB all processes")
    print(f"  replay / floor wall time       : {replay['seconds'] / floor['seconds']:.2f}x "
          "(goal <= 1)")
    ok = same and replay["seconds"] <= floor["seconds"]
    if args.larger:
        big = measure("replay", trail(args.larger, args.days))
        peak, big_peak = replay["total_rss_mb"], big["total_rss_mb"]
        print(f"  replay of {args.larger:,} records  : {big['seconds']:7.1f} s  "
              f"peak RSS {big['rss_mb']:6.0f} MB parent, {big['worker_rss_mb']:6.0f} MB "
              f"largest worker, {big['total_rss_mb']:6.0f} MB all processes")
        print(f"  peak RSS of all processes, {args.larger:,} / {args.records:,}: "
              f"{big_peak / peak:.2f}x (goal within 1.10)")
        ok = ok and big_peak <= 1.10 * peak and big_peak < 500
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
