"""Target resolution: precedence, named targets, refusal of readable secrets, masking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kmsdet.config import Secret, TargetOptions, load_config_file, resolve_target
from kmsdet.errors import InputError, UsageError

CONFIG = """
default = "staging"
[targets.staging]
url = "https://staging.example:5601/"
space = "detections"
api_key_env = "STAGING_KEY"
[targets.production]
url = "https://prod.example:5601"
space = "prod"
api_key = "file-secret-key"
"""


def config_file(tmp_path: Path, text: str = CONFIG, mode: int = 0o600) -> Path:
    path = tmp_path / "kmsdet.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_secret_is_masked_everywhere() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == "hunter2"


@pytest.mark.parametrize(("options", "env", "expected"), [
    (TargetOptions(url="https://opt:1"), {"KMSDET_KIBANA_URL": "https://env:1"}, "https://opt:1"),
    (TargetOptions(), {"KMSDET_KIBANA_URL": "https://env:1"}, "https://env:1"),
    (TargetOptions(), {}, "https://staging.example:5601"),
    (TargetOptions(target="production"), {}, "https://prod.example:5601"),
])
def test_precedence_options_env_file(tmp_path: Path, options: TargetOptions,
                                     env: dict[str, str], expected: str) -> None:
    path = config_file(tmp_path)
    target = resolve_target(options, env=env, config_paths=[path])
    assert target.url == expected


def test_named_target_takes_space_and_key_from_env_indirection(tmp_path: Path) -> None:
    path = config_file(tmp_path)
    target = resolve_target(TargetOptions(target="staging"), env={"STAGING_KEY": "k1"},
                            config_paths=[path])
    assert target.space == "detections" and target.api_key == Secret("k1")


def test_config_with_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = config_file(tmp_path, mode=0o644)
    with pytest.raises(InputError, match="accessible to other users") as info:
        load_config_file(path)
    assert "file-secret-key" not in str(info.value)
    assert info.value.exit_code == 2  # a bad file is bad input, not an unreachable service


def test_config_without_secret_may_be_world_readable(tmp_path: Path) -> None:
    text = '[targets.dev]\nurl = "http://localhost:5601"\n'
    assert "dev" in load_config_file(config_file(tmp_path, text, 0o644)).targets


@pytest.mark.parametrize(("options", "error", "field"), [
    (TargetOptions(), UsageError, "--kibana-url"),
    (TargetOptions(url="ftp://x"), UsageError, "--kibana-url"),
    (TargetOptions(url="https://u:p@x"), UsageError, "--kibana-url"),
    (TargetOptions(url="https://x/s/space"), UsageError, "--kibana-url"),
    (TargetOptions(url="https://x", space="Bad Space"), UsageError, "--space"),
    (TargetOptions(url="https://x", user="bob"), UsageError, "--kibana-password"),
    (TargetOptions(url="https://x", user="bob", password="p", api_key="k"), UsageError,
     "--kibana-api-key"),
    (TargetOptions(target="nope"), UsageError, "--target"),
    (TargetOptions(url="https://x", ca_cert="/no/such.pem"), InputError, "--kibana-ca-cert"),
])
def test_bad_targets_are_explained(options: TargetOptions, error: type[Exception],
                                   field: str) -> None:
    with pytest.raises(error) as info:
        resolve_target(options, env={}, config_paths=[])
    assert info.value.field == field  # type: ignore[attr-defined]
    assert "p@x" not in str(info.value)


def test_unknown_key_in_config_names_it(tmp_path: Path) -> None:
    path = config_file(tmp_path, '[targets.a]\nurl = "http://x"\napikey = "k"\n')
    with pytest.raises(InputError, match="apikey"):
        load_config_file(path)
