"""Generate kmsdet/fields/data/integrations.json from Elastic integration packages.

Reads ``packages/<pkg>/manifest.yml`` (the package version and data stream type) and every
``packages/<pkg>/data_stream/<ds>/fields/*.yml`` of an elastic/integrations checkout (or any
directory laid out the same way), and writes one compact field table per data stream: the
field names with their mapping type, constant values and object sub-key types. Entries marked
``external: ecs`` without a type of their own come from ECS (kmsdet's ecs.json) and are left
out. Run at development time:

    python scripts/gen_integration_fields.py PATH/TO/integrations aws_bedrock network_traffic
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parents[1] / "kmsdet" / "fields" / "data" / "integrations.json"
KEPT = ("type", "value", "object_type", "ignore_above", "index", "doc_values")


def flatten(entries: list[dict[str, Any]], prefix: str = "") -> dict[str, dict[str, Any]]:
    """``name -> attributes`` for the leaf fields of a fields.yml list (groups dissolved)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in entries or ():
        name = f"{prefix}{entry['name']}"
        type_ = entry.get("type")
        if type_ == "group" or (type_ is None and entry.get("fields")):
            out.update(flatten(entry.get("fields", []), name + "."))
            continue
        if type_ is None:
            continue  # `external: ecs` without a type: the ECS definition applies
        if name.endswith(".*"):  # dynamic sub-keys of an object
            parent = name[:-2]
            out[parent] = {"type": "object", "object_type": entry.get("object_type", "keyword")}
            continue
        attrs = {k: entry[k] for k in KEPT if k in entry}
        out[name] = attrs
        for sub in entry.get("multi_fields", ()) or ():
            out[f"{name}.{sub['name']}"] = {"type": sub["type"], "parent": name}
    return out


def package_table(root: Path, package: str) -> dict[str, Any]:
    pkg_dir = root / "packages" / package
    manifest = yaml.safe_load((pkg_dir / "manifest.yml").read_text(encoding="utf-8"))
    streams: dict[str, Any] = {}
    for ds_dir in sorted((pkg_dir / "data_stream").iterdir()):
        fields: dict[str, dict[str, Any]] = {}
        for yml in sorted((ds_dir / "fields").glob("*.yml")):
            fields.update(flatten(yaml.safe_load(yml.read_text(encoding="utf-8")) or []))
        ds_manifest = ds_dir / "manifest.yml"
        meta = yaml.safe_load(ds_manifest.read_text(encoding="utf-8")) if ds_manifest.exists() \
            else {}
        dataset = (meta or {}).get("dataset") or f"{package}.{ds_dir.name}"
        kind = (meta or {}).get("type", "logs")
        streams[dataset] = {"index": f"{kind}-{dataset}-*",
                            "fields": dict(sorted(fields.items()))}
    return {"version": str(manifest["version"]), "data_streams": streams}


def _commit(root: Path) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def render(table: dict[str, Any]) -> str:
    """One field per line, sorted, so a regeneration diffs cleanly."""
    lines = ["{", f'  "source": {json.dumps(table["source"], sort_keys=True)},', '  "packages": {']
    packages = sorted(table["packages"].items())
    for i, (name, pkg) in enumerate(packages):
        lines.append(f'    {json.dumps(name)}: {{"version": {json.dumps(pkg["version"])}, '
                     '"data_streams": {')
        streams = sorted(pkg["data_streams"].items())
        for j, (ds, stream) in enumerate(streams):
            lines.append(f'      {json.dumps(ds)}: {{"index": {json.dumps(stream["index"])}, '
                         '"fields": {')
            fields = list(stream["fields"].items())
            for k, (field, attrs) in enumerate(fields):
                comma = "," if k < len(fields) - 1 else ""
                lines.append(f"        {json.dumps(field)}: {json.dumps(attrs, sort_keys=True)}"
                             f"{comma}")
            lines.append("      }}" + ("," if j < len(streams) - 1 else ""))
        lines.append("    }}" + ("," if i < len(packages) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="an elastic/integrations checkout")
    parser.add_argument("packages", nargs="+", help="package names, e.g. aws_bedrock")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--note", default=None,
                        help="where the files came from, when the root is not a git checkout")
    args = parser.parse_args(argv)
    table = {
        "source": {"repository": "elastic/integrations",
                   "commit": _commit(args.root), "note": args.note,
                   "generator": "scripts/gen_integration_fields.py"},
        "packages": {name: package_table(args.root, name) for name in args.packages},
    }
    args.out.write_text(render(table), encoding="utf-8")
    json.loads(args.out.read_text(encoding="utf-8"))  # the hand-rolled layout stays valid JSON
    return 0


if __name__ == "__main__":
    sys.exit(main())
