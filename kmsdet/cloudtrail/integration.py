"""Which AWS integration package version's cloudtrail pipeline the raw -> ECS mapping emulates.

Users run different package versions, and the pipeline changed between them in ways rules see
(``user.id`` became the identity ARN, the session name left ``user.changes.name``...). A rule
tested against another version's documents can pass here and stay silent in production, so the
version is a choice: a small registry maps package version ranges to a :class:`Pipeline` (a set
of behaviour flags that :mod:`kmsdet.cloudtrail.to_ecs` reads), and the newest is the default.

Facts (the elastic/integrations changelog and pull requests): PR #20318 moved the assumed-role
session name from ``user.changes.name`` to ``related.user`` and was released in 7.1.0; PR #20403
(the pipeline rewrite: ``cloud.provider``, ``cloud.service.name``, ``related.*``, previously
dropped identity fields, ``retain: none`` fixed) shipped as 7.0.1, 7.1.3, 7.2.1, 7.3.1 and on
main after them, and in a 6.x patch release whose number is not recorded here (select 7.0.1 for
it). Before both, the pipeline is the one at commit 0b97ab02.

The process-wide choice (:func:`select`, :func:`selected`) exists because the mapping is called
deep inside case runs, baselines and generators; the CLI sets it once from
``--aws-integration`` / ``KMSDET_AWS_INTEGRATION`` / the config file. Direct callers pass a
:class:`Pipeline` to ``to_ecs`` instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kmsdet.errors import UsageError

ENV_VAR = "KMSDET_AWS_INTEGRATION"

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Pipeline:
    """One emulated state of the cloudtrail ingest pipeline: what it does, flag by flag."""

    name: str
    summary: str
    session_name_to_related: bool = False
    """#20318: no ``user.changes.name`` from the ARN; the session name (and, for an e-mail, its
    local part) goes to ``related.user``; an e-mail session name fills ``user.email``; STS ARNs
    of every partition (``arn:aws-us-gov:``, ``arn:aws-cn:``) are parsed instead of failing."""
    ecs_enrichment: bool = False
    """#20403: ``cloud.provider``, ``cloud.service.name``, ``related.ip``, ``service.name``."""
    user_id_is_arn: bool = False
    """#20403: ``user.id`` = identity ARN, principal ID in ``aws.cloudtrail.user_identity.
    principal_id``, ``ec2RoleDelivery`` mapped, ``related.user`` gains the ARN."""
    retain_none_drops_payloads: bool = False
    """#20403: ``retain: none`` drops the payload strings and flattened copies."""
    newer_categories: bool = False
    """#20403: SendCommand gets an ``event.type``; DeleteObject's type is ``deletion``."""
    management_event_string: bool = False
    """Since 7.1.0: ``aws.cloudtrail.management_event`` stored as the string its keyword mapping
    holds (``"true"``), no longer the JSON boolean."""


LEGACY = Pipeline("0b97ab02", "pipeline of commit 0b97ab02: user.id = principal ID, "
                  "assumed-role session name in user.changes.name, only arn:aws: STS ARNs parsed")
SESSION_RELATED = Pipeline(
    "7.1.0", "session name to related.user (and user.email when an e-mail) instead of "
    "user.changes.name; STS ARNs of every partition parsed (PR #20318); management_event "
    "stored as a string", session_name_to_related=True, management_event_string=True)
CURRENT = Pipeline(
    "current", "pipeline rewrite (PR #20403): user.id = identity ARN, principal ID in "
    "aws.cloudtrail.user_identity.principal_id, cloud.provider, cloud.service.name, related.ip, "
    "service.name of AWS service callers, SendCommand event.type, retain none drops payloads",
    session_name_to_related=True, ecs_enrichment=True, user_id_is_arn=True,
    retain_none_drops_payloads=True, newer_categories=True, management_event_string=True)

PIPELINES: tuple[Pipeline, ...] = (LEGACY, SESSION_RELATED, CURRENT)
"""Every distinct behaviour, oldest first; ``--aws-integration all`` runs each once."""
NEWEST = CURRENT


@dataclass(frozen=True)
class VersionRange:
    """Package versions ``low`` (inclusive) to ``high`` (exclusive); None is open."""

    low: Version | None
    high: Version | None
    pipeline: Pipeline

    def contains(self, version: Version) -> bool:
        return ((self.low is None or version >= self.low)
                and (self.high is None or version < self.high))

    def label(self) -> str:
        if self.low is None and self.high is not None:
            return f"< {_text(self.high)}"
        if self.high is None and self.low is not None:
            return f">= {_text(self.low)}"
        assert self.low is not None and self.high is not None
        last = (self.high[0], self.high[1], self.high[2] - 1) if self.high[2] else None
        if last is not None and last == self.low:
            return _text(self.low)
        return f"{_text(self.low)} - <{_text(self.high)}"


RANGES: tuple[VersionRange, ...] = (
    VersionRange(None, (7, 0, 1), LEGACY),
    VersionRange((7, 0, 1), (7, 1, 0), CURRENT),
    VersionRange((7, 1, 0), (7, 1, 3), SESSION_RELATED),
    VersionRange((7, 1, 3), (7, 2, 0), CURRENT),
    VersionRange((7, 2, 0), (7, 2, 1), SESSION_RELATED),
    VersionRange((7, 2, 1), (7, 3, 0), CURRENT),
    VersionRange((7, 3, 0), (7, 3, 1), SESSION_RELATED),
    VersionRange((7, 3, 1), None, CURRENT),
)
"""Package version ranges, oldest first (what ``kmsdet events --list-aws-integrations`` prints)."""

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?")
_NAMES = {"current": CURRENT, "latest": CURRENT, LEGACY.name: LEGACY}


def parse_version(text: str, *, source: str = "--aws-integration") -> Version:
    m = _VERSION.fullmatch(text.strip())
    if not m:
        raise UsageError(f"'{text}' is not an AWS integration package version", field=source,
                         hint="e.g. 7.3.1 (see kmsdet events --list-aws-integrations)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def resolve(text: str, *, source: str = "--aws-integration") -> Pipeline:
    """The pipeline a package version (``7.1.2``) or a name (``current``, ``0b97ab02``) means."""
    named = _NAMES.get(text.strip().lower())
    if named is not None:
        return named
    version = parse_version(text, source=source)
    for span in RANGES:
        if span.contains(version):
            return span.pipeline
    raise AssertionError("RANGES cover every version")  # pragma: no cover


def list_ranges() -> list[str]:
    """One line per range, oldest first: the versions, the behaviour's name and what changed."""
    width = max(len(r.label()) for r in RANGES)
    return [f"{r.label():<{width}}  {r.pipeline.name:<8}  {r.pipeline.summary}" for r in RANGES]


def choose(option: str | None, *, env_value: str | None = None, config_value: str | None = None,
           config_source: str = "config file: aws_integration",
           allow_all: bool = False) -> tuple[Pipeline, ...]:
    """The pipelines a command runs with: the option, else the env var, else the config file's
    ``aws_integration``, else the newest. ``all`` (only where ``allow_all``) means every one."""
    for value, source in ((option, "--aws-integration"), (env_value, ENV_VAR),
                          (config_value, config_source)):
        if value is None or not value.strip():
            continue
        if value.strip().lower() == "all":
            if not allow_all:
                raise UsageError("'all' versions only make sense for kmsdet test", field=source,
                                 hint="give one version, e.g. 7.3.1, or run kmsdet test "
                                      "--aws-integration all")
            return PIPELINES
        return (resolve(value, source=source),)
    return (NEWEST,)


_selected: Pipeline | None = None
_actor_target: bool | None = None
ACTOR_TARGET_ENV_VAR = "KMSDET_ACTOR_TARGET_MAPPING"


def selected() -> Pipeline:
    """The process-wide pipeline: set by :func:`select`, else ``KMSDET_AWS_INTEGRATION``, else
    the newest."""
    if _selected is not None:
        return _selected
    env = os.environ.get(ENV_VAR)
    return resolve(env, source=ENV_VAR) if env else NEWEST


def select(pipeline: Pipeline | None, *, actor_target: bool | None = None) -> None:
    """Make ``pipeline`` (and the actor/target mapping option) the process-wide default (None:
    back to the env vars / newest / off)."""
    global _selected, _actor_target
    _selected, _actor_target = pipeline, actor_target


def selected_actor_target() -> bool:
    """Whether the integration's actor/target mapping option is on (default off, as in Fleet)."""
    if _actor_target is not None:
        return _actor_target
    return os.environ.get(ACTOR_TARGET_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def using(pipeline: Pipeline) -> Iterator[Pipeline]:
    """Run a block with ``pipeline`` selected, restoring the previous choice afterwards."""
    global _selected
    before = _selected
    _selected = pipeline
    try:
        yield pipeline
    finally:
        _selected = before


def _text(version: Version) -> str:
    return ".".join(str(p) for p in version)
