"""Times `kmsdet lint` as a whole process on 2,000 rules of every type and many integrations.

The tree is generated from the Elastic-format corpus (tests/unit/rules/elastic_format: KQL,
Lucene, EQL single events and sequences, ES|QL, threshold, new_terms, threat_match, machine
learning, a building block and a deprecated rule, over AWS, Azure, Okta, Defend, GitHub, GCP,
Google Workspace, Kubernetes, network traffic, Windows and more). Each copy gets its own
rule_id, name and query text (an extra KQL clause, an EQL or ES|QL comment), so no parse
cache hides the work. Side by side, in the same run: a bare Python process that only parses
the same TOML files with tomllib. Prints wall and CPU time (the process and its workers) for
both and their ratios. Goal: kmsdet/baseline <= 3x, EQL and ES|QL checks included.

Usage: .venv/bin/python bench/bench_lint_corpus.py [--rules 2000] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "unit" / "rules" / "elastic_format"
QUERY_END = re.compile(r"\n'''\n")


def _vary(text: str, i: int) -> str:
    text = re.sub(r'rule_id = "[0-9a-f-]+"',
                  f'rule_id = "{i:08x}-0000-4000-8000-{i:012x}"', text, count=1)
    text = re.sub(r'^name = "(.*)"$', rf'name = "\1 {i}"', text, count=1, flags=re.M)
    language = re.search(r'^language = "(\w+)"', text, flags=re.M)
    lang = language.group(1) if language else ""
    if lang == "kuery":
        extra = f'\nand not user.name: "svc-{i}"'
    elif lang in ("eql", "esql"):
        extra = f"\n// variant {i}"
    else:
        return text
    return QUERY_END.sub(lambda _m: extra + "\n'''\n", text, count=1)


def make_tree(root: Path, count: int) -> dict[str, int]:
    templates = sorted(CORPUS.glob("*.toml"))
    kinds: dict[str, int] = {}
    for i in range(count):
        template = templates[i % len(templates)]
        text = _vary(template.read_text(encoding="utf-8"), i)
        kind = re.search(r'^type = "(\w+)"', text, flags=re.M)
        key = kind.group(1) if kind else "?"
        kinds[key] = kinds.get(key, 0) + 1
        folder = root / f"pack_{i // 200}"
        folder.mkdir(exist_ok=True)
        (folder / f"{template.stem}_{i}.toml").write_text(text, encoding="utf-8")
    return kinds


def timed(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds of the child and its children, exit code, stdout."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return wall, cpu, proc.returncode, proc.stdout


BASELINE = """
import sys, tomllib, pathlib
for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.toml')):
    tomllib.loads(p.read_text())
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=None, help="kmsdet lint --jobs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        kinds = make_tree(root, args.rules)
        kmsdet = [sys.executable, "-m", "kmsdet", "lint", str(root), "--format", "json"]
        if args.jobs is not None:
            kmsdet += ["--jobs", str(args.jobs)]
        base_cmd = [sys.executable, "-c", BASELINE, str(root)]
        timed(kmsdet)  # warm the OS file cache and bytecode
        timed(base_cmd)
        ours, ours_cpu, code, out = timed(kmsdet)
        base, base_cpu, _, _ = timed(base_cmd)
    errors = out.count('"severity": "error"')
    print(f"rules: {args.rules}  by type: {dict(sorted(kinds.items()))}")
    print(f"kmsdet lint (whole process): {ours:.2f} s wall, {ours_cpu:.2f} s CPU  exit {code}  "
          f"error findings {errors}")
    print(f"baseline (python + tomllib parse only): {base:.2f} s wall, {base_cpu:.2f} s CPU")
    print(f"ratio kmsdet/baseline: wall {ours / base:.2f}x, CPU {ours_cpu / base_cpu:.2f}x   "
          "goal: <= 3.00x")


if __name__ == "__main__":
    main()
