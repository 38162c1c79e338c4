"""Targets: which Kibana to talk to, in which space, with which credentials.

Every command that talks to a service resolves its target here, from (highest first) command
options, KMSDET_* environment variables, and an optional config file of named targets. The
config file is refused while it holds a secret that other users can read, and every secret is
wrapped in ``Secret`` so that no repr, log line or error message can print it by accident.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kmsdet.errors import InputError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ENV_URL = "KMSDET_KIBANA_URL"
ENV_SPACE = "KMSDET_KIBANA_SPACE"
ENV_API_KEY = "KMSDET_KIBANA_API_KEY"
ENV_USER = "KMSDET_KIBANA_USER"
ENV_PASSWORD = "KMSDET_KIBANA_PASSWORD"
ENV_CA_CERT = "KMSDET_KIBANA_CA_CERT"
ENV_CONFIG = "KMSDET_CONFIG"

DEFAULT_SPACE = "default"
MASK = "********"
_SECRET_KEYS = ("api_key", "password")
# Targets that kmsdet writes itself (`kmsdet sandbox up`), found by name with --target NAME.
TARGETS_DIR = Path(".kmsdet") / "targets"
_TARGET_KEYS = {"url", "space", "api_key", "api_key_env", "user", "password", "password_env",
                "password_env_file", "elasticsearch_url",
                "ca_cert", "insecure", "timeout"}


class Secret:
    """A credential whose text is only reachable through ``reveal()``.

    str(), repr(), f-strings and pydantic/dataclass reprs all show a mask, so a secret that
    ends up in an error message or a JSON report is harmless.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Target:
    """A resolved Kibana target; ``url`` has no trailing slash and no space prefix."""

    url: str
    space: str = DEFAULT_SPACE
    api_key: Secret | None = None
    user: str | None = None
    password: Secret | None = None
    ca_cert: Path | None = None
    insecure: bool = False
    timeout: float = 30.0
    name: str | None = None
    elasticsearch_url: str | None = None  # the same stack's Elasticsearch (sandbox targets)

    def __post_init__(self) -> None:
        from kmsdet.masking import register_credentials

        register_credentials(api_key=self.api_key.reveal() if self.api_key else None,
                             user=self.user,
                             password=self.password.reveal() if self.password else None)

    @property
    def secrets(self) -> list[str]:
        """Every secret's text, for scrubbing outputs (tests and renderers use it)."""
        return [s.reveal() for s in (self.api_key, self.password) if s]

    def describe(self) -> str:
        auth = "api key" if self.api_key else (f"user {self.user}" if self.user else "no auth")
        label = f"{self.name}: " if self.name else ""
        return f"{label}{self.url} space {self.space} ({auth})"


@dataclass
class TargetOptions:
    """What the user typed on the command line; ``None`` means "not given"."""

    target: str | None = None
    url: str | None = None
    space: str | None = None
    api_key: str | None = None
    user: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    insecure: bool | None = None
    config_file: str | None = None


@dataclass
class ConfigFile:
    path: Path
    default: str | None = None
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    aws_integration: str | None = None
    """Top-level ``aws_integration``: the AWS integration package version users run."""
    actor_target_mapping: bool | None = None
    """Top-level ``actor_target_mapping``: the integration's actor/target mapping option."""


def default_config_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    """Where a config file is looked for when none is named: ./kmsdet.toml, then the user's."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return [Path(env[ENV_CONFIG])]
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return [Path("kmsdet.toml"), base / "kmsdet" / "config.toml"]


def load_config_file(path: Path) -> ConfigFile:
    """Parse a config file of named targets, refusing it if it leaks a secret to others."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read config file: {exc.strerror}", file=str(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config file is not valid TOML: {exc}", file=str(path)) from exc
    targets = data.get("targets", {})
    if not isinstance(targets, dict) or not all(isinstance(v, dict) for v in targets.values()):
        raise InputError("[targets] must be a table of tables, e.g. [targets.staging]",
                         file=str(path), field="targets")
    for name, table in targets.items():
        unknown = sorted(set(table) - _TARGET_KEYS)
        if unknown:
            raise InputError(f"unknown key '{unknown[0]}' in target '{name}'", file=str(path),
                             field=f"targets.{name}.{unknown[0]}",
                             hint=f"known keys: {', '.join(sorted(_TARGET_KEYS))}")
    default = data.get("default")
    if default is not None and default not in targets:
        raise InputError(f"default target '{default}' is not defined", file=str(path),
                         field="default", hint=f"define [targets.{default}]")
    integration = data.get("aws_integration")
    if integration is not None and not isinstance(integration, str):
        raise InputError("aws_integration must be a version string, e.g. \"7.3.1\"",
                         file=str(path), field="aws_integration")
    mapping = data.get("actor_target_mapping")
    if mapping is not None and not isinstance(mapping, bool):
        raise InputError("actor_target_mapping must be true or false", file=str(path),
                         field="actor_target_mapping")
    holds_secret = any(table.get(k) for table in targets.values() for k in _SECRET_KEYS)
    if holds_secret:
        _refuse_if_readable_by_others(path)
    return ConfigFile(path=path, default=default, targets=targets, aws_integration=integration,
                      actor_target_mapping=mapping)


def find_config_file(config_file: Path | None = None,
                     env: Mapping[str, str] | None = None) -> ConfigFile | None:
    """The config file a command reads: ``--config``, else the first of the default paths."""
    env = os.environ if env is None else env
    if config_file is not None:
        if not config_file.is_file():
            raise InputError(f"config file not found: {config_file}", field="--config")
        return load_config_file(config_file)
    for path in default_config_paths(env):
        if path.is_file():
            return load_config_file(path)
    return None


def _refuse_if_readable_by_others(path: Path) -> None:
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InputError(  # the file is bad input (exit 2), not an unreachable service
            f"config file holds a secret but is accessible to other users (mode {mode:o})",
            file=str(path),
            hint=f"run: chmod 600 {path}  (or keep the secret in an environment variable "
                 "named by api_key_env / password_env)")


def resolve_target(options: TargetOptions, env: Mapping[str, str] | None = None,
                   config_paths: Sequence[Path] | None = None) -> Target:
    """Merge options > environment > config file into one Target, or explain what is missing."""
    env = os.environ if env is None else env
    config = _find_config(options, env, config_paths)
    table: dict[str, Any] = {}
    name = options.target
    if name is not None:
        if config is None or name not in config.targets:
            known = sorted(config.targets) if config else []
            raise UsageError(f"unknown target '{name}'", field="--target",
                             hint=(f"known targets: {', '.join(known)}" if known else
                                   "define it under [targets.NAME] in kmsdet.toml or "
                                   "~/.config/kmsdet/config.toml"))
        table = config.targets[name]
    elif config is not None and config.default and not (options.url or env.get(ENV_URL)):
        name = config.default
        table = config.targets[name]
    where = str(config.path) if config and table else None

    def pick(opt: Any, env_key: str, key: str) -> Any:
        if opt not in (None, ""):
            return opt
        if env.get(env_key):
            return env[env_key]
        return table.get(key)

    url = pick(options.url, ENV_URL, "url")
    if not url:
        raise UsageError("no Kibana URL given", field="--kibana-url",
                         hint=f"pass --kibana-url, set {ENV_URL}, or choose --target NAME")
    url = _check_url(str(url))
    space = str(pick(options.space, ENV_SPACE, "space") or DEFAULT_SPACE)
    _check_space(space)
    api_key = pick(options.api_key, ENV_API_KEY, "api_key")
    if not api_key and table.get("api_key_env"):
        api_key = env.get(str(table["api_key_env"]))
    user = pick(options.user, ENV_USER, "user")
    password = pick(options.password, ENV_PASSWORD, "password")
    if not password and table.get("password_env"):
        password = env.get(str(table["password_env"]))
        if not password and table.get("password_env_file"):
            password = _dotenv_value(Path(str(table["password_env_file"])),
                                     str(table["password_env"]))
    if api_key and user:
        raise UsageError("both an API key and a user name were given", field="--kibana-api-key",
                         hint="use either --kibana-api-key or --kibana-user/--kibana-password")
    if user and not password:
        raise UsageError(f"user '{user}' given without a password", field="--kibana-password",
                         hint=f"pass --kibana-password or set {ENV_PASSWORD}")
    ca_raw = pick(options.ca_cert, ENV_CA_CERT, "ca_cert")
    ca_cert = Path(str(ca_raw)).expanduser() if ca_raw else None
    if ca_cert is not None and not ca_cert.is_file():
        raise InputError(f"CA certificate not found: {ca_cert}", field="--kibana-ca-cert",
                         file=where)
    insecure = bool(options.insecure) if options.insecure is not None else bool(
        table.get("insecure", False))
    timeout = table.get("timeout", 30.0)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InputError("timeout must be a positive number of seconds", file=where,
                         field=f"targets.{name}.timeout")
    return Target(url=url, space=space, api_key=Secret(str(api_key)) if api_key else None,
                  user=str(user) if user else None,
                  password=Secret(str(password)) if password else None,
                  ca_cert=ca_cert, insecure=insecure, timeout=float(timeout), name=name,
                  elasticsearch_url=str(table["elasticsearch_url"])
                  if table.get("elasticsearch_url") else None)


def _dotenv_value(path: Path, key: str) -> str | None:
    """``KEY=value`` from a dotenv file (the sandbox's .env), without exporting it anywhere."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", file=str(path),
                         hint="run `kmsdet sandbox up` to create it") from exc
    for line in lines:
        name, sep, value = line.strip().partition("=")
        if sep and name.strip() == key:
            return value.strip().strip('"').strip("'") or None
    return None


def _find_config(options: TargetOptions, env: Mapping[str, str],
                 config_paths: Sequence[Path] | None) -> ConfigFile | None:
    if options.config_file:
        path = Path(options.config_file)
        if not path.is_file():
            raise InputError(f"config file not found: {path}", field="--config")
        return load_config_file(path)
    found: ConfigFile | None = None
    for path in config_paths if config_paths is not None else default_config_paths(env):
        if path.is_file():
            found = load_config_file(path)
            break
    if options.target and (found is None or options.target not in found.targets):
        named = TARGETS_DIR / f"{options.target}.toml"
        if named.is_file():
            return load_config_file(named)  # written by `kmsdet sandbox up`
    return found


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        # Checked first so that the URL, which holds a secret, is never echoed back.
        raise UsageError("credentials inside the URL are not accepted", field="--kibana-url",
                         hint="use --kibana-api-key or --kibana-user/--kibana-password")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"not an http(s) URL: {url!r}", field="--kibana-url",
                         hint="for example https://kibana.example.com:5601")
    path = parts.path.rstrip("/")
    if "/s/" in f"{path}/":
        raise UsageError("the URL contains a space prefix (/s/...)", field="--kibana-url",
                         hint="pass the base URL and the space with --space")
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_space(space: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9_\-]+", space):
        raise UsageError(f"invalid space id {space!r}", field="--space",
                         hint="space ids are lower-case letters, digits, '_' and '-'")
