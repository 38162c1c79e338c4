from __future__ import annotations

import pytest

from kmsdet.eql import ast
from kmsdet.eql.parser import EqlSyntaxError, parse, unquote


def test_colon_is_case_insensitive_like_and_double_equals_stays_exact() -> None:
    query = parse('any where a : "X*" and b == "Y"')
    assert isinstance(query, ast.EventQuery)
    colon, equals = query.condition.items  # type: ignore[union-attr]
    assert colon == ast.Pattern(ast.Field("a"), "like", ("X*",), True)
    assert equals == ast.Compare("==", ast.Field("b"), ast.Literal("Y"))


def test_tilde_functions_in_tilde_and_optional_fields_are_kept() -> None:
    query = parse('process where startsWith~(?x.y, "ab") and z in~ ("a", "b")')
    assert isinstance(query, ast.EventQuery)
    assert query.category == "process"
    call, in_set = query.condition.items  # type: ignore[union-attr]
    assert call == ast.Call("startswith", (ast.Field("x.y", True), ast.Literal("ab")), True)
    assert in_set.insensitive and not in_set.negated


def test_sequence_keys_runs_missing_and_until() -> None:
    query = parse('sequence by u with maxspan=10m [any where a == 1] by k '
                  '[any where a == 2] by j with runs=2 ![any where a == 3] by m '
                  'until [any where a == 4] by n')
    assert isinstance(query, ast.Sequence)
    assert query.maxspan_nanos == 600 * 10**9
    assert [s.keys for s in query.steps] == [
        (ast.Field("u"), ast.Field("k")), (ast.Field("u"), ast.Field("j")),
        (ast.Field("u"), ast.Field("j")), (ast.Field("u"), ast.Field("m"))]
    assert [s.missing for s in query.steps] == [False, False, False, True]
    assert query.until is not None and query.until.keys == (ast.Field("u"), ast.Field("n"))


def test_sample() -> None:
    query = parse("sample by host [any where a == 1] [any where b == 2]")
    assert isinstance(query, ast.Sample)
    assert len(query.steps) == 2


def test_strings_unescape_and_raw_strings_do_not() -> None:
    assert unquote(r'"a\"b\\c\n"') == 'a"b\\c\n'
    assert unquote('"""C:\\Windows\\"""') == "C:\\Windows\\"
    assert unquote('"\\u{41}"') == "A"


@pytest.mark.parametrize("text", [
    'any where a == b',  # field to field comparisons are refused by Elasticsearch
    "any where a = 1",  # single = is not an operator
    'sequence [any where true] by a [any where true] by a, b',  # key counts differ
    "any where (",
    "sequence [any where true]",  # one query: Elasticsearch's grammar wants two or more
    "sequence with maxspan=0s [any where true] [any where true]",
    "sequence [any where true] with runs=101 [any where true]",
])
def test_queries_elasticsearch_rejects_raise_typed_errors(text: str) -> None:
    with pytest.raises(EqlSyntaxError) as info:
        parse(text)
    assert info.value.message.startswith("EQL error")


def test_pipes_are_refused_as_unsupported() -> None:
    with pytest.raises(EqlSyntaxError, match="pipes"):
        parse("any where true | head 1")


def test_parsing_never_imports_eql_plugin_modules_from_the_path(tmp_path, monkeypatch) -> None:
    """The eql package imports every ``eql_*`` module on sys.path on its first parse."""
    import sys

    from eql import utils

    marker = tmp_path / "ran.txt"
    (tmp_path / "eql_kmsdet_trap.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(utils, "_loaded_plugins", False)
    from kmsdet.eql.parser import _parse_cached

    _parse_cached.cache_clear()
    parse("any where trap == 1")
    assert not marker.exists()
    assert "eql_kmsdet_trap" not in sys.modules
