"""`kmsdet kql check|dsl|match`: the KQL engine at the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from kmsdet.cli.options import OutputFormat, query_argument
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK
from kmsdet.reports.console import stdout, write_json

app = typer.Typer(help="Parse, check, translate and evaluate KQL as Kibana does.",
                  no_args_is_help=True)

QUERY_HELP = "The KQL query; - reads it from standard input, @FILE from a file."
INDEX_HELP = "Index pattern whose field schema applies (repeatable), e.g. logs-aws.cloudtrail-*."


def _schema(index: list[str] | None):  # noqa: ANN202 - FieldSchema | None
    if not index:
        return None
    from kmsdet.fields.registry import schema_for_indices

    return schema_for_indices(tuple(index))


@app.command("check")
def check(
    query: str = typer.Argument(..., help=QUERY_HELP),
    index: list[str] = typer.Option(None, "--index", "-i", help=INDEX_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Syntax and field-schema findings for a query; exit 1 on an error.

    Example: kmsdet kql check 'event.action: DisableKey and source.ip: 10.0.0.0/8'
    --index 'logs-aws.cloudtrail-*'
    """
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.kql.errors import KqlSyntaxError, query_position
    from kmsdet.kql.parser import parse
    from kmsdet.kql.schema_check import check_query

    query = query_argument(query)
    findings: list[dict[str, object]] = []
    try:
        node = parse(query)
    except KqlSyntaxError as exc:
        findings.append({"code": "KD301", "severity": "error", "line": exc.line,
                         "column": exc.column, "message": f"KQL syntax error: {exc.message}"})
        caret = exc.render_caret(query)
    else:
        caret = ""
        schema = schema_for_indices(tuple(index or ()))
        for issue in check_query(node, schema):
            line, column = query_position(issue.span.start, query)
            findings.append({"code": issue.code, "severity": issue.severity, "line": line,
                             "column": column, "message": issue.message, "hint": issue.hint})
    if output_format is OutputFormat.json:
        write_json(json.dumps({"findings": findings}, indent=2))
    else:
        for f in findings:
            stdout.print(f"{f['line']}:{f['column']}: {f['severity']} {f['code']} "
                         f"{escape(str(f['message']))}")
            if f.get("hint"):
                stdout.print(f"    [dim]hint: {escape(str(f['hint']))}[/]")
        if caret:
            stdout.print(escape(caret))
        if not findings:
            stdout.print("ok")
    failed = any(f["severity"] == "error" for f in findings)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


@app.command("dsl")
def dsl(
    query: str = typer.Argument(..., help=QUERY_HELP),
    index: list[str] = typer.Option(None, "--index", "-i", help=INDEX_HELP),
) -> None:
    """Print the Elasticsearch query Kibana's detection engine would run for a query.

    Without --index the field types are unknown, as Kibana treats a field missing from the
    data view.

    Example: kmsdet kql dsl 'event.action: (DisableKey or ScheduleKeyDeletion)' -i 'logs-*'
    or, for a query too long for the command line: kmsdet kql dsl @query.kql (or - for stdin)
    """
    from kmsdet.kql.dsl import build_es_query
    from kmsdet.kql.parser import parse

    tree = parse(query_argument(query))
    write_json(json.dumps(build_es_query(tree, _schema(index)), indent=2))


@app.command("match")
def match(
    query: str = typer.Argument(..., help=QUERY_HELP),
    doc: Path = typer.Option(..., "--doc", "-d", help="A JSON document, or ndjson of many."),
    index: list[str] = typer.Option(None, "--index", "-i", help=INDEX_HELP),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f"),
) -> None:
    """Say, per document, whether the query matches it with Elasticsearch's semantics.

    Example: kmsdet kql match 'event.outcome: success' --doc events.ndjson --format json
    """
    from kmsdet.cloudtrail.readers import read_json_documents
    from kmsdet.kql.matcher import compile_query
    from kmsdet.kql.parser import parse

    matcher = compile_query(parse(query_argument(query)), _schema(index))
    for i, document in enumerate(read_json_documents(doc)):
        matched = bool(matcher(document))
        if output_format is OutputFormat.json:
            write_json(json.dumps({"doc": i, "match": matched}))
        else:
            stdout.print(f"doc {i}: {'match' if matched else 'no match'}")
    raise typer.Exit(EXIT_OK)
