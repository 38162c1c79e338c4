"""The eql package's parser loaded from its saved copy parses exactly like a freshly built one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kmsdet.eql.package import CACHE_ENV, cache_dir
from tests.unit.rules.test_corpus_twins import CORPUS, TWINS

SAVED = "eql-grammar-py{}{}.lark".format(*sys.version_info[:2])
# Every EQL query of the Elastic-format corpus and of its broken twins, parsed the way lint
# parses them; printed as the tree's text or the error with its position.
SCRIPT = """
import json, sys, tomllib
from pathlib import Path
from kmsdet.eql.package import load_eql
from kmsdet.rules.checks.query import _parse_eql
eql = load_eql()
out = []
for path in sys.argv[1:]:
    rule = tomllib.loads(Path(path).read_text(encoding="utf-8"))["rule"]
    if rule.get("language") != "eql":
        continue
    for query in (rule["query"], rule["query"].replace("==", "=== ", 1)):
        try:
            out.append(str(_parse_eql(query)))
        except eql.EqlError as exc:
            out.append(f"{type(exc).__name__} {getattr(exc, 'line', None)} "
                       f"{getattr(exc, 'column', None)} {exc}")
print(json.dumps(out))
"""


def _parse_all(cache: str, twins: Path) -> list[str]:
    env = dict(os.environ, **{CACHE_ENV: cache})
    files = [str(p) for p in sorted(CORPUS.glob("*.toml")) + sorted(twins.glob("*.toml"))]
    done = subprocess.run([sys.executable, "-c", SCRIPT, *files], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("twins")
    for name, (old, new, _code) in TWINS.items():
        (root / name).write_text((CORPUS / name).read_text(encoding="utf-8").replace(old, new),
                                 encoding="utf-8")
    return root


def test_saved_parser_parses_like_a_built_one(tmp_path: Path, twins: Path) -> None:
    folder = tmp_path / "cache"
    built = _parse_all("", twins)  # no saving: the parser is built from the grammar
    assert len(built) >= 10 and any("Error" in line for line in built)
    assert not folder.exists()
    assert _parse_all(str(folder), twins) == built  # built, then saved
    saved = folder / SAVED
    assert saved.stat().st_size > 0
    assert _parse_all(str(folder), twins) == built  # loaded from the saved copy
    saved.write_bytes(b"not a saved parser\n" + os.urandom(64))
    assert _parse_all(str(folder), twins) == built  # a damaged copy is rebuilt, not used
    assert saved.read_bytes()[:4] != b"not "


def test_the_cache_folder_is_private_and_can_be_turned_off(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "k"))
    assert cache_dir() == tmp_path / "k"
    assert (tmp_path / "k").stat().st_mode & 0o077 == 0
    monkeypatch.setenv(CACHE_ENV, "")
    assert cache_dir() is None
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "sub"))
    assert cache_dir() is None
