"""`kmsdet deploy`, `kmsdet export`, `kmsdet pull`: parse options, call kmsdet.kibana, render.

deploy always prints its plan first; with --plan it stops there and changes nothing. Without
--plan it applies the plan at once (no prompt, so it runs the same in CI and on a terminal).
Exit codes: 0 ok, 1 a rule failed or conflicts, 2 bad usage or input, 3 Kibana unreachable or
refusing us.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from kmsdet.cli.options import OutputFormat
from kmsdet.cli.targets import (
    API_KEY,
    CA_CERT,
    CONFIG,
    INSECURE,
    KIBANA_URL,
    PASSWORD,
    SPACE,
    TARGET,
    USER,
    target_options,
)
from kmsdet.config import Target, resolve_target
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK, KmsdetError
from kmsdet.reports.console import report_error, stdout, write_json

DEPLOY_HELP = """Deploy rules to Kibana: print the plan, then apply it.

The plan says per rule: create, update (with a field diff), unchanged, or delete; it is applied
with batched _import (overwrite).

Only rules carrying kmsdet's marker tag are ever updated or, with --prune, deleted. New rules
are enabled unless the rule says enabled = false or --disable is given; deployed rules keep
their enabled state unless the rule or --enable/--disable says otherwise.

Example: kmsdet deploy rules/ --target staging --plan
"""
EXPORT_HELP = """Write the rules' Kibana payloads as ndjson for Kibana's import.

One rule per line, as Security > Rules > Import rules (or POST _import) accepts it.

Example: kmsdet export rules/ --output build/rules.ndjson
"""
PULL_HELP = """Read rules from a Kibana space and write them back as TOML rule files.

Rules edited in the Kibana UI come back into git; files of rules already in DIR are updated in
place.

Example: kmsdet pull --target production --output rules/aws_kms --tag "Data Source: AWS KMS"
"""

FORMAT = typer.Option(OutputFormat.text, "--format", "-f",
                      help="text for people, json for machines.")


def _guard(target: Target | None, output_format: OutputFormat) -> Any:
    """Render a KmsdetError through the shared renderer (which masks credentials), and exit."""

    class _Guard:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, error: Any, tb: Any) -> bool:
            if isinstance(error, KmsdetError):
                report_error(error, as_json=output_format is OutputFormat.json)
                raise typer.Exit(error.exit_code)
            return False

    return _Guard()


def _load_payloads(paths: list[Path] | None, stack: tuple[int, int],
                   enabled: bool | None) -> list[Any]:
    from kmsdet.kibana.payload import build_payloads
    from kmsdet.rules.loader import load_rules

    return build_payloads(load_rules(paths or [Path("rules")]), stack=stack, enabled=enabled)


def deploy(
    paths: list[Path] = typer.Argument(None, help="Rule files or folders (default: rules/)."),
    plan_only: bool = typer.Option(False, "--plan", help="Show the plan; change nothing."),
    prune: bool = typer.Option(False, "--prune", help="Also delete kmsdet-managed rules "
                               "that are gone from the repo."),
    enable: bool | None = typer.Option(None, "--enable/--disable", help="Override every "
                                       "rule's enabled state."),
    method: str = typer.Option("import", "--method", help="import (batched, default) or crud."),
    output_format: OutputFormat = FORMAT,
    target: str | None = TARGET, kibana_url: str | None = KIBANA_URL, space: str | None = SPACE,
    kibana_api_key: str | None = API_KEY, kibana_user: str | None = USER,
    kibana_password: str | None = PASSWORD, kibana_ca_cert: Path | None = CA_CERT,
    insecure: bool | None = INSECURE, config: Path | None = CONFIG,
) -> None:
    from kmsdet.kibana.client import KibanaClient
    from kmsdet.kibana.deploy import apply_plan
    from kmsdet.kibana.plan import plan_deploy

    resolved: Target | None = None
    with _guard(resolved, output_format):
        resolved = resolve_target(target_options(
            target, kibana_url, space, kibana_api_key, kibana_user, kibana_password,
            kibana_ca_cert, insecure, config))
    with _guard(resolved, output_format), KibanaClient(resolved) as client:
        info = client.preflight()
        payloads = _load_payloads(paths, info.version_tuple, enable)
        plan = plan_deploy(client, payloads, prune=prune)
        result = None if plan_only else apply_plan(client, plan, method=method)
    requests = client.requests_sent  # every HTTP request of the command, retries included
    document = {"target": {"url": resolved.url, "space": resolved.space,
                           "name": resolved.name},
                "kibana_version": info.version, "plan": _plan_json(plan),
                "warnings": [f"{p.rule_id}: {w}" for p in payloads for w in p.warnings]}
    document["requests"] = requests
    if result is not None:
        document["result"] = _result_json(result, requests)
    if output_format is OutputFormat.json:
        write_json(json.dumps(document, indent=2))  # masked like every output
    else:
        _render_deploy_text(document, plan_only)
    failed = bool(plan.by_action("conflict")) or (result is not None and not result.ok)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


def export(
    paths: list[Path] = typer.Argument(None, help="Rule files or folders (default: rules/)."),
    output: Path = typer.Option(..., "--output", "-o", help="The .ndjson file to write."),
    stack_version: str = typer.Option("9.3", "--stack-version", help="Kibana version the "
                                      "payloads are for (field shapes differ before 8.11)."),
    enable: bool | None = typer.Option(None, "--enable/--disable", help="Override every "
                                       "rule's enabled state."),
    output_format: OutputFormat = FORMAT,
) -> None:
    from kmsdet.kibana.export import write_ndjson
    from kmsdet.kibana.payload import parse_stack_version

    with _guard(None, output_format):
        payloads = _load_payloads(paths, parse_stack_version(stack_version), enable)
        count = write_ndjson(payloads, output)
    warnings = [f"{p.rule_id}: {w}" for p in payloads for w in p.warnings]
    if output_format is OutputFormat.json:
        write_json(json.dumps({"output": str(output), "rules": count,
                               "warnings": warnings}, indent=2))
    else:
        for warning in warnings:
            stdout.print(f"warning: {warning}")
        stdout.print(f"wrote {count} rules to {output}")


def pull(
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the TOML files."),
    tag: str | None = typer.Option(None, "--tag", help="Only rules with this tag."),
    rule_id: str | None = typer.Option(None, "--rule-id", help="Only this rule."),
    output_format: OutputFormat = FORMAT,
    target: str | None = TARGET, kibana_url: str | None = KIBANA_URL, space: str | None = SPACE,
    kibana_api_key: str | None = API_KEY, kibana_user: str | None = USER,
    kibana_password: str | None = PASSWORD, kibana_ca_cert: Path | None = CA_CERT,
    insecure: bool | None = INSECURE, config: Path | None = CONFIG,
) -> None:
    from kmsdet.errors import UsageError
    from kmsdet.kibana.client import KibanaClient
    from kmsdet.kibana.pull import pull as pull_rules

    resolved: Target | None = None
    with _guard(resolved, output_format):
        if tag and rule_id:
            raise UsageError("--tag and --rule-id exclude each other", field="--rule-id")
        resolved = resolve_target(target_options(
            target, kibana_url, space, kibana_api_key, kibana_user, kibana_password,
            kibana_ca_cert, insecure, config))
    with _guard(resolved, output_format), KibanaClient(resolved) as client:
        result = pull_rules(client, output, tag=tag, rule_id=rule_id)
    if output_format is OutputFormat.json:
        write_json(json.dumps({"written": [str(p) for p in result.written],
                               "unchanged": [str(p) for p in result.unchanged]}, indent=2))
    else:
        for path in result.written:
            stdout.print(f"wrote {path}")
        stdout.print(f"{len(result.written)} written, {len(result.unchanged)} unchanged")


# -- rendering --------------------------------------------------------------------------------

_SIGN = {"create": "+", "update": "~", "unchanged": "=", "delete": "-", "conflict": "!"}


def _plan_json(plan: Any) -> list[dict[str, Any]]:
    return [{"rule_id": i.rule_id, "name": i.name, "action": i.action,
             "changes": [{"field": c.field, "before": c.before, "after": c.after}
                         for c in i.changes], **({"reason": i.reason} if i.reason else {})}
            for i in plan.items]


def _result_json(result: Any, requests: int) -> dict[str, Any]:
    return {"ok": result.ok, "requests": requests,
            "rules": [{"rule_id": o.rule_id, "name": o.name, "action": o.action,
                       "status": o.status, "changed": o.changed,
                       **({"message": o.message} if o.message else {})}
                      for o in result.outcomes]}


def _render_deploy_text(document: dict[str, Any], plan_only: bool) -> None:
    target = document["target"]
    stdout.print(f"Plan for {target['url']} space {target['space']} "
                 f"(Kibana {document['kibana_version']}):", markup=False)
    counts: dict[str, int] = {}
    for item in document["plan"]:
        counts[item["action"]] = counts.get(item["action"], 0) + 1
        line = f"  {_SIGN[item['action']]} {item['action']:<9} {item['name']} ({item['rule_id']})"
        if item.get("reason"):
            line += f": {item['reason']}"
        stdout.print(line, markup=False)
        for change in item["changes"]:
            for text in _change_lines(change):
                stdout.print(f"      {text}", markup=False)
    for warning in document["warnings"]:
        stdout.print(f"  warning: {warning}", markup=False)
    summary = ", ".join(f"{n} {a}" for a, n in counts.items()) or "no rules"
    stdout.print(f"Plan: {summary}", markup=False)
    result = document.get("result")
    if plan_only or result is None:
        return
    stdout.print("Result:", markup=False)
    for rule in result["rules"]:
        if rule["status"] == "unchanged":
            continue
        line = f"  {rule['status']:<11} {rule['name']} ({rule['rule_id']})"
        if rule.get("message"):
            line += f": {rule['message']}"
        stdout.print(line, markup=False)
    changed = [r for r in result["rules"] if r["changed"]]
    failed = [r for r in result["rules"] if r["status"] in ("failed", "not applied",
                                                            "unknown", "skipped")]
    verdict = "ok" if result["ok"] else "FAILED"
    stdout.print(f"Deploy {verdict}: {len(changed)} changed, {len(failed)} not changed or "
                 f"failed, {result['requests']} HTTP requests", markup=False)


def _change_lines(change: dict[str, Any]) -> list[str]:
    before, after = change["before"], change["after"]
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        import difflib

        diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
        return [f"{change['field']}:"] + [f"  {line}" for line in list(diff)[2:]]
    return [f"{change['field']}: {json.dumps(before, sort_keys=True)} -> "
            f"{json.dumps(after, sort_keys=True)}"]

