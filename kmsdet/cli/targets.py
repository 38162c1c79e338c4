"""Target options shared by every command that talks to Kibana or Elasticsearch.

Typer reads options from each command's signature, so commands spell the options out with these
constants, and ``target_options`` / ``es_target`` turn them into one target object.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from kmsdet.config import Target, TargetOptions

_TARGET_PANEL = "Kibana target"


def target_options(target: str | None, kibana_url: str | None, space: str | None,
                    api_key: str | None, user: str | None, password: str | None,
                    ca_cert: Path | None, insecure: bool | None,
                    config: Path | None) -> TargetOptions:
    return TargetOptions(target=target, url=kibana_url, space=space, api_key=api_key,
                         user=user, password=password,
                         ca_cert=str(ca_cert) if ca_cert else None, insecure=insecure,
                         config_file=str(config) if config else None)


# Typer reads options from the signature, so the shared target options are spelled out in
# each command; _target_options turns them into one TargetOptions.
KIBANA_URL = typer.Option(None, "--kibana-url", help="Kibana base URL (env "
                          "KMSDET_KIBANA_URL).", rich_help_panel=_TARGET_PANEL)
TARGET = typer.Option(None, "--target", help="Named target from the config file.",
                      rich_help_panel=_TARGET_PANEL)
SPACE = typer.Option(None, "--space", help="Kibana space id (env KMSDET_KIBANA_SPACE; "
                     "default: default).", rich_help_panel=_TARGET_PANEL)
API_KEY = typer.Option(None, "--kibana-api-key", help="Encoded API key (env "
                       "KMSDET_KIBANA_API_KEY). Prefer the env var: options show in "
                       "process lists.", rich_help_panel=_TARGET_PANEL, show_default=False)
USER = typer.Option(None, "--kibana-user", help="User name (env KMSDET_KIBANA_USER).",
                    rich_help_panel=_TARGET_PANEL)
PASSWORD = typer.Option(None, "--kibana-password", help="Password (env "
                        "KMSDET_KIBANA_PASSWORD). Prefer the env var: options show in "
                        "process lists.", rich_help_panel=_TARGET_PANEL, show_default=False)
CA_CERT = typer.Option(None, "--kibana-ca-cert", help="CA bundle for Kibana's TLS "
                       "certificate (env KMSDET_KIBANA_CA_CERT).",
                       rich_help_panel=_TARGET_PANEL)
INSECURE = typer.Option(None, "--insecure/--verify-tls", help="Skip TLS verification "
                        "(throw-away sandboxes only).", rich_help_panel=_TARGET_PANEL)
CONFIG = typer.Option(None, "--config", help="Config file of named targets (default: "
                      "./kmsdet.toml, then ~/.config/kmsdet/config.toml).",
                      rich_help_panel=_TARGET_PANEL)


_ES_PANEL = "Elasticsearch target"
ES_URL = typer.Option(None, "--es-url", help="Elasticsearch URL (env KMSDET_ES_URL; default: "
                      "the node of make es-up).", rich_help_panel=_ES_PANEL)
ES_API_KEY = typer.Option(None, "--es-api-key", help="Encoded API key (env KMSDET_ES_API_KEY). "
                          "Prefer the env var: options show in process lists.",
                          rich_help_panel=_ES_PANEL, show_default=False)
ES_USER = typer.Option(None, "--es-user", help="User name (env KMSDET_ES_USER).",
                       rich_help_panel=_ES_PANEL)
ES_PASSWORD = typer.Option(None, "--es-password", help="Password (env KMSDET_ES_PASSWORD). "
                           "Prefer the env var: options show in process lists.",
                           rich_help_panel=_ES_PANEL, show_default=False)
ES_CA_CERT = typer.Option(None, "--es-ca-cert", help="CA bundle for Elasticsearch's TLS "
                          "certificate (env KMSDET_ES_CA_CERT).", rich_help_panel=_ES_PANEL)


def es_target(url: str | None, api_key: str | None, user: str | None, password: str | None,
              ca_cert: Path | None, insecure: bool | None,
              named: Target | None = None):  # noqa: ANN201 - EsTarget
    """The Elasticsearch target: options, then KMSDET_ES_*, then the Elasticsearch of a named
    target (``--target sandbox``), then the node of ``make es-up``."""
    from kmsdet.es.client import ENV_URL, EsTarget

    if named is not None and named.elasticsearch_url and not url and not os.environ.get(ENV_URL):
        url = named.elasticsearch_url
        if not api_key and not user:
            user = named.user
            password = named.password.reveal() if named.password else None
        ca_cert = ca_cert or named.ca_cert
    return EsTarget.from_options(url=url, api_key=api_key, user=user, password=password,
                                 ca_cert=ca_cert, insecure=bool(insecure))


def es_target_named(target: str | None, config: Path | None, url: str | None,
                    api_key: str | None, user: str | None, password: str | None,
                    ca_cert: Path | None, insecure: bool | None):  # noqa: ANN201 - EsTarget
    """:func:`es_target` for commands whose only target is Elasticsearch: ``--target NAME``
    supplies a named target's Elasticsearch."""
    named = None
    if target:
        from kmsdet.config import resolve_target

        named = resolve_target(target_options(target, None, None, None, None, None, None,
                                              insecure, config))
    return es_target(url, api_key, user, password, ca_cert, insecure, named)
