"""Deploys 1,000 generated rules to the Kibana double and counts HTTP requests and wall time.

Side by side on the same rules and a fresh double each: kmsdet's default (plan + batched
_import with overwrite), the per-rule CRUD method as the baseline, and a second deploy of the
same rules (must send no write). Prints requests, wall time and the ratios.

Usage: .venv/bin/python bench/bench_deploy.py [--rules 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kmsdet.config import Secret, Target  # noqa: E402
from kmsdet.kibana.client import KibanaClient  # noqa: E402
from kmsdet.kibana.deploy import apply_plan  # noqa: E402
from kmsdet.kibana.payload import Payload, build_payloads  # noqa: E402
from kmsdet.kibana.plan import plan_deploy  # noqa: E402
from kmsdet.rules.loader import load_text  # noqa: E402
from kmsdet.rules.model import Rule  # noqa: E402
from tests.contract.kibana_double import KibanaDouble  # noqa: E402

# A pack rule without exceptions, so the per-rule CRUD baseline can deploy it too.
TEMPLATE = ROOT / "rules" / "aws_kms" / "impact_kms_imported_key_material_deleted.toml"
KEY = "bench-key"


def make_rules(count: int) -> list[Rule]:
    base = TEMPLATE.read_text(encoding="utf-8")
    old_id = "83a09442-28b0-4a75-9394-7b92ed8c9a50"
    old_name = 'name = "AWS KMS Imported Key Material Deleted"'
    rules = []
    for i in range(count):
        text = base.replace(old_id, str(uuid.UUID(int=i + 1, version=4))).replace(
            old_name, f'name = "Generated KMS rule {i}"')
        result = load_text(text, Path(f"generated_{i}.toml"))
        assert result.rule is not None
        rules.append(result.rule)
    return rules


def run(rules: list[Rule], method: str, repeat: bool) -> tuple[int, int, float, float]:
    """(requests first deploy, writes of the re-run, seconds first, seconds re-run)."""
    double = KibanaDouble()
    double.add_api_key(KEY)
    double.start()
    try:
        target = Target(url=double.url, api_key=Secret(KEY), timeout=120.0)
        with KibanaClient(target) as client:
            started = time.perf_counter()
            plan = plan_deploy(client, payloads(rules))
            result = apply_plan(client, plan, method=method)
            first = time.perf_counter() - started
            assert result.ok, [o for o in result.outcomes if o.failed][:3]
            sent = len(double.requests)
            again = 0.0
            if repeat:
                started = time.perf_counter()
                apply_plan(client, plan_deploy(client, payloads(rules)), method=method)
                again = time.perf_counter() - started
            writes_again = len([r for r in double.requests[sent:] if r.method != "GET"])
        return sent, writes_again, first, again
    finally:
        double.stop()


def payloads(rules: list[Rule]) -> list[Payload]:
    return build_payloads(rules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args()
    rules = make_rules(args.rules)
    imp_requests, imp_rewrites, imp_time, rerun_time = run(rules, "import", repeat=True)
    crud_requests, _, crud_time, _ = run(rules, "crud", repeat=False)
    print(f"rules deployed:                 {args.rules}")
    print(f"import (kmsdet default):        {imp_requests:5d} HTTP requests  {imp_time:7.2f} s")
    print(f"crud baseline (one per rule):   {crud_requests:5d} HTTP requests  {crud_time:7.2f} s")
    print(f"re-run of the same deploy:      {imp_rewrites:5d} writes         {rerun_time:7.2f} s")
    print(f"ratio crud/import requests:     {crud_requests / imp_requests:7.1f}x")
    print(f"ratio crud/import wall time:    {crud_time / imp_time:7.1f}x")


if __name__ == "__main__":
    main()
