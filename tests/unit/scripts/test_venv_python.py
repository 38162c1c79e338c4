"""make's interpreter check: an unsupported PYTHON is named with the fix, and a .venv made by
another Python is rebuilt instead of trapping every later run."""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "venv_python.py"
HERE = sys.version_info[:2]


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("venv_python", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_venv(root: Path, version: str | None) -> Path:
    venv = root / ".venv"
    (venv / "bin").mkdir(parents=True)
    if version is not None:
        (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {version}\n")
    (venv / ".kmsdet-installed").write_text("")
    return venv


@pytest.mark.parametrize("version", [(3, 9), (3, 14), (2, 7)])
def test_unsupported_python_is_named_with_the_fix(script: ModuleType, tmp_path: Path,
                                                  version: tuple[int, int]) -> None:
    venv = fake_venv(tmp_path, "3.12.1")
    out = io.StringIO()
    assert script.check(str(venv), version, "/usr/bin/python3.9", out) == 1
    assert "kmsdet needs Python 3.10 to 3.13" in out.getvalue()
    assert f"is {version[0]}.{version[1]}" in out.getvalue()
    assert "PYTHON=python3.12" in out.getvalue()
    assert venv.is_dir()  # a good venv is not thrown away for a typo in PYTHON


@pytest.mark.parametrize("made_by", ["3.9.6", None])
def test_a_venv_of_another_python_is_removed(script: ModuleType, tmp_path: Path,
                                             made_by: str | None) -> None:
    venv = fake_venv(tmp_path, made_by)
    out = io.StringIO()
    assert script.check(str(venv), (3, 12, 0), "/usr/bin/python3.12", out) == 0
    assert not venv.exists()
    assert "recreating" in out.getvalue() and "PYTHON is 3.12" in out.getvalue()


def test_a_venv_of_the_same_python_is_kept(script: ModuleType, tmp_path: Path) -> None:
    venv = fake_venv(tmp_path, "3.12.4")
    out = io.StringIO()
    assert script.check(str(venv), (3, 12, 9), "/usr/bin/python3.12", out) == 0
    assert venv.is_dir() and out.getvalue() == ""


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_rebuilds_a_venv_left_by_another_python(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", "scripts/venv_python.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    other = "3.9.6" if HERE != (3, 9) else "3.12.0"
    venv = fake_venv(tmp_path, other)  # with an up-to-date install stamp
    result = subprocess.run(["make", "-n", "install", f"PYTHON={sys.executable}"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "recreating .venv" in result.stderr
    assert f"{sys.executable} -m venv .venv" in result.stdout  # it will be built again
    assert not venv.exists()
