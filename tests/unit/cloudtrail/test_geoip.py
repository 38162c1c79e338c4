"""source.geo / source.as from MaxMind-format databases, as Elasticsearch's geoip processor."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from mmdb_writer import MmdbU32, MMDBWriter
from netaddr import IPSet

from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.geoip import GeoIp, open_geoip, select_geoip
from kmsdet.cloudtrail.to_ecs import to_ecs
from kmsdet.errors import InputError

AT = datetime(2024, 9, 11, 9, 29, 16, tzinfo=timezone.utc)
# Made-up places on documentation networks: kmsdet's own test data, not MaxMind's.
CITY_RECORD = {
    "city": {"names": {"en": "Testville", "de": "Teststadt"}},
    "continent": {"code": "EU", "names": {"en": "Europe"}},
    "country": {"iso_code": "NL", "names": {"en": "Netherlands"}},
    "location": {"latitude": 52.25, "longitude": 4.5, "time_zone": "Europe/Amsterdam"},
    "subdivisions": [{"iso_code": "NH", "names": {"en": "North Holland"}},
                     {"iso_code": "XX", "names": {"en": "Test Borough"}}],
}


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mmdb")
    city = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    city.insert_network(IPSet(["203.0.113.0/25"]), CITY_RECORD)
    city.insert_network(IPSet(["2001:db8:aa::/48"]), {"country": {
        "iso_code": "NL", "names": {"en": "Netherlands"}}})
    asn = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    asn.insert_network(IPSet(["203.0.113.0/24"]), {
        "autonomous_system_number": MmdbU32(64500),
        "autonomous_system_organization": "Example Transit"})
    country = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    country.insert_network(IPSet(["203.0.113.0/24"]), CITY_RECORD)
    other = MMDBWriter(ip_version=6, database_type="Custom-Thing", ipv4_compatible=True)
    other.insert_network(IPSet(["203.0.113.0/24"]), {"x": "y"})
    paths = {}
    for name, writer in (("city", city), ("asn", asn), ("country", country), ("other", other)):
        paths[name] = folder / f"{name}.mmdb"
        writer.to_db_file(str(paths[name]))
    return paths


def source(address: str, geoip: GeoIp | None) -> dict:
    raw = build_record({"eventName": "DisableKey", "sourceIPAddress": address},
                       rng=random.Random(1), at=AT)
    return to_ecs(raw, ingested=AT, geoip=geoip)["source"]


def test_city_and_asn_fields_as_elasticsearch_writes_them(databases: dict[str, Path]) -> None:
    geoip = open_geoip([databases["city"], databases["asn"]])
    got = source("203.0.113.9", geoip)
    assert got["geo"] == {
        "continent_name": "Europe", "country_name": "Netherlands", "country_iso_code": "NL",
        "region_iso_code": "NL-XX", "region_name": "Test Borough", "city_name": "Testville",
        "location": {"lat": 52.25, "lon": 4.5}}
    assert got["as"] == {"number": 64500, "organization": {"name": "Example Transit"}}


def test_partial_records_and_misses(databases: dict[str, Path]) -> None:
    geoip = open_geoip([databases["city"], databases["asn"]])
    ipv6 = source("2001:db8:aa::5", geoip)
    assert ipv6["geo"] == {"country_name": "Netherlands", "country_iso_code": "NL"}
    assert "as" not in ipv6
    in_asn_only = source("203.0.113.200", geoip)
    assert "geo" not in in_asn_only and in_asn_only["as"]["number"] == 64500
    for address in ("198.51.100.7", "eks.amazonaws.com", "AWS Internal"):
        assert "geo" not in source(address, geoip) and "as" not in source(address, geoip)


def test_country_database_has_only_country_fields(databases: dict[str, Path]) -> None:
    got = source("203.0.113.9", open_geoip([databases["country"]]))
    assert got["geo"] == {"continent_name": "Europe", "country_name": "Netherlands",
                          "country_iso_code": "NL"}


def test_no_database_no_fields_and_selection(databases: dict[str, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KMSDET_GEOIP_DB", raising=False)
    assert open_geoip(None) is None
    assert "geo" not in source("203.0.113.9", None)
    monkeypatch.setenv("KMSDET_GEOIP_DB", str(databases["city"]))
    select_geoip(open_geoip(None))
    try:
        assert source("203.0.113.9", None)["geo"]["city_name"] == "Testville"
    finally:
        select_geoip(None)


def test_documents_do_not_share_the_cached_values(databases: dict[str, Path]) -> None:
    geoip = open_geoip([databases["city"]])
    first = source("203.0.113.9", geoip)
    first["geo"]["location"]["lat"] = 0
    assert source("203.0.113.9", geoip)["geo"]["location"]["lat"] == 52.25


def test_unreadable_or_unknown_databases_are_input_errors(databases: dict[str, Path],
                                                          tmp_path: Path) -> None:
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database")
    for path, words in ((junk, "cannot read GeoIP database"),
                        (tmp_path / "missing.mmdb", "cannot read GeoIP database"),
                        (databases["other"], "neither a City/Country nor an ASN")):
        with pytest.raises(InputError) as caught:
            open_geoip([path])
        assert words in caught.value.message and caught.value.file == str(path)
