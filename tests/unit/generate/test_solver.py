"""The solver's documents satisfy their query under the matcher, with type-correct values."""

from __future__ import annotations

import ipaddress

import pytest

from kmsdet.errors import KmsdetError
from kmsdet.generate.solve import Oracle, Solver
from kmsdet.kql.ast import Node
from kmsdet.kql.matcher import compile_query, describe
from kmsdet.kql.parser import parse
from tests.unit.generate.conftest import NOW


def _get(doc: dict, dotted: str) -> object:
    node: object = doc
    for part in dotted.split("."):
        assert isinstance(node, dict), (doc, dotted)
        node = node[part]
    return node


@pytest.mark.parametrize(("query", "field", "check"), [
    ('event.action: "DisableKey"', "event.action", lambda v: v == "DisableKey"),
    ("event.action: Disable*Key", "event.action",
     lambda v: v.startswith("Disable") and v.endswith("Key")),
    ("source.ip: 10.0.0.0/8 and not source.ip: 10.0.0.0/16", "source.ip",
     lambda v: ipaddress.ip_address(v) in ipaddress.ip_network("10.0.0.0/8")
     and ipaddress.ip_address(v) not in ipaddress.ip_network("10.0.0.0/16")),
    ("source.as.number > 100 and source.as.number < 102", "source.as.number",
     lambda v: v == 101),
    ("aws.cloudtrail.read_only: false", "aws.cloudtrail.read_only", lambda v: v is False),
    ("@timestamp >= now-5m", "@timestamp", lambda v: v.startswith("2026-01-01T11:5")),
    ("aws.cloudtrail.flattened.request_parameters.pendingWindowInDays: 7",
     "aws.cloudtrail.flattened.request_parameters.pendingWindowInDays", lambda v: v == "7"),
    ("event.action: * and not event.action: DescribeKey", "event.action",
     lambda v: v != "DescribeKey"),
    ("not event.outcome: success and event.action: Decrypt", "event.outcome",
     lambda v: v == "failure"),
    ("a: x and a: y", "a", lambda v: sorted(v) == ["x", "y"]),
])
def test_value_satisfies_clause(cloudtrail, query: str, field: str, check) -> None:
    solution = Solver(cloudtrail, NOW).first(parse(query))
    assert solution is not None
    assert compile_query(parse(query), cloudtrail, now=NOW)(solution.doc)
    assert check(_get(solution.doc, field))


def test_constant_keyword_shows_its_value(cloudtrail) -> None:
    solution = Solver(cloudtrail, NOW).first(parse('data_stream.dataset: "aws.cloudtrail"'))
    assert solution is not None
    assert solution.doc == {"data_stream": {"dataset": "aws.cloudtrail"}}


@pytest.mark.parametrize("query", [
    "event.action: x and not event.action: x",
    'data_stream.dataset: "aws.guardduty"',
    "not event.action: * and event.action: x",
])
def test_no_document_for_contradictions(cloudtrail, query: str) -> None:
    assert Solver(cloudtrail, NOW).first(parse(query)) is None


def test_nested_query_builds_an_array_element(shared) -> None:
    query = "threat.enrichments: { indicator.type: ipv4-addr and not indicator.confidence: Low }"
    solution = Solver(shared, NOW).first(parse(query))
    assert solution is not None
    elements = solution.doc["threat.enrichments"] if "threat.enrichments" in solution.doc \
        else solution.doc["threat"]["enrichments"]
    assert isinstance(elements, list) and len(elements) == 1
    assert compile_query(parse(query), shared, now=NOW)(solution.doc)


def test_free_text_is_placed_on_a_field(cloudtrail) -> None:
    query = "kmsdet and event.provider: kms.amazonaws.com"
    solution = Solver(cloudtrail, NOW).first(parse(query))
    assert solution is not None
    assert "kmsdet" in repr(solution.doc)
    assert compile_query(parse(query), cloudtrail, now=NOW)(solution.doc)


VALIDATED = [
    "event.action: x and (process.pid: 1 or not process.pid: 2)",
    "event.action: x and process.pid: abc",
    "process.pid: abc and source.port: zz",
    "process.pid: abc and threat.enrichments.matched.field: x",
    "threat.enrichments: { matched.field: x and indicator.port: zz }",
    "not source.ip: 10.0.0.0/33",
]


def _raised(action) -> tuple[str, str, object] | None:  # noqa: ANN001 - a thunk
    try:
        action()
    except KmsdetError as exc:
        return type(exc).__name__, str(exc), getattr(exc, "span", None)
    return None


@pytest.mark.parametrize("query", VALIDATED)
def test_validate_raises_what_compiling_the_whole_query_raises(shared, query: str) -> None:
    node = parse(query)
    expected = _raised(lambda: compile_query(node, shared, now=NOW))
    assert _raised(lambda: Oracle(shared, NOW).validate(node)) == expected


def test_validate_compiles_each_clause_once_across_queries(shared, monkeypatch) -> None:
    from kmsdet.generate import solve

    compiled: list[Node] = []
    real = solve.compile_query

    def counting(node: Node, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        compiled.append(node)
        return real(node, *args, **kwargs)

    monkeypatch.setattr(solve, "compile_query", counting)
    oracle = Oracle(shared, NOW)
    oracle.validate(parse("event.action: x and process.pid: 1"))
    oracle.validate(parse('process.pid: 1 and not user.name: "svc" and event.action: x'))
    assert [describe(n) for n in compiled] == [
        "event.action: x", "process.pid: 1", 'user.name: "svc"']
