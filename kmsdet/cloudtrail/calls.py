"""What one API contributes to a record: payloads, resources and the event's classification.

Kept apart from the per-service tables so that those tables stay plain data-building
functions and the record builder can treat KMS and other services alike.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmsdet.cloudtrail.overrides import is_marker
from kmsdet.cloudtrail.values import uuid4

_KEY_ARN = re.compile(r"^arn:aws[\w-]*:kms:([\w-]+):(\d{12}):key/(.+)$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MRK = re.compile(r"^mrk-[0-9a-f]{32}$")


@dataclass(frozen=True)
class KeyRef:
    """One KMS key: its id and ARN, so request, response and resources name the same key."""

    key_id: str
    arn: str
    account: str
    region: str

    @classmethod
    def make(cls, key_id: str, *, account: str, region: str) -> KeyRef:
        return cls(key_id, f"arn:aws:kms:{region}:{account}:key/{key_id}", account, region)

    @classmethod
    def resolve(cls, hint: object, rng: random.Random, *, account: str, region: str) -> KeyRef:
        """The key a caller named (bare id or key ARN); a fresh key for aliases or nothing."""
        if isinstance(hint, str):
            m = _KEY_ARN.match(hint)
            if m:
                return cls(m.group(3), hint, m.group(2), m.group(1))
            if _UUID.match(hint) or _MRK.match(hint):
                return cls.make(hint, account=account, region=region)
        return cls.make(uuid4(rng), account=account, region=region)

    def resource(self) -> dict[str, str]:
        return {"accountId": self.account, "type": "AWS::KMS::Key", "ARN": self.arn}


@dataclass
class CallContext:
    """Everything an API shape may draw on. ``hints`` are the caller's requestParameters."""

    rng: random.Random
    account: str
    region: str
    at: datetime
    key: KeyRef
    hints: Mapping[str, Any] = field(default_factory=dict)

    def hint(self, name: str, default: Any = None) -> Any:
        value = self.hints.get(name, default)
        return default if is_marker(value) else value


@dataclass
class ApiCall:
    """The API-specific part of a record; ``None`` payloads are written as JSON null."""

    request: Any = None
    response: Any = None
    resources: list[dict[str, str]] | None = None
    additional: dict[str, Any] | None = None
    read_only: bool = False
    management: bool = True
    category: str = "Management"
    event_type: str = "AwsApiCall"
    service_event: bool = False


ApiShape = Callable[[CallContext], ApiCall]


@dataclass(frozen=True)
class ApiSpec:
    """An API's event source, its shape builder and the CLI command that calls it."""

    source: str
    shape: ApiShape
    cli_command: str
