"""user_agent processor emulation for the agents CloudTrail records carry."""

from __future__ import annotations

import pytest

from kmsdet.cloudtrail.callers import CLIENTS
from kmsdet.cloudtrail.useragent import parse_user_agent

CLI_V1 = ("aws-cli/1.16.248 Python/3.4.7 Linux/4.9.184-0.1.ac.235.83.329.metal1.x86_64 "
          "botocore/1.12.239")

# (agent, name, version, os.full or None, device)
CASES = [
    # Elastic's own expected output for this string (AssumeRole fixture): botocore -> Spider.
    (CLI_V1, "aws-cli", "1.16.248", "Linux 4.9.184", "Spider"),
    ("aws-cli/2.14.5 Python/3.11.6 Linux/6.2.0-1018-aws exe/x86_64.ubuntu.22 prompt/off "
     "command/kms.schedule-key-deletion", "aws-cli", "2.14.5", "Linux 6.2.0", "Other"),
    (CLIENTS["aws-cli-v2-ua2"]("kms.disable-key"), "aws-cli", "2.17.20", None, "Other"),
    (CLIENTS["aws-cli-v2-mac"]("kms.list-keys"), "aws-cli", "2.15.30", None, "Other"),
    (CLIENTS["boto3"](""), "Boto3", "1.34.69", None, "Spider"),
    (CLIENTS["aws-sdk-java"](""), "aws-sdk-java", "2.25.16", "Linux 5.10.213", "Other"),
    ("aws-sdk-go/1.50.0 (go1.21.6; linux; amd64)", "aws-sdk-go", "1.50.0", None, "Other"),
    ("AWS Internal", "Other", None, None, "Other"),
    ("console.amazonaws.com", "Other", None, None, "Other"),
    ("eks.amazonaws.com", "Other", None, None, "Other"),
    ("curl/8.5.0", "curl", "8.5.0", None, "Other"),
    ("python-requests/2.31.0", "Python Requests", "2.31", None, "Other"),
    ("Go-http-client/1.1", "Go-http-client", "1.1", None, "Other"),
]


@pytest.mark.parametrize(("agent", "name", "version", "os_full", "device"), CASES,
                         ids=[c[0][:30] for c in CASES])
def test_parse(agent: str, name: str, version: str | None, os_full: str | None,
               device: str) -> None:
    parsed = parse_user_agent(agent)
    assert parsed["original"] == agent
    assert parsed["name"] == name
    assert parsed.get("version") == version
    assert parsed.get("os", {}).get("full") == os_full
    assert parsed["device"] == {"name": device}


def test_os_without_version_has_no_full() -> None:
    parsed = parse_user_agent("aws-cli/2.15.30 Python/3.11.8 Windows/10 exe/AMD64 prompt/off")
    assert parsed["os"] == {"name": "Windows"}


def test_windows_10_version_comes_from_replacement() -> None:
    parsed = parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    assert parsed["os"] == {"name": "Windows", "version": "10", "full": "Windows 10"}


@pytest.mark.parametrize("agent", [
    CLIENTS["aws-cli-v2-ua2"]("kms.disable-key"),
    CLIENTS["boto3"](""),
    "aws-cli/2.22.1 md/awscrt#0.22.0 ua/2.0 os/linux#6.1.0-27-cloud-amd64 md/arch#aarch64",
])
def test_lowercase_linux_token_is_linux_without_version(agent: str) -> None:
    # uap-core's late catch-all rule: a bare lower-case "linux" anywhere -> "Linux", no version
    # (aws-cli v2's "os/linux#<kernel>" carries the kernel after '#', which no rule reads).
    assert parse_user_agent(agent)["os"] == {"name": "Linux"}


def test_capitalised_linux_rule_still_wins_over_the_catch_all() -> None:
    parsed = parse_user_agent("aws-sdk-go/1.50.0 (go1.21.6; linux; amd64) Linux/5.10.1")
    assert parsed["os"] == {"name": "Linux", "version": "5.10.1", "full": "Linux 5.10.1"}


@pytest.mark.parametrize(("agent", "expected"), [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/128.0.6613.120 Safari/537.36",
     {"name": "Chrome", "version": "128.0.6613.120",
      "os": {"name": "Mac OS X", "version": "10.15.7", "full": "Mac OS X 10.15.7"},
      "device": {"name": "Mac"}}),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0",
     {"name": "Firefox", "version": "130.0",
      "os": {"name": "Windows", "version": "10", "full": "Windows 10"},
      "device": {"name": "Other"}}),
])
def test_browsers_get_uap_core_names(agent: str, expected: dict) -> None:
    # Console sign-ins and the console calling KMS carry browser agents; Elasticsearch names
    # the browser from uap-core's full rule set.
    assert parse_user_agent(agent) == {"original": agent, **expected}


def test_service_names_stay_other() -> None:
    assert parse_user_agent("kms.amazonaws.com") == {
        "original": "kms.amazonaws.com", "name": "Other", "device": {"name": "Other"}}
