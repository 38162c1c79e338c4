"""Where a call came from: ``sourceIPAddress``, ``userAgent`` and ``tlsDetails`` per caller kind.

AWS fills these differently for people and for services: a service acting for you shows its own
DNS name (or ``AWS Internal``) as both address and agent and has no TLS details, while a CLI or
SDK call has an IP address, an agent string naming the tool and the command, and TLS details
for the regional endpoint.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kmsdet.cloudtrail.values import ipv4, ipv6

CLIENTS: dict[str, Callable[[str], str]] = {
    "aws-cli-v2": lambda cmd: (f"aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 "
                               f"exe/x86_64.amzn.2023 prompt/off command/{cmd}"),
    "aws-cli-v2-ua2": lambda cmd: ("aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 "
                                   "os/linux#6.8.0-1012-aws md/arch#x86_64 lang/python#3.11.9 "
                                   "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe "
                                   f"md/distrib#ubuntu.24 md/prompt#off md/command#{cmd}"),
    "aws-cli-v2-mac": lambda cmd: (f"aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 "
                                   f"prompt/off command/{cmd}"),
    "aws-cli-v1": lambda cmd: ("aws-cli/1.32.69 Python/3.9.18 "
                               "Linux/5.10.213-201.855.amzn2.x86_64 botocore/1.34.69"),
    "boto3": lambda cmd: ("Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 "
                          "os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 "
                          "lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy "
                          "Botocore/1.34.69"),
    "aws-sdk-java": lambda cmd: ("aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 "
                                 "OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 "
                                 "vendor/Amazon.com_Inc. io/sync http/Apache "
                                 "cfg/retry-mode/legacy"),
    "console": lambda cmd: "AWS Internal",
}
"""Agent strings by client; each is one whose Elasticsearch parse ``useragent`` reproduces."""

DEFAULT_CLIENT = "aws-cli-v2"


@dataclass(frozen=True)
class Origin:
    """The caller-side fields of a record; ``tls`` is None when AWS logs no TLS details."""

    source_ip: str
    user_agent: str
    tls: dict[str, str] | None
    console: bool = False


def service_origin(service: str) -> Origin:
    """A service acting on your behalf: its name as address and agent, no TLS details."""
    return Origin(service, service, None)


def client_origin(rng: random.Random, *, command: str, endpoint: str,
                  client: str = DEFAULT_CLIENT, ipv6_share: float = 0.0) -> Origin:
    """A person or program calling ``endpoint`` with ``client`` from a documentation address."""
    address = ipv6(rng) if ipv6_share and rng.random() < ipv6_share else ipv4(rng)
    agent = CLIENTS[client](command)
    tls = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
           "clientProvidedHostHeader": endpoint}
    return Origin(address, agent, tls, console=client == "console")


def tls_for(origin: Origin) -> dict[str, Any] | None:
    return dict(origin.tls) if origin.tls is not None else None
