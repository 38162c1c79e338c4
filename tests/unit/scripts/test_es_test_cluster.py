"""The test-cluster script's decisions that need no JVM: which JDK, which settings, state."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "es_test_cluster.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("es_test_cluster", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["es_test_cluster"] = module
    spec.loader.exec_module(module)
    return module


def fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


@pytest.mark.parametrize(("version", "major"), [("17.0.15", 17), ("25.0.3", 25),
                                                 ("1.8.0_392", 8), ("21", 21)])
def test_java_major_is_read_from_the_release_file(script: ModuleType, tmp_path: Path,
                                                  version: str, major: int) -> None:
    assert script.java_major(fake_jdk(tmp_path, "jdk", version)) == major


def test_explicit_es_java_home_must_be_new_enough(script: ModuleType, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    old = fake_jdk(tmp_path, "old", "17.0.1")
    monkeypatch.setenv("ES_JAVA_HOME", str(old))
    assert script.find_java(17) == old
    with pytest.raises(script.Problem) as info:
        script.find_java(21)
    assert info.value.code == script.EXIT_MISSING_PREREQUISITE


def test_oldest_fitting_jdk_is_chosen(script: ModuleType, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    jdks = [fake_jdk(tmp_path, n, v) for n, v in (("a", "25.0.3"), ("b", "21.0.2"),
                                                  ("c", "17.0.9"))]
    monkeypatch.setenv("JAVA_HOME", str(jdks[0]))
    monkeypatch.setattr(script, "Path", _only_under(tmp_path, jdks))
    monkeypatch.setattr(script.shutil, "which", lambda _name: None)
    assert script.find_java(21).name == "b"


def _only_under(root: Path, jdks: list[Path]) -> type[Path]:
    """A Path whose /usr/lib/jvm lists only the fake JDKs."""

    class FakePath(type(root)):  # type: ignore[misc]
        def is_dir(self) -> bool:
            return True if str(self) == "/usr/lib/jvm" else super().is_dir()

        def iterdir(self):  # type: ignore[no-untyped-def]
            return iter(jdks) if str(self) == "/usr/lib/jvm" else super().iterdir()

    return FakePath


def test_security_is_disabled_only_where_the_module_exists(script: ModuleType,
                                                           tmp_path: Path) -> None:
    home = tmp_path / "es"
    (home / "modules").mkdir(parents=True)
    bare = script.node_settings(home, tmp_path / "run", 9299)
    assert "discovery.type=single-node" in bare and "http.port=9299" in bare
    assert "network.host=127.0.0.1" in bare
    assert not any(a.startswith("xpack.security") for a in bare)
    (home / "modules" / "x-pack-security").mkdir()
    assert "xpack.security.enabled=false" in script.node_settings(home, tmp_path / "run", 1)


def test_state_round_trips_and_missing_state_is_none(script: ModuleType, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KMSDET_ES_STATE", str(tmp_path / "es.json"))
    assert script.read_state() is None
    state = script.State(url="http://127.0.0.1:1", pid=1, version="8.19.21",
                         distribution="d", run_dir="/tmp/kmsdet-es-x", java_home="/j",
                         started_at=0.0)
    script.write_state(state)
    assert script.read_state() == state
    assert script.cmd_url() == script.EXIT_FAILED  # recorded but not running
