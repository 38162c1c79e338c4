"""With --format json, stdout is JSON whatever happens: failures print an error object there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kmsdet.reports.console import wants_json

REPO = Path(__file__).resolve().parents[3]
RULES = str(REPO / "rules")
CLOSED = "http://127.0.0.1:1"  # nothing listens on port 1


def kmsdet(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "KMSDET_CONFIG": "/nonexistent/kmsdet.toml",
           "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env=env)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["lint", "/nope", "--format", "json"], 2, "no such file or directory"),
    (["test", "/nope", "-f", "json"], 2, "no such file or directory"),
    (["test", "--bogus", "--format=json"], 2, "No such option: --bogus"),
    (["coverage", "/nope", "--format", "json"], 2, "no such file or directory"),
    (["generate", "/nope.toml", "-f", "json"], 2, "does not exist"),
    (["export", "/nope", "-o", "x.ndjson", "-f", "json"], 2, "no such file or directory"),
    (["test", RULES, "--backend", "elasticsearch", "--es-url", CLOSED, "-f", "json"], 3,
     "cannot connect to Elasticsearch"),
    (["seed", RULES, "--es-url", CLOSED, "-f", "json"], 3, "cannot connect to Elasticsearch"),
    (["deploy", RULES, "--kibana-url", CLOSED, "-f", "json"], 3, "cannot reach Kibana"),
    (["pull", "-o", "out", "--kibana-url", CLOSED, "-f", "json"], 3, "cannot reach Kibana"),
])
def test_failure_prints_a_json_error_on_stdout(tmp_path: Path, args: list[str], code: int,
                                                message: str) -> None:
    result = kmsdet(*args, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code
    assert message in error["message"]
    assert set(error) == {"code", "kind", "message", "file", "line", "column", "field", "hint"}
    assert message in result.stderr  # people still read it on stderr
    assert "Traceback" not in result.stderr


def test_located_error_carries_file_line_and_hint(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text("[rule\n", encoding="utf-8")
    result = kmsdet("test", "r.toml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert (error["file"], error["line"]) == ("r.toml", 1)
    assert error["hint"]


def test_text_format_keeps_stdout_empty_on_error(tmp_path: Path) -> None:
    result = kmsdet("lint", "/nope", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""


@pytest.mark.parametrize(("argv", "expected"), [
    (["test", "--format", "json"], True),
    (["test", "-f", "json"], True),
    (["test", "--format=json"], True),
    (["test", "-fjson"], True),
    (["test", "--format", "text"], False),
    (["test", "json"], False),
    (["kql", "check", "--", "--format", "json"], False),
])
def test_wants_json_reads_every_spelling(argv: list[str], expected: bool) -> None:
    assert wants_json(argv) is expected
