"""``source.geo.*`` and ``source.as.*`` as the cloudtrail pipeline's two geoip processors fill
them, from MaxMind-format databases the user has.

kmsdet cannot ship a GeoIP database, and without one these fields stay empty, as they do on a
cluster without the database. Rules and analysts do select on ``source.geo.country_iso_code``
or ``source.as.organization.name``, so a user who replays real trails can point kmsdet at the
GeoLite2/GeoIP2 City (or Country) and ASN databases their cluster uses (``--geoip-db``).

Emulated: Elasticsearch's default properties of the geoip processor, which the pipeline keeps:
for a City database ``continent_name``, ``country_name``, ``country_iso_code``,
``region_iso_code`` (country code, ``-``, most specific subdivision code), ``region_name``,
``city_name`` and ``location`` {lat, lon}; for a Country database the first three; for an ASN
database ``asn`` and ``organization_name``, which the pipeline renames to ``source.as.number``
and ``source.as.organization.name``. A value missing from the database record is left out; an
address the database does not hold adds nothing. The reader is MaxMind's own ``maxminddb``
package, an optional extra (``pip install 'kmsdet[geoip]'``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kmsdet.errors import InputError, UsageError

ENV_VAR = "KMSDET_GEOIP_DB"
_CACHE_LIMIT = 65536


class GeoIp:
    """Open databases, sorted by kind (location or ASN) from their own metadata."""

    def __init__(self, paths: Sequence[Path]) -> None:
        try:
            import maxminddb
        except ImportError as exc:
            raise UsageError("--geoip-db needs the maxminddb package",
                             hint="pip install 'kmsdet[geoip]'") from exc
        self.location: Any = None
        self.asn: Any = None
        self.location_kind = ""
        for path in paths:
            try:
                reader = maxminddb.open_database(str(path))
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                raise InputError(f"cannot read GeoIP database: {exc}", file=str(path),
                                 field="--geoip-db",
                                 hint="a MaxMind-format .mmdb file (GeoLite2/GeoIP2 City, "
                                      "Country or ASN)") from exc
            kind = str(reader.metadata().database_type)
            if "ASN" in kind:
                self.asn = reader
            elif "City" in kind or "Country" in kind:
                self.location, self.location_kind = reader, kind
            else:
                raise InputError(f"GeoIP database type '{kind}' is neither a City/Country nor "
                                 "an ASN database", file=str(path), field="--geoip-db")
        self._cache: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}

    def lookup(self, ip: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(``source.geo``, ``source.as``) for ``ip``; None where the databases say nothing."""
        known = self._cache.get(ip)
        if known is None:
            geo = _geo(_get(self.location, ip), city="City" in self.location_kind)
            asn = _as(_get(self.asn, ip))
            known = (geo, asn)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[ip] = known
        return _fresh(known[0]), _fresh(known[1])  # documents may be edited; the cache not


def open_geoip(paths: Sequence[Path] | None) -> GeoIp | None:
    """The databases of ``--geoip-db`` (else ``$KMSDET_GEOIP_DB``, ``os.pathsep``-separated)."""
    if not paths:
        env = os.environ.get(ENV_VAR, "")
        paths = [Path(p) for p in env.split(os.pathsep) if p]
    return GeoIp(paths) if paths else None


def _fresh(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}


def _get(reader: Any, ip: str) -> Mapping[str, Any] | None:
    if reader is None:
        return None
    try:
        found = reader.get(ip)
    except ValueError:  # not an address the database's IP version can hold
        return None
    return found if isinstance(found, Mapping) else None


def _name(entry: Any) -> Any:
    names = entry.get("names") if isinstance(entry, Mapping) else None
    return names.get("en") if isinstance(names, Mapping) else None


def _geo(record: Mapping[str, Any] | None, *, city: bool) -> dict[str, Any] | None:
    if not record:
        return None
    country = record.get("country") if isinstance(record.get("country"), Mapping) else {}
    out: dict[str, Any] = {}
    for key, value in (("continent_name", _name(record.get("continent"))),
                       ("country_name", _name(country)),
                       ("country_iso_code", country.get("iso_code"))):
        if value is not None:
            out[key] = value
    if city:
        subdivisions = record.get("subdivisions")
        region = subdivisions[-1] if isinstance(subdivisions, list) and subdivisions else None
        if isinstance(region, Mapping):
            if region.get("iso_code") is not None and country.get("iso_code") is not None:
                out["region_iso_code"] = f"{country['iso_code']}-{region['iso_code']}"
            if _name(region) is not None:
                out["region_name"] = _name(region)
        if _name(record.get("city")) is not None:
            out["city_name"] = _name(record.get("city"))
        location = record.get("location")
        if isinstance(location, Mapping) and location.get("latitude") is not None \
                and location.get("longitude") is not None:
            out["location"] = {"lat": location["latitude"], "lon": location["longitude"]}
    return out or None


def _as(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not record:
        return None
    out: dict[str, Any] = {}
    if record.get("autonomous_system_number") is not None:
        out["number"] = record["autonomous_system_number"]
    if record.get("autonomous_system_organization") is not None:
        out["organization"] = {"name": record["autonomous_system_organization"]}
    return out or None


_selected: GeoIp | None = None


def select_geoip(geoip: GeoIp | None) -> None:
    """The process-wide databases every mapping uses (the CLI sets them from ``--geoip-db``)."""
    global _selected
    _selected = geoip


def selected_geoip() -> GeoIp | None:
    return _selected
