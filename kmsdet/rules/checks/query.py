"""Checks on the rule's query: syntax, and every field against the index patterns' schema.

Positions inside the query are mapped back to the TOML file, so an editor jumps straight to
the offending character.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from kmsdet.rules.checks.base import Check, Finding, LintContext, Severity
from kmsdet.rules.model import Rule

if TYPE_CHECKING:
    from kmsdet.kql.schema_check import QueryIssue

QUERY_PATH = ("rule", "query")


def query_file_position(rule: Rule, offset: int) -> tuple[int | None, int | None]:
    """File (line, column) of character ``offset`` of the rule's query."""
    start = rule.source.value_starts.get(QUERY_PATH)
    if start is None:
        return rule.source.line_of(QUERY_PATH), None
    query = rule.rule.query or ""
    before = query[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        return start[0], start[1] + offset
    return start[0] + newlines, offset - before.rfind("\n")


@lru_cache(maxsize=4096)
def _parse_cached(query: str):  # noqa: ANN202 - returns Node or raises
    from kmsdet.kql.parser import parse

    return parse(query)


def parsed_query(rule: Rule):  # noqa: ANN201 - Node | None
    """The rule's KQL AST, or None when it has no KQL query or the query does not parse."""
    from kmsdet.kql.errors import KqlSyntaxError

    if rule.rule.language != "kuery" or not rule.rule.query:
        return None
    try:
        return _parse_cached(rule.rule.query)
    except KqlSyntaxError:
        return None


@contextmanager
def _eql_dialect() -> Iterator[None]:
    """The EQL that Elasticsearch runs, not the eql library's stricter default.

    Elasticsearch accepts repeated sequence steps (``with runs=N``), ``sample`` queries and
    missing-event steps (``![...]``) in sequences with a maxspan; Elastic's own rules use all
    three, so refusing them would report rules that deploy and run fine. The library's
    optimizer (constant folding, half the parse time) is skipped: lint reads the tree as
    written.
    """
    from eql import parser

    from kmsdet.eql.lark_memo import install
    from kmsdet.eql.parser import no_plugin_scan

    no_plugin_scan()
    install()
    with parser.elasticsearch_syntax, parser.ignore_missing_functions, parser.allow_runs, \
            parser.allow_sample, parser.allow_negation, parser.skip_optimizations:
        yield


@lru_cache(maxsize=4096)
def _parse_eql(query: str):  # noqa: ANN202 - eql.ast.PipedQuery or raises EqlError
    import eql

    with _eql_dialect():
        return eql.parse_query(query)


def parsed_eql(rule: Rule):  # noqa: ANN201 - eql.ast.PipedQuery | None
    """The rule's EQL tree, or None when it has no EQL query or the query does not parse."""
    from kmsdet.eql.package import load_eql

    eql = load_eql()

    if rule.rule.language != "eql" or not rule.rule.query:
        return None
    try:
        return _parse_eql(rule.rule.query)
    except eql.EqlError:
        return None


class QuerySyntax(Check):
    code = "KD301"
    summary = "the query parses (KQL, EQL, and the ES|QL structure kmsdet reads)"

    def warm(self) -> None:
        # Not the eql library: its import builds a grammar (~0.4 s) that a tree without EQL
        # rules never needs, and workers that do need it build it side by side.
        import kmsdet.esql.analysis  # noqa: F401
        import kmsdet.kql.parser  # noqa: F401

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        query = rule.rule.query
        if not query:
            return
        if rule.rule.language == "kuery":
            yield from self._kql(rule, query)
        elif rule.rule.language == "eql":
            yield from self._eql(rule, query)
        elif rule.rule.language == "esql":
            yield from self._esql(rule, query)

    def _esql(self, rule: Rule, query: str) -> Iterable[Finding]:
        from kmsdet.esql.analysis import EsqlSyntaxError, analyze

        try:
            analyze(query)
        except EsqlSyntaxError as exc:
            line, column = query_file_position(rule, exc.offset)
            yield self.finding(rule, f"ES|QL syntax error: {exc.message}", QUERY_PATH,
                               line=line, column=column, hint=exc.hint)

    def _kql(self, rule: Rule, query: str) -> Iterable[Finding]:
        from kmsdet.kql.errors import KqlSyntaxError

        try:
            _parse_cached(query)
        except KqlSyntaxError as exc:
            line, column = query_file_position(rule, exc.offset)
            yield self.finding(rule, f"KQL syntax error: {exc.message}", QUERY_PATH, line=line,
                               column=column, hint=exc.hint or "fix the query at this position")

    def _eql(self, rule: Rule, query: str) -> Iterable[Finding]:
        from kmsdet.eql.package import load_eql

        eql = load_eql()

        try:
            _parse_eql(query)
        except eql.EqlParseError as exc:
            line = getattr(exc, "line", 0)
            offset = sum(len(part) + 1 for part in query.split("\n")[:line])
            offset += getattr(exc, "column", 0)
            fline, fcol = query_file_position(rule, offset)
            message = str(getattr(exc, "error_msg", "") or exc).strip().splitlines()[0]
            yield self.finding(rule, f"EQL syntax error: {message}", QUERY_PATH, line=fline,
                               column=fcol, hint="fix the query at this position")
        except eql.EqlError:
            return  # semantic EQL errors need a schema we do not have for EQL


class QueryFields(Check):
    """Runs the schema checks of the rule's language (KQL, EQL, ES|QL); their own codes
    (KD302-KD305) are kept on each finding."""

    code = "KD302"
    checks_deprecated = False  # fields are renamed under retired rules; nobody runs them
    extra_codes = ("KD303", "KD304", "KD305")
    summary = "query fields (KQL, EQL, ES|QL) exist in the searched indices, with valid values"

    def warm(self) -> None:
        import kmsdet.rules.eql_fields  # noqa: F401
        from kmsdet.fields.registry import DEFAULT_SECURITY_INDICES, schema_for_indices

        # Builds the field tables and the did-you-mean index of the most common schema.
        schema_for_indices(DEFAULT_SECURITY_INDICES).suggest("event.actoin")

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        if rule.metadata.query_schema_validation is False:
            return
        from kmsdet.fields.registry import schema_for_indices

        if rule.rule.language == "esql":
            from kmsdet.esql.checks import check_esql_fields

            yield from self._findings(rule, check_esql_fields(rule.rule.query or ""))
            return
        if rule.rule.language == "eql":
            tree = parsed_eql(rule)
            if tree is None:
                return
            from kmsdet.rules.eql_fields import check_eql_fields

            schema = schema_for_indices(tuple(rule.rule.index or ()))
            yield from self._findings(rule, check_eql_fields(tree, rule.rule.query or "",
                                                             schema))
            return
        node = parsed_query(rule)
        if node is None:
            return
        from kmsdet.kql.schema_check import check_query

        schema = schema_for_indices(tuple(rule.rule.index or ()))
        yield from self._findings(rule, check_query(node, schema))

    @staticmethod
    def _findings(rule: Rule, issues: Iterable[QueryIssue]) -> Iterator[Finding]:
        for issue in issues:
            assert issue.span is not None
            line, column = query_file_position(rule, issue.span.start)
            yield Finding(code=issue.code, severity=Severity(issue.severity),
                          message=issue.message, file=str(rule.source.path), line=line,
                          column=column, rule_id=rule.rule_id, hint=issue.hint)


class InvestigationFieldsKnown(Check):
    code = "KD306"
    checks_deprecated = False
    summary = "investigation_fields exist in the searched indices (ES|QL: the result columns)"

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        fields = rule.rule.investigation_fields
        if fields is None:
            return
        from kmsdet.fields.registry import schema_for_indices
        from kmsdet.kql.schema_check import check_fields

        path = ("rule", "investigation_fields", "field_names")
        if rule.rule.language == "esql":
            # The indices are named in the query, and the alerts carry its columns.
            from kmsdet.esql.checks import check_esql_investigation_fields

            issues = check_esql_investigation_fields(rule.rule.query or "", fields.field_names)
        else:
            schema = schema_for_indices(tuple(rule.rule.index or ()))
            issues = check_fields(fields.field_names, schema)
        for issue in issues:
            yield self.finding(rule, issue.message, path, hint=issue.hint,
                               severity=Severity(issue.severity))
