"""The sandbox target file is one kmsdet.config already reads: --target sandbox resolves."""

from __future__ import annotations

import stat
from pathlib import Path

from kmsdet.config import TargetOptions, load_config_file, resolve_target
from kmsdet.sandbox.target import SandboxTarget, write_target


def test_written_target_resolves_through_kmsdet_config(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = write_target(tmp_path / "targets" / "sandbox.toml",
                        SandboxTarget.for_ports(9250, 5650, tmp_path / ".env", ca, "kmsdet"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config_file(path).default == "sandbox"
    target = resolve_target(TargetOptions(config_file=str(path)),
                            env={"ELASTIC_PASSWORD": "from-dotenv"})
    assert (target.name, target.url, target.user, target.ca_cert) == (
        "sandbox", "https://127.0.0.1:5650", "elastic", ca)
    assert target.password is not None and target.password.reveal() == "from-dotenv"
    assert "from-dotenv" not in path.read_text()
