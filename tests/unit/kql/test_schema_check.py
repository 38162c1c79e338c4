"""Schema checks on KQL ASTs: each code fires on a query that earns it and not on a sound one.

ASTs are built by hand (the helpers mirror what the parser produces: wildcard values keep their
literal pieces, field names with ``*`` set ``field_wildcard``).
"""

from __future__ import annotations

import pytest

from kmsdet.fields.registry import schema_for_indices
from kmsdet.kql.ast import And, Exists, Is, Nested, Node, Not, Or, Range, Span, Value
from kmsdet.kql.schema_check import QueryIssue, check_fields, check_query

CT = schema_for_indices(["logs-aws.cloudtrail-*"])
MIXED = schema_for_indices(["filebeat-*", "logs-aws.cloudtrail-*"])
ECS = schema_for_indices(["winlogbeat-*"])

SPAN = Span(0, 1)


def val(text: str, quoted: bool = False) -> Value:
    wildcard = tuple(text.split("*")) if not quoted and "*" in text else None
    return Value(text, quoted, wildcard, Span(10, 10 + len(text)))


def is_(field: str | None, text: str, quoted: bool = False) -> Is:
    return Is(field, val(text, quoted), SPAN, field_wildcard=field is not None and "*" in field)


def rng(field: str, op: str, text: str) -> Range:
    return Range(field, op, val(text), SPAN)  # type: ignore[arg-type]


def ex(field: str) -> Exists:
    return Exists(field, SPAN, field_wildcard="*" in field)


def codes(issues: list[QueryIssue]) -> list[tuple[str, str]]:
    return [(i.code, i.severity) for i in issues]


CASES: list[tuple[str, Node, list[tuple[str, str]]]] = [
    # --- sound queries: no issue
    ("seed rule", And((
        is_("data_stream.dataset", "aws.cloudtrail", quoted=True),
        is_("event.provider", "kms.amazonaws.com", quoted=True),
        Or((is_("event.action", "DisableKey"), is_("event.action", "ScheduleKeyDeletion")), SPAN),
        Not(is_("aws.cloudtrail.user_identity.type", "AWSService"), SPAN),
    ), SPAN), []),
    ("flattened sub-key", is_("aws.cloudtrail.flattened.request_parameters.keyId", "k"), []),
    ("flattened number", is_("aws.cloudtrail.flattened.request_parameters.pendingWindowInDays",
                             "7"), []),
    ("multi-field", is_("user.name.text", "admin"), []),
    ("dynamic object key", is_("labels.env", "prod"), []),
    ("free text", is_(None, "mimikatz"), []),
    ("match all", ex("*"), []),
    ("exists on implicit object", ex("user"), []),
    ("wildcard field name", is_("aws.cloudtrail.user_identity.a*", "IAMUser"), []),
    ("trailing wildcard on keyword", is_("event.action", "Disable*"), []),
    ("leading wildcard on wildcard type", is_("process.command_line", "*curl*"), []),
    ("ip", is_("source.ip", "192.0.2.1"), []),
    ("cidr", is_("source.ip", "10.0.0.0/8"), []),
    ("ipv6", is_("source.ip", "2001:db8::1"), []),
    ("number", is_("source.as.number", "16509"), []),
    ("number range", rng("source.as.number", ">=", "100"), []),
    ("boolean", is_("aws.cloudtrail.read_only", "false"), []),
    ("date", is_("@timestamp", "2024-01-01T00:00:00Z"), []),
    ("date math range", rng("event.ingested", ">=", "now-6m"), []),
    ("anchored date math", rng("@timestamp", "<", "2024-01-01||+1d"), []),
    ("quoted null is a string", is_("user.name", "null", quoted=True), []),
    ("nested", Nested("threat.enrichments", is_("indicator.ip", "192.0.2.1"), SPAN), []),
    # --- KD302 unknown field
    ("typo", is_("event.acton", "DisableKey"), [("KD302", "error")]),
    ("raw cloudtrail name", is_("eventName", "DisableKey"), [("KD302", "error")]),
    ("sub-key of keyword string", is_("aws.cloudtrail.request_parameters.keyId", "k"),
     [("KD302", "error")]),
    ("wildcard field matches nothing", is_("aws.cloudtrail.nope*", "x"), [("KD302", "error")]),
    ("unknown nested path", Nested("nope", is_("a", "b"), SPAN),
     [("KD302", "error"), ("KD302", "error")]),
    ("unknown exists", ex("aws.cloudtrail.user_identity.tpye"), [("KD302", "error")]),
    # --- KD303 operator / type
    ("range on keyword", rng("event.action", ">", "A"), [("KD303", "warning")]),
    ("range on boolean", rng("aws.cloudtrail.read_only", ">", "false"), [("KD303", "error")]),
    ("range on geo_point", rng("source.geo.location", ">", "1"), [("KD303", "error")]),
    ("value on geo_point", is_("source.geo.location", "1,2"), [("KD303", "error")]),
    ("nested syntax on object array", Nested("aws.cloudtrail.resources", is_("arn", "x"), SPAN),
     [("KD303", "error")]),
    ("value on explicit object", is_("aws.cloudtrail.resources", "x"), [("KD303", "error")]),
    ("value on implicit object", is_("user", "bob"), [("KD303", "error")]),
    ("value on nested field", is_("threat.enrichments", "x"), [("KD303", "error")]),
    ("unsearchable field", is_("event.original", "x"), [("KD303", "error")]),
    ("exists on unsearchable field", ex("event.original"), [("KD303", "error")]),
    # --- KD304 value / type
    ("not an ip", is_("source.ip", "AWS Internal", quoted=True), [("KD304", "error")]),
    ("cidr in a range", rng("source.ip", ">", "10.0.0.0/8"), [("KD304", "error")]),
    ("not a number", is_("source.as.number", "many"), [("KD304", "error")]),
    ("fraction on long", is_("source.as.number", "1.5"), [("KD304", "error")]),
    ("out of long range", is_("source.as.number", "99999999999999999999"), [("KD304", "error")]),
    ("not a date", rng("@timestamp", ">", "yesterday"), [("KD304", "error")]),
    ("impossible date", is_("@timestamp", "2024-02-30"), [("KD304", "error")]),
    ("not a boolean", is_("aws.cloudtrail.read_only", "yes"), [("KD304", "error")]),
    ("other constant", is_("event.dataset", "aws.s3access"), [("KD304", "error")]),
    ("other data stream constant", is_("data_stream.dataset", "aws.guardduty"),
     [("KD304", "error")]),
    ("wildcard field name hits a date", is_("aws.cloudtrail.user_identity.*", "IAMUser"),
     [("KD304", "warning")]),
    ("wildcard field name hits objects only", is_("aws.cloudtrail.resourc*s", "x"),
     [("KD302", "error")]),
    ("beyond ignore_above", is_("aws.cloudtrail.request_parameters", "x" * 8192),
     [("KD304", "error")]),
    ("unquoted null", is_("user.name", "null"), [("KD304", "warning")]),
    # --- KD305 wildcards
    ("wildcard on text", is_("aws.cloudtrail.request_parameters.text", "*keyId*"),
     [("KD305", "warning")]),
    ("wildcard on ip", is_("source.ip", "10.*"), [("KD305", "error")]),
    ("wildcard on long", is_("source.as.number", "165*"), [("KD305", "error")]),
    ("wildcard on date", is_("@timestamp", "2024*"), [("KD305", "error")]),
    ("wildcard on boolean", is_("aws.cloudtrail.read_only", "t*"), [("KD305", "error")]),
    ("leading wildcard on keyword", is_("user_agent.original", "*boto3*"), [("KD305", "warning")]),
    ("leading wildcard on flattened key", is_("aws.cloudtrail.flattened.request_parameters.keyId",
                                              "*alias*"), [("KD305", "warning")]),
    ("literal-led wildcard on flattened key",
     is_("aws.cloudtrail.flattened.request_parameters.keyId", "alias*key"), [("KD305", "error")]),
    ("constant wildcard always true", is_("event.dataset", "aws.*"), [("KD305", "warning")]),
    ("constant wildcard never true", is_("event.dataset", "gcp.*"), [("KD304", "error")]),
    ("constant wildcard on module", is_("event.module", "aw*"), [("KD305", "warning")]),
    ("long wildcard beyond ignore_above", is_("event.action", "A" * 1025 + "*"),
     [("KD304", "error")]),
]


@pytest.mark.parametrize(("query", "expected"), [(q, e) for _, q, e in CASES],
                         ids=[c[0] for c in CASES])
def test_check_query_codes(query: Node, expected: list[tuple[str, str]]) -> None:
    assert codes(check_query(query, CT)) == expected


def test_unknown_field_is_a_warning_when_the_schema_may_be_incomplete() -> None:
    assert codes(check_query(is_("event.acton", "x"), MIXED)) == [("KD302", "warning")]
    assert codes(check_query(is_("process.nmae", "x"), ECS)) == [("KD302", "warning")]
    # A namespace no bundled table covers (an Okta or Azure integration field) is not judged.
    assert check_query(is_("custom.thing", "x"), ECS) == []


def test_constants_are_not_checked_when_other_indices_may_differ() -> None:
    assert check_query(is_("event.dataset", "aws.s3access"), MIXED) == []


def test_unknown_field_hints_the_indexed_name() -> None:
    (typo,) = check_query(is_("event.acton", "x"), CT)
    assert "`event.action`" in (typo.hint or "")
    (raw,) = check_query(is_("eventName", "DisableKey"), CT)
    assert raw.hint is not None and raw.hint.startswith("did you mean `event.action`")
    (sub,) = check_query(is_("requestParameters.keyId", "k"), CT)
    assert "`aws.cloudtrail.flattened.request_parameters.keyId`" in (sub.hint or "")


def test_issue_points_at_field_and_value() -> None:
    node = is_("source.ip", "nope")
    (issue,) = check_query(node, CT)
    assert issue.field == "source.ip"
    assert issue.span == node.value.span
    assert "nope" in issue.message and "IP" in issue.message
    (unknown,) = check_query(is_("nope.field", "x"), CT)
    assert unknown.span == SPAN


def test_nested_inner_fields_resolve_against_the_path() -> None:
    bad = Nested("threat.enrichments", is_("indicator.ip", "not-an-ip"), SPAN)
    (issue,) = check_query(bad, CT)
    assert (issue.code, issue.field) == ("KD304", "threat.enrichments.indicator.ip")


def test_wildcard_field_name_reports_each_problem_once_per_type() -> None:
    # user_agent.* holds keyword fields and their match_only_text multi-fields.
    issues = check_query(is_("user_agent.*", "*boto*"), CT)
    assert [i.code for i in issues] == ["KD305", "KD305"]
    assert {"leading wildcard" in i.message for i in issues} == {True, False}
    assert all(i.message.startswith("`user_agent.*` expands to") for i in issues)
    assert all("more field(s)" in i.message and i.severity == "warning" for i in issues)


def test_issues_come_in_query_order() -> None:
    query = And((is_("b.unknown", "x"), is_("source.ip", "y"), is_("a.unknown", "z")), SPAN)
    assert [i.field for i in check_query(query, CT)] == ["b.unknown", "source.ip", "a.unknown"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["user.name", "aws.cloudtrail.flattened.request_parameters.keyId", "labels.team"], []),
        (["aws.cloudtrail.user_identity.arn", "user.nme"], [("KD306", "error")]),
        (["user"], [("KD306", "error")]),
        (["aws.cloudtrail.*"], [("KD306", "error")]),
    ],
)
def test_check_fields(names: list[str], expected: list[tuple[str, str]]) -> None:
    assert codes(check_fields(names, CT)) == expected


def test_check_fields_names_the_field_and_suggests() -> None:
    (issue,) = check_fields(["user.nme"], CT)
    assert issue.field == "user.nme" and issue.span is None
    assert "`user.name`" in (issue.hint or "")
    assert codes(check_fields(["user.nme"], MIXED)) == [("KD306", "warning")]


# --- through the real parser: spans index the query text

PARSED: list[tuple[str, list[tuple[str, str, str]]]] = [
    ('event.action: ("DisableKey" or "ScheduleKeyDeletion")', []),
    # flattened leaves are keywords: "30" < "8" as strings, so this warns.
    ("aws.cloudtrail.flattened.request_parameters.pendingWindowInDays < 8",
     [("KD303", "warning", "aws.cloudtrail.flattened.request_parameters.pendingWindowInDays < 8")]),
    ("source.ip: 10.0.0.0/8 and not source.ip: 10.1.0.0/16", []),
    ("@timestamp >= now-6m/m", []),
    ("threat.enrichments: { indicator.ip: 192.0.2.1 }", []),
    ("event.acton: DisableKey", [("KD302", "error", "event.acton: DisableKey")]),
    ("event.action: DisableKey and source.ip: 10.*",
     [("KD305", "error", "10.*")]),
    ("event.dataset: aws.s3access", [("KD304", "error", "aws.s3access")]),
    ("aws.cloudtrail.read_only: (true or maybe)", [("KD304", "error", "maybe")]),
    ("user_agent.original: *Boto3*", [("KD305", "warning", "*Boto3*")]),
    ("aws.cloudtrail.resources: { arn: x }",
     [("KD303", "error", "aws.cloudtrail.resources: { arn: x }")]),
    ("event.action > M", [("KD303", "warning", "event.action > M")]),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[t for t, _ in PARSED])
def test_parsed_queries(text: str, expected: list[tuple[str, str, str]]) -> None:
    from kmsdet.kql.parser import parse

    issues = check_query(parse(text), CT)
    assert [(i.code, i.severity, text[i.span.start:i.span.end]) for i in issues] == expected


def test_seed_rules_pass_their_own_schema() -> None:
    from pathlib import Path

    from kmsdet.kql.parser import parse
    from kmsdet.rules.loader import find_rule_files, load_rule

    rules_dir = Path(__file__).resolve().parents[3] / "rules"
    rules = [load_rule(p) for p in find_rule_files([rules_dir])]
    rules = [r for r in rules if r.rule.language == "kuery"]
    assert rules
    for rule in rules:
        schema = schema_for_indices(rule.rule.index or [])
        issues = check_query(parse(rule.rule.query or ""), schema)
        assert [i for i in issues if i.code not in rule.suppressed] == [], rule.name
        if rule.rule.investigation_fields is not None:
            assert check_fields(rule.rule.investigation_fields.field_names, schema) == []


@pytest.mark.parametrize(("query", "severity"), [
    # Run over every key's values: the intended events match, and other keys' values too.
    ("aws.cloudtrail.flattened.request_parameters.granteePrincipal: *EXTERNAL*", "warning"),
    ("aws.cloudtrail.flattened.request_parameters.granteePrincipal: */.aws/credentials",
     "warning"),
    # Compared with `key\0value` terms from their first character: never matches.
    ("aws.cloudtrail.flattened.request_parameters.granteePrincipal: arn*root", "error"),
    ("aws.cloudtrail.flattened.request_parameters.granteePrincipal: home*credentials", "error"),
    ("aws.cloudtrail.flattened.request_parameters.granteePrincipal: arn\\:aws*", None),
    ("aws.cloudtrail.flattened.request_parameters.granteePrincipal: x", None),
])
def test_wildcards_on_flattened_keys_say_whether_they_overmatch_or_never_match(
        query: str, severity: str | None) -> None:
    from kmsdet.kql.parser import parse

    schema = schema_for_indices(["logs-aws.cloudtrail-*"])
    issues = [i for i in check_query(parse(query), schema) if i.code == "KD305"]
    assert [i.severity for i in issues] == ([severity] if severity else [])
    if severity == "warning":
        assert "values of every key" in issues[0].message
    if severity == "error":
        assert "never match" in issues[0].message
