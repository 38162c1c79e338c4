"""Lint's speed-ups change no finding: the same corpora linted with and without them.

The reference run switches every speed-up off (one KD308 oracle per rule, every EQL field name
parsed by the eql package itself) and lints in one process; the fast runs keep them on, in one
process and split across worker processes. All three must give byte-identical JSON reports.
The corpora hold what makes a cache wrong if it is keyed too loosely: the repository's rules,
the Elastic-format corpus, its broken twins (an error of every kind) and copies whose clauses
sit at other offsets, so a finding computed for one rule and reused for another would point at
the wrong column.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from kmsdet.cases.loader import lint_targets
from kmsdet.eql import lark_memo
from kmsdet.reports.lint_output import lint_json
from kmsdet.rules import lint as lint_module
from kmsdet.rules.checks import query as query_checks
from kmsdet.rules.checks.satisfiable import QuerySatisfiable
from kmsdet.rules.lint import lint_paths
from tests.unit.rules.test_corpus_twins import CORPUS, TWINS

REPO = Path(__file__).resolve().parents[3]
_QUERY_START = re.compile(r"^query = '''\n", re.M)
_LANGUAGE = re.compile(r'^language = "(\w+)"', re.M)
# A leading clause per language that moves every later clause to another offset.
_LEADS = {"kuery": 'not user.name: "svc-copy" and ', "eql": "/* copy */ ",
          "esql": "// copy\n"}


def _shifted(text: str, i: int) -> str:
    language = _LANGUAGE.search(text)
    lead = _LEADS.get(language.group(1) if language else "", "")
    text = re.sub(r'rule_id = "[0-9a-f-]+"', f'rule_id = "{i:08x}-0000-4000-8000-{i:012x}"',
                  text, count=1)
    text = re.sub(r'^name = "(.*)"$', rf'name = "\1 copy {i}"', text, count=1, flags=re.M)
    return _QUERY_START.sub(lambda _m: "query = '''\n" + lead, text, count=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("parity")
    for folder in ("twins", "shifted"):
        (root / folder).mkdir()
    for n, path in enumerate(sorted(CORPUS.glob("*.toml"))):
        text = path.read_text(encoding="utf-8")
        old, new, _code = TWINS[path.name]
        (root / "twins" / path.name).write_text(text.replace(old, new), encoding="utf-8")
        for copy in range(2):
            i = 1000 + n * 2 + copy
            shifted = _shifted(text, i) if copy else _shifted(text.replace(old, new), i)
            (root / "shifted" / f"{path.stem}_{copy}.toml").write_text(shifted,
                                                                       encoding="utf-8")
    return lint_targets([REPO / "rules", CORPUS, root])


def _reference(corpus: list[Path], monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(QuerySatisfiable, "reuse_compilations", False)
        patch.setattr(lark_memo, "ENABLED", False)
        query_checks._parse_eql.cache_clear()
        try:
            return lint_json(lint_paths(corpus, jobs=1))
        finally:
            query_checks._parse_eql.cache_clear()


def test_the_corpus_exercises_the_speed_ups(corpus: list[Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    codes = Counter(f["code"] for f in json.loads(_reference(corpus, monkeypatch))["findings"])
    # KD308 (the shared oracle), EQL syntax and field findings (the memoised field parses).
    for code in ("KD308", "KD301", "KD302", "KD303", "KD304", "KD305"):
        assert codes[code] >= 2, codes


def test_one_process_matches_the_reference(corpus: list[Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _reference(corpus, monkeypatch)
    assert lint_json(lint_paths(corpus, jobs=1)) == expected


def test_worker_processes_match_the_reference(corpus: list[Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _reference(corpus, monkeypatch)
    if not lint_module._can_fork():
        pytest.skip("lint splits a tree across processes only where it can fork")
    monkeypatch.setattr(lint_module, "PARALLEL_MIN_FILES", 1)
    assert lint_json(lint_paths(corpus, jobs=2)) == expected
