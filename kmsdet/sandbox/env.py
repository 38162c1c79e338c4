"""The sandbox's .env: created on first use, secrets generated once and then kept.

Compose reads .env on its own, so it is the single place the passwords and Kibana encryption
keys live. Keys must stay stable (Kibana cannot decrypt rules saved under another key), so an
existing value is never replaced; only missing or empty ones are filled. The file is written
with mode 0600 because it holds the superuser password.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kmsdet.errors import InputError

# Non-secret settings and their defaults, in the order a new .env lists them.
DEFAULTS: dict[str, str] = {
    "COMPOSE_PROJECT_NAME": "kmsdet",
    "STACK_VERSION": "9.5.6",
    "LICENSE": "basic",
    "CLUSTER_NAME": "kmsdet-sandbox",
    "ES_PORT": "9200",
    "KIBANA_PORT": "5601",
    "ES_MEM_LIMIT": "2g",
    "KIBANA_MEM_LIMIT": "2g",
    "SETUP_MEM_LIMIT": "1g",
}
PASSWORDS = ("ELASTIC_PASSWORD", "KIBANA_PASSWORD")
ENCRYPTION_KEYS = (
    "KIBANA_ENCRYPTED_SAVED_OBJECTS_KEY",
    "KIBANA_SECURITY_KEY",
    "KIBANA_REPORTING_KEY",
)
SECRET_KEYS = PASSWORDS + ENCRYPTION_KEYS
MIN_PASSWORD = 6  # Elasticsearch's own minimum for native-realm passwords
MIN_KEY = 32  # Kibana refuses shorter encryption keys

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
# Characters that would break the setup script's curl config or Compose interpolation.
_UNSAFE = re.compile(r"[\"'\\$`\s]")


@dataclass
class EnvFile:
    """A parsed .env: values plus the 1-based line of each key, for error locations."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        return value if value not in (None, "") else default

    def secrets(self) -> list[str]:
        """The secret values present, for scrubbing anything printed (logs, compose errors)."""
        return [v for k in SECRET_KEYS if (v := self.values.get(k))]


@dataclass(frozen=True)
class EnvChange:
    """What ensure_env did, so the CLI can tell the user without showing any value."""

    path: Path
    created: bool
    generated: tuple[str, ...]
    added_defaults: tuple[str, ...]
    fixed_mode: bool


def parse_env(text: str, path: Path) -> EnvFile:
    """Parse the dotenv subset Compose and kmsdet both understand: KEY=value, # comments."""
    env = EnvFile(path=path)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise InputError("not a KEY=value line", file=str(path), line=number,
                             hint="each line is NAME=value; comments start with #")
        key, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env.values[key] = value
        env.lines[key] = number
    return env


def read_env(path: Path) -> EnvFile:
    """Read and check .env; a missing file reads as empty (status/logs work without it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return EnvFile(path=path)
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror}", file=str(path)) from exc
    env = parse_env(text, path)
    check_env(env)
    return env


def check_env(env: EnvFile) -> None:
    """Refuse secrets that Elasticsearch/Kibana would reject or the setup script would mangle."""
    for key in SECRET_KEYS:
        value = env.values.get(key)
        if not value:
            continue
        where = {"file": str(env.path), "line": env.lines.get(key), "field": key}
        minimum = MIN_PASSWORD if key in PASSWORDS else MIN_KEY
        if len(value) < minimum:
            raise InputError(f"{key} is too short ({len(value)} characters, needs {minimum})",
                             hint=f"empty the value and run `kmsdet sandbox up` to generate "
                                  f"one, or write at least {minimum} characters", **where)
        if _UNSAFE.search(value):
            raise InputError(f"{key} contains a quote, backslash, '$', '`' or whitespace",
                             hint="use letters, digits, '-' and '_' only", **where)


def generate_secret(key: str) -> str:
    """A fresh random value of the right kind: URL-safe passwords, hex encryption keys."""
    if key in PASSWORDS:
        return secrets.token_urlsafe(24)
    return secrets.token_hex(32)


def ensure_env(path: Path, example: Path | None = None) -> EnvChange:
    """Create or complete .env without ever changing a value that is already set.

    A new file starts from .env.example (so its comments come along) when one is given and
    exists; empty secrets are generated, missing settings appended with their defaults.
    """
    created = not path.exists()
    if created:
        template = example.read_text(encoding="utf-8") if example and example.is_file() else ""
        text = template or "".join(f"{k}=\n" for k in (*DEFAULTS, *SECRET_KEYS))
    else:
        text = path.read_text(encoding="utf-8")
    env = parse_env(text, path)
    check_env(env)

    generated: list[str] = []
    lines = text.splitlines()
    for key in SECRET_KEYS:
        if env.values.get(key):
            continue
        value = generate_secret(key)
        generated.append(key)
        if key in env.lines:
            lines[env.lines[key] - 1] = f"{key}={value}"
        else:
            lines.append(f"{key}={value}")
    added = [k for k in DEFAULTS if k not in env.values]
    if added:
        lines.append("# added by kmsdet sandbox up")
        lines.extend(f"{k}={DEFAULTS[k]}" for k in added)

    fixed_mode = False
    if created or generated or added:
        _write_private(path, "\n".join(lines) + "\n")
    elif os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        fixed_mode = True
    return EnvChange(path=path, created=created, generated=tuple(generated),
                     added_defaults=tuple(added), fixed_mode=fixed_mode)


def _write_private(path: Path, text: str) -> None:
    """Write through a 0600 temporary file and rename, so no reader sees a half-written file."""
    tmp = path.with_name(f".{path.name}.kmsdet-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def setting(env: EnvFile | Mapping[str, str], key: str) -> str:
    """A non-secret setting from .env, falling back to the compose file's default."""
    values = env.values if isinstance(env, EnvFile) else env
    return values.get(key) or DEFAULTS[key]


def port_setting(env: EnvFile, key: str) -> int:
    raw = setting(env, key)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise InputError(f"{key} must be a port number, not {raw!r}", file=str(env.path),
                         line=env.lines.get(key), field=key, hint=f"e.g. {key}={DEFAULTS[key]}")
    return int(raw)


def redact(text: str, secret_values: Iterable[str]) -> str:
    """Replace every secret value in text, longest first so no fragment survives."""
    for value in sorted({v for v in secret_values if v}, key=len, reverse=True):
        text = text.replace(value, "********")
    return text
