"""Times `kmsdet lint` as a whole process on a generated tree of 2,000 rules.

Prints wall time for kmsdet and, side by side on the same tree, for a baseline that only parses
the TOML files with tomllib (the floor any linter pays), and their ratio. Goal: under 3 s for
kmsdet on 2,000 rules, field checks included.

Usage: .venv/bin/python bench/bench_lint.py [--rules 2000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ACTIONS = ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "DeleteAlias",
           "DisableKeyRotation", "ImportKeyMaterial", "ReplicateKey", "UpdateAlias"]
TEMPLATE = Path(__file__).resolve().parent.parent / "rules" / "aws_kms" / \
    "impact_kms_key_disabled_or_scheduled_for_deletion.toml"


def make_tree(root: Path, count: int) -> None:
    base = TEMPLATE.read_text(encoding="utf-8")
    old_id = "2fde4f71-2414-4a14-81d9-9cce5dd99798"
    old_name = 'name = "AWS KMS Customer Managed Key Disabled or Scheduled for Deletion"'
    old_query = 'event.action: ("DisableKey" or "ScheduleKeyDeletion")'
    for i in range(count):
        a, b = ACTIONS[i % len(ACTIONS)], ACTIONS[(i * 7 + 3) % len(ACTIONS)]
        text = (base.replace(old_id, str(uuid.UUID(int=i + 1, version=4)))
                .replace(old_name, f'name = "Generated KMS rule {i}"')
                .replace(old_query, f'event.action: ("{a}" or "{b}") and not '
                                    f'aws.cloudtrail.user_identity.type: "AWSService" and '
                                    f'source.ip: 10.{i % 250}.0.0/16'))
        folder = root / f"pack_{i // 200}"
        folder.mkdir(exist_ok=True)
        (folder / f"generated_rule_{i}.toml").write_text(text, encoding="utf-8")


def timed(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode


BASELINE = """
import sys, tomllib, pathlib
for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.toml')):
    tomllib.loads(p.read_text())
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tree(root, args.rules)
        kmsdet = [sys.executable, "-m", "kmsdet", "lint", str(root), "--format", "json"]
        timed(kmsdet)  # warm the OS file cache
        ours, code = timed(kmsdet)
        base, _ = timed([sys.executable, "-c", BASELINE, str(root)])
    print(f"rules: {args.rules}")
    print(f"kmsdet lint (whole process): {ours:.2f} s  exit {code}  "
          f"({ours / args.rules * 1000:.2f} ms/rule)")
    print(f"baseline (python + tomllib parse only): {base:.2f} s")
    print(f"ratio kmsdet/baseline: {ours / base:.2f}x   goal: kmsdet < 3.00 s")


if __name__ == "__main__":
    main()
