"""A named target (the sandbox's) also says where its Elasticsearch is."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsdet.cli.targets import es_target
from kmsdet.config import Secret, Target

NAMED = Target(url="https://127.0.0.1:5601", user="elastic", password=Secret("s3cret"),
               elasticsearch_url="https://127.0.0.1:9200")


def test_named_target_supplies_the_elasticsearch_url_and_credentials(monkeypatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.delenv("KMSDET_ES_URL", raising=False)
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    named = Target(url=NAMED.url, user=NAMED.user, password=NAMED.password, ca_cert=ca,
                   elasticsearch_url=NAMED.elasticsearch_url)
    es = es_target(None, None, None, None, None, None, named)
    assert (es.url, es.user, es.password, es.ca_cert) == (
        "https://127.0.0.1:9200", "elastic", "s3cret", ca)
    assert "s3cret" not in repr(es)


@pytest.mark.parametrize("how", ["option", "env"])
def test_explicit_elasticsearch_settings_win_over_the_named_target(monkeypatch, how) -> None:
    monkeypatch.delenv("KMSDET_ES_URL", raising=False)
    if how == "env":
        monkeypatch.setenv("KMSDET_ES_URL", "http://127.0.0.1:9999")
        es = es_target(None, None, None, None, None, None, NAMED)
    else:
        es = es_target("http://127.0.0.1:9999", None, None, None, None, None, NAMED)
    assert es.url == "http://127.0.0.1:9999" and es.user is None


def test_every_secret_option_warns_that_options_show_in_process_lists() -> None:
    from kmsdet.cli import targets

    for option in (targets.API_KEY, targets.PASSWORD, targets.ES_API_KEY, targets.ES_PASSWORD):
        assert "process lists" in (option.help or ""), option.param_decls
