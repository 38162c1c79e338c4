"""The tag vocabulary: which prefixes a rule tag may start with, and the exact spelling of the
tags Kibana users filter on.

Kibana's rule filters match tags exactly, so ``Data Source: AWS kms`` and ``Data Source: AWS KMS``
are two different facets and a rule tagged with the first silently drops out of a saved filter.
The vocabulary below is therefore about spelling, not about permission: any value may follow a
known prefix, but a value that equals a known tag apart from case or spacing is reported.
Tactic tags are derived from the ATT&CK table so they cannot drift from it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kmsdet.rules.attack import load_attack

PREFIXES: tuple[str, ...] = (
    "Data Source",
    "Domain",
    "Language",
    "Mitre Atlas",
    "Noise",
    "OS",
    "Performance",
    "Platform",
    "Profile",
    "Promotion",
    "Resources",
    "Rule Type",
    "Service",
    "Tactic",
    "Team",
    "Threat",
    "Use Case",
    "Vuln",
)

INVESTIGATION_GUIDE_TAG = "Resources: Investigation Guide"
TACTIC_PREFIX = "Tactic"

# Spellings are those of Elastic's prebuilt rules, which users' saved filters already match
# (``Data Source: Github``, not the product's own casing).
_VALUES: dict[str, tuple[str, ...]] = {
    "Domain": ("Application", "Cloud", "Container", "Email", "Endpoint", "Identity", "LLM",
               "Network", "SaaS", "Storage"),
    "Data Source": (
        "AWS", "Amazon Web Services", "AWS Backup", "AWS Bedrock", "AWS CloudTrail",
        "AWS CloudWatch", "AWS Config", "AWS EBS", "AWS EC2", "AWS ECS", "AWS EKS",
        "AWS GuardDuty", "AWS IAM", "AWS KMS", "AWS Lambda", "AWS Organizations", "AWS RDS",
        "AWS Route 53", "AWS S3", "AWS Secrets Manager", "AWS Security Hub", "AWS SNS",
        "AWS SQS", "AWS STS", "AWS Systems Manager", "AWS VPC", "Azure", "Elastic Defend",
        "Elastic Endgame", "GCP", "Github", "Google Cloud Platform", "Google Workspace",
        "Kubernetes", "Microsoft 365", "Microsoft Entra ID", "Okta",
    ),
    "Use Case": ("Active Directory Monitoring", "Asset Visibility", "Configuration Audit",
                 "Data Exfiltration Detection", "Identity and Access Audit", "Log Auditing",
                 "Network Security Monitoring", "Privileged Access Detection",
                 "Threat Detection", "Vulnerability"),
    "Resources": ("Investigation Guide", "LLM"),
    "Rule Type": ("BBR", "Higher-Order Rule", "Machine Learning", "ML"),
    "OS": ("Linux", "Windows", "macOS"),
    "Promotion": ("External Alerts",),
    # Rule profiling tags (Elastic, 2026): alert volume and execution cost from telemetry.
    "Noise": ("High", "Low", "Medium", "Unknown"),
    "Performance": ("Fast", "Normal", "Slow", "Very Slow"),
    "Profile": ("Aggressive", "Beta", "Recommended"),
}

_SPACES = re.compile(r"\s+")


def split_tag(tag: str) -> tuple[str, str] | None:
    """``("Data Source", "AWS KMS")`` for ``"Data Source: AWS KMS"``; None without a colon."""
    prefix, colon, value = tag.partition(":")
    if not colon:
        return None
    return prefix.strip(), value.strip()


def tag_key(tag: str) -> str:
    """Case- and spacing-blind form of a tag, to compare spellings."""
    parts = split_tag(tag)
    text = f"{parts[0]}: {parts[1]}" if parts else tag
    return _SPACES.sub(" ", text).strip().casefold()


def canonical_prefix(prefix: str) -> str | None:
    """The known prefix ``prefix`` spells, ignoring case and spacing."""
    return _prefix_by_key().get(_SPACES.sub(" ", prefix).strip().casefold())


def canonical_tag(tag: str) -> str | None:
    """The vocabulary spelling of ``tag`` if it has one (ignoring case and spacing)."""
    return _vocabulary_by_key().get(tag_key(tag))


def tactic_tag(tactic_name: str) -> str:
    return f"{TACTIC_PREFIX}: {tactic_name}"


def vocabulary() -> tuple[str, ...]:
    """Every tag whose exact spelling is known, tactic tags included."""
    return tuple(_vocabulary_by_key().values())


@lru_cache(maxsize=1)
def _prefix_by_key() -> dict[str, str]:
    return {p.casefold(): p for p in PREFIXES}


@lru_cache(maxsize=1)
def _vocabulary_by_key() -> dict[str, str]:
    tags = [f"{prefix}: {value}" for prefix, values in _VALUES.items() for value in values]
    tags += [tactic_tag(name) for name in load_attack().tactic_names()]
    return {tag_key(t): t for t in tags}
