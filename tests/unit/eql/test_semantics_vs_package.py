"""Each difference docs/eql-semantics.md lists between Elasticsearch's EQL and the ``eql``
package's Python engine: kmsdet gives Elasticsearch's documented answer, the package its own.

Asserting the package's answer too keeps the document true: if a later ``eql`` release changes
one of these, the test names the line of the document to revisit.
"""

from __future__ import annotations

from typing import Any

import pytest

from kmsdet.eql import EqlProgram
from kmsdet.fields.schema import FieldSchema

SCHEMA = FieldSchema.from_types({"a": "keyword", "u": "keyword", "event.category": "keyword",
                                 "id": "long"})


def docs(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"@timestamp": 1_700_000_000_000 + 1000 * i, "id": i,
             "event": {"category": "generic"}, **item} for i, item in enumerate(items, 1)]


def ours(query: str, events: list[dict[str, Any]]) -> list[list[int]]:
    return [[e["id"] for e in m.events] for m in EqlProgram(query, SCHEMA).run(events, size=100)]


def package(query: str, events: list[dict[str, Any]]) -> list[list[int]]:
    import eql
    from eql import parser
    from eql.engine import PythonEngine

    with parser.elasticsearch_syntax, parser.ignore_missing_functions, parser.allow_negation, \
            parser.skip_optimizations:
        parsed = eql.parse_query(query)
    found: list[list[int]] = []

    def keep(result: Any) -> None:
        items = result.events if hasattr(result, "events") else result
        found.append([e.data["id"] for e in (items if isinstance(items, list) else [items])])

    engine = PythonEngine()
    engine.add_query(parsed)
    engine.add_output_hook(keep)
    engine.stream_events([eql.Event("generic", d["@timestamp"] * 10_000, d) for d in events])
    return found


# (query, events, Elasticsearch's documented answer, the package's answer)
DIFFERENCES = {
    "== is case-sensitive": ('generic where a == "X"', docs({"a": "x"}), [], [[1]]),
    "functions are case-sensitive without ~": (
        'generic where startsWith(a, "X")', docs({"a": "xy"}), [], [[1]]),
    "like is case-sensitive": ('generic where a like "X*"', docs({"a": "xy"}), [], [[1]]),
    "regex is case-sensitive": ('generic where a regex "X.*"', docs({"a": "xy"}), [], [[1]]),
    ": expands ?": ('generic where a : "x?"', docs({"a": "xy"}), [[1]], []),
    "!= holds on a missing field": ('generic where a != "x"', docs({}), [[1]], []),
    "a multi-valued field matches on any value": (
        'generic where a == "x"', docs({"a": ["x", "y"]}), [[1]], []),
    "null join keys never join": (
        'sequence by u [generic where a == "1"] [generic where a == "2"]',
        docs({"a": "1"}, {"a": "2"}), [], [[1, 2]]),
    "an until event is only one strictly between two steps": (
        'sequence [generic where a == "1"] [generic where a == "2"] '
        'until [generic where a == "2"]', docs({"a": "1"}, {"a": "2"}), [[1, 2]], []),
    "a missing step is the absence of a matching event": (
        'sequence with maxspan=1h [generic where a == "1"] ![generic where a == "x"] '
        '[generic where a == "2"]', docs({"a": "1"}, {"a": "2"}), [[1, 2]], []),
}


@pytest.mark.parametrize("name", sorted(DIFFERENCES))
def test_documented_difference(name: str) -> None:
    query, events, elasticsearch, eql_package = DIFFERENCES[name]
    assert ours(query, events) == elasticsearch
    assert package(query, events) == eql_package


def test_every_difference_is_in_the_reference_document() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "eql-semantics.md").read_text()
    for name in DIFFERENCES:
        assert f"**{name}**" in text, name
