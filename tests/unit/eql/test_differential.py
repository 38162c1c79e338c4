"""kmsdet's EQL engine against the ``eql`` package's own Python engine, on generated events.

Only constructs where the two agree are generated (docs/eql-semantics.md lists where they
differ): string values are lower-case (the package compares strings case-insensitively
everywhere, Elasticsearch only for ``:``, ``~`` and ``in~``), every event has every field
(the package's ``!=`` and ``not`` are false on a missing field, Elasticsearch's query
translation makes them true), each field holds one value, and ``:`` patterns use ``*`` only
(the package does not expand ``?``); ``until`` events are of another category than the
steps'. Within that space both engines must return exactly the same events and sequences.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsdet.eql import EqlProgram
from kmsdet.fields.schema import FieldSchema

SCHEMA = FieldSchema.from_types({"a": "keyword", "b": "long", "u": "keyword",
                                 "event.category": "keyword", "id": "long"})
WORDS = ["x", "y", "xy", "yz", "zz"]
TICKS_PER_MS = 10_000  # the eql package's engine counts 100-nanosecond ticks


def _clause() -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS)
    num = st.integers(0, 4)
    return st.one_of(
        st.builds(lambda w: f'a == "{w}"', word),
        st.builds(lambda w: f'a != "{w}"', word),
        st.builds(lambda op, n: f"b {op} {n}", st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                  num),
        st.builds(lambda ws: "a in (" + ", ".join(f'"{w}"' for w in ws) + ")",
                  st.lists(word, min_size=1, max_size=3)),
        st.builds(lambda ws: "a not in (" + ", ".join(f'"{w}"' for w in ws) + ")",
                  st.lists(word, min_size=1, max_size=3)),
        st.builds(lambda p: f'a : "{p}"', st.sampled_from(["x*", "*z", "X*", "*Y", "*"])),
        st.builds(lambda f, w: f'{f}~(a, "{w}")',
                  st.sampled_from(["startsWith", "endsWith", "stringContains"]),
                  st.sampled_from(["x", "Y", "z"])),
        st.builds(lambda n: f"length(a) == {n}", st.integers(1, 2)),
        st.builds(lambda n: f"add(b, 1) > {n}", num),
    )


def conditions(depth: int = 2) -> st.SearchStrategy[str]:
    return st.recursive(
        _clause(),
        lambda inner: st.one_of(
            st.builds(lambda x, y: f"({x} and {y})", inner, inner),
            st.builds(lambda x, y: f"({x} or {y})", inner, inner),
            st.builds(lambda x: f"not ({x})", inner),
        ),
        max_leaves=4,
    )


def events() -> st.SearchStrategy[list[dict[str, Any]]]:
    event = st.fixed_dictionaries({
        "a": st.sampled_from(WORDS), "b": st.integers(0, 4), "u": st.sampled_from(["k1", "k2"]),
        "dt": st.integers(0, 90_000),  # ms after the previous event
        "category": st.sampled_from(["generic", "generic", "generic", "stop"]),
    })
    return st.lists(event, min_size=1, max_size=12)


def documents(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, now = [], 1_700_000_000_000
    for number, item in enumerate(raw):
        now += item["dt"]
        out.append({"@timestamp": now, "id": number, "a": item["a"], "b": item["b"],
                    "u": item["u"], "event": {"category": item["category"]}})
    return out


def reference(query: str, docs: list[dict[str, Any]]) -> list[list[int]]:
    import eql
    from eql import parser
    from eql.engine import PythonEngine

    # The package's optimizer rewrites ``a in ("x", "xy") or a != "x"`` to its first half (a bug
    # of eql 1.0.1), so the reference runs the query as written.
    with parser.elasticsearch_syntax, parser.ignore_missing_functions, parser.allow_runs, \
            parser.skip_optimizations:
        parsed = eql.parse_query(query)
    found: list[list[int]] = []

    def keep(result: Any) -> None:
        items = result.events if hasattr(result, "events") else result
        items = items if isinstance(items, list) else [items]
        found.append([e.data["id"] for e in items])

    engine = PythonEngine()
    engine.add_query(parsed)
    engine.add_output_hook(keep)
    engine.stream_events([eql.Event(d["event"]["category"], d["@timestamp"] * TICKS_PER_MS, d)
                          for d in docs])
    return sorted(found)


def ours(query: str, docs: list[dict[str, Any]]) -> list[list[int]]:
    program = EqlProgram(query, SCHEMA)
    return sorted([e["id"] for e in m.events] for m in program.run(docs, size=10_000))


FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(conditions(), events())
def test_event_queries_agree(condition: str, raw: list[dict[str, Any]]) -> None:
    query = f"generic where {condition}"
    docs = documents(raw)
    assert ours(query, docs) == reference(query, docs)


@FAST
@given(st.lists(conditions(), min_size=2, max_size=3), events(),
       st.sampled_from(["", " with maxspan=1m", " with maxspan=2m"]),
       st.booleans(), st.none() | conditions())
def test_sequences_agree(steps: list[str], raw: list[dict[str, Any]], maxspan: str,
                         keyed: bool, until: str | None) -> None:
    head = f"sequence{' by u' if keyed else ''}{maxspan}"
    body = " ".join(f"[generic where {s}]" for s in steps)
    # The until query reads other events than the steps: when one event is both, Elasticsearch
    # (until events strictly before the step's event) and the package (until first) differ.
    tail = f" until [stop where {until}]" if until else ""
    query = f"{head} {body}{tail}"
    docs = documents(raw)
    assert ours(query, docs) == reference(query, docs)


@FAST
@given(conditions(), conditions(), events(), st.integers(2, 3))
def test_runs_agree_with_the_repeated_step(first: str, second: str, raw: list[dict[str, Any]],
                                           runs: int) -> None:
    query = f"sequence by u [generic where {first}] with runs={runs} [generic where {second}]"
    docs = documents(raw)
    assert ours(query, docs) == reference(query, docs)
