"""The `sandbox` target that `up` leaves behind, so deploy/test can say --target sandbox.

It is written in the [targets.NAME] shape kmsdet.config reads (url, space, user, password_env
with password_env_file, ca_cert, elasticsearch_url) under .kmsdet/targets/, where --target NAME
finds it; it holds no secret: the password stays in .env and is referenced by name. The
[sandbox] table records the compose project for `kmsdet sandbox` itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kmsdet.sandbox.project import TARGET_NAME


@dataclass(frozen=True)
class SandboxTarget:
    kibana_url: str
    elasticsearch_url: str
    user: str
    password_env: str
    env_file: Path
    ca_cert: Path
    project: str

    @classmethod
    def for_ports(cls, es_port: int, kibana_port: int, env_file: Path, ca_cert: Path,
                  project: str) -> SandboxTarget:
        return cls(kibana_url=f"https://127.0.0.1:{kibana_port}",
                   elasticsearch_url=f"https://127.0.0.1:{es_port}", user="elastic",
                   password_env="ELASTIC_PASSWORD", env_file=env_file.resolve(),
                   ca_cert=ca_cert.resolve(), project=project)


def _q(value: object) -> str:
    """A TOML basic string; JSON string escaping is a subset TOML accepts."""
    return json.dumps(str(value))


def render_target(target: SandboxTarget) -> str:
    return "\n".join([
        "# Written by `kmsdet sandbox up`; rewritten on every up. No secret is stored here:",
        f"# the password is {target.password_env} in {target.env_file}.",
        f"default = {_q(TARGET_NAME)}",
        "",
        f"[targets.{TARGET_NAME}]",
        f"url = {_q(target.kibana_url)}",
        'space = "default"',
        f"user = {_q(target.user)}",
        f"password_env = {_q(target.password_env)}",
        f"password_env_file = {_q(target.env_file)}",
        f"ca_cert = {_q(target.ca_cert)}",
        f"elasticsearch_url = {_q(target.elasticsearch_url)}",
        "",
        "[sandbox]",
        f"elasticsearch_url = {_q(target.elasticsearch_url)}",
        f"env_file = {_q(target.env_file)}",
        f"password_key = {_q(target.password_env)}",
        f"compose_project = {_q(target.project)}",
        "",
    ])


def write_target(path: Path, target: SandboxTarget) -> Path:
    """Write the target file with mode 0600 (it names where the superuser password lives)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(render_target(target))
    os.chmod(path, 0o600)
    return path
