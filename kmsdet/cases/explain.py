"""Which parts of a rule's query held on a failed case's events, for the failure report."""

from __future__ import annotations

from kmsdet.cases.runner import CaseResult


def explain_case(result: CaseResult) -> list[str]:
    from kmsdet.fields.registry import schema_for_indices
    from kmsdet.kql.matcher import explain
    from kmsdet.kql.parser import parse

    rule = result.rule.rule
    if rule.language == "eql" and rule.query:
        from kmsdet.eql.explain import explain_events
        from kmsdet.eql.rule import program_for

        return explain_events(program_for(result.rule), result.documents)
    if rule.language != "kuery" or not rule.query:
        return []
    node = parse(rule.query)
    schema = schema_for_indices(tuple(rule.index or ()))
    lines: list[str] = []
    for i, doc in enumerate(result.documents, start=1):
        lines.append(f"event {i} against the query:")
        lines.extend(f"  {line}" for line in explain(node, schema, doc))
    return lines
