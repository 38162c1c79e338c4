"""ensure_env: a new .env has every secret, mode 0600, and existing values never change."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kmsdet.errors import InputError
from kmsdet.sandbox.env import (
    DEFAULTS,
    ENCRYPTION_KEYS,
    PASSWORDS,
    SECRET_KEYS,
    ensure_env,
    parse_env,
    read_env,
    redact,
)
from tests.unit.sandbox.conftest import REPO


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_env_from_the_example_has_every_secret_and_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    change = ensure_env(path, REPO / ".env.example")
    env = read_env(path)
    assert change.created and set(change.generated) == set(SECRET_KEYS)
    assert _mode(path) == 0o600
    assert all(len(env.values[k]) >= 32 for k in ENCRYPTION_KEYS)
    assert all(len(env.values[k]) >= 6 for k in PASSWORDS)
    assert len({env.values[k] for k in SECRET_KEYS}) == len(SECRET_KEYS)
    assert {k: env.values[k] for k in DEFAULTS} == DEFAULTS
    assert "Never commit .env." in path.read_text()  # the example's comments came along


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    ensure_env(path, REPO / ".env.example")
    before = path.read_text()
    change = ensure_env(path, REPO / ".env.example")
    assert (change.created, change.generated, change.added_defaults) == (False, (), ())
    assert path.read_text() == before


def test_existing_values_are_kept_and_only_gaps_are_filled(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("ES_PORT=9250\nELASTIC_PASSWORD=my-own-pw\nKIBANA_PASSWORD=\n")
    path.chmod(0o644)
    change = ensure_env(path)
    env = read_env(path)
    assert env.values["ES_PORT"] == "9250"
    assert env.values["ELASTIC_PASSWORD"] == "my-own-pw"
    assert env.values["KIBANA_PASSWORD"] and env.lines["KIBANA_PASSWORD"] == 3
    assert set(change.generated) == set(SECRET_KEYS) - {"ELASTIC_PASSWORD"}
    assert "ES_PORT" not in change.added_defaults and "STACK_VERSION" in change.added_defaults
    assert _mode(path) == 0o600


def test_a_complete_but_world_readable_env_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    ensure_env(path)
    path.chmod(0o644)
    assert ensure_env(path).fixed_mode
    assert _mode(path) == 0o600


@pytest.mark.parametrize(("text", "line", "field"), [
    ("ES_PORT=9200\nELASTIC_PASSWORD=abc\n", 2, "ELASTIC_PASSWORD"),
    ("KIBANA_SECURITY_KEY=short\n", 1, "KIBANA_SECURITY_KEY"),
    ('KIBANA_PASSWORD=has"quote\n', 1, "KIBANA_PASSWORD"),
    ("ELASTIC_PASSWORD=pa$$word\n", 1, "ELASTIC_PASSWORD"),
    ("# comment\nnot a setting\n", 2, None),
])
def test_bad_env_is_an_input_error_at_its_line(tmp_path: Path, text: str, line: int,
                                               field: str | None) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_env(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), line, field)
    assert "abc" not in caught.value.message  # a rejected secret is never echoed


def test_parse_handles_quotes_export_and_inline_comments() -> None:
    env = parse_env('export A="x y"\nB=\'z\'\nC=v # note\n', Path(".env"))
    assert env.values == {"A": "x y", "B": "z", "C": "v"}


def test_redact_masks_longest_secret_first() -> None:
    assert redact("pw=abcdef and abc", ["abc", "abcdef"]) == "pw=******** and ********"
