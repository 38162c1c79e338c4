"""`kmsdet sandbox up|down|status|reset|logs`: options and rendering; logic is kmsdet.sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.live import Live
from rich.table import Table

from kmsdet.errors import EXIT_FINDINGS, EXIT_OK
from kmsdet.reports.console import stdout, write_json, write_text

if TYPE_CHECKING:  # the Docker SDK is imported only when a sandbox command runs
    from kmsdet.sandbox.health import ServiceProgress
    from kmsdet.sandbox.lifecycle import Sandbox, UpResult

app = typer.Typer(
    name="sandbox",
    help="A local Elasticsearch + Kibana (docker compose) to deploy and test rules against.\n\n"
         "Example: kmsdet sandbox up && kmsdet sandbox status",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_PHASE_STYLE = {"ready": "green", "starting": "yellow", "waiting": "dim", "failed": "bold red"}

ProjectDir = typer.Option(None, "--project-dir", "-C",
                          help="Folder with docker-compose.yml (default: here or a parent).")
ProjectName = typer.Option(None, "--project-name", "-p",
                           help="Compose project (default: COMPOSE_PROJECT_NAME or kmsdet).")
Timeout = typer.Option(600.0, "--timeout", help="Seconds to wait for the stack to be healthy.")
SkipPreflight = typer.Option(False, "--skip-preflight",
                             help="Skip the memory, vm.max_map_count and port checks.")


def _sandbox(project_dir: Path | None, project: str | None, required: bool) -> Sandbox:
    from kmsdet.sandbox.lifecycle import Sandbox
    from kmsdet.sandbox.project import locate

    return Sandbox(locate(project_dir, required=required), project=project)


def _table(progress: list[ServiceProgress], title: str | None = None) -> Table:
    table = Table(title=title, show_edge=False, header_style="bold")
    table.add_column("service")
    table.add_column("state")
    table.add_column("detail")
    for item in progress:
        style = _PHASE_STYLE.get(item.phase, "")
        table.add_row(item.service, f"[{style}]{item.phase}[/]", item.detail)
    return table


def _step(message: str) -> None:
    stdout.print(f"[dim]·[/] {message}")


def _start(sandbox: Sandbox, timeout: float, skip_preflight: bool, wipe: bool) -> None:
    """Run up (after a wipe for reset) under a live table of the services, then summarise."""
    with Live(_table([], "sandbox"), console=stdout, transient=True,
              auto_refresh=False) as live:
        def on_progress(progress: list[ServiceProgress]) -> None:
            live.update(_table(progress, "sandbox"), refresh=True)

        options = {"timeout": timeout, "skip_preflight": skip_preflight,
                   "on_progress": on_progress, "on_step": _step}
        result = sandbox.reset(**options)[1] if wipe else sandbox.up(**options)
    _render_up(result)


def _render_up(result: UpResult) -> None:
    change = result.env_change
    if change.created:
        stdout.print(f"created {change.path} (mode 0600) with new passwords and keys")
    elif change.generated:
        stdout.print(f"generated {', '.join(change.generated)} in {change.path}")
    stdout.print(_table(result.services, "sandbox is ready"))
    target = result.target
    stdout.print(f"Kibana         {target.kibana_url}")
    stdout.print(f"Elasticsearch  {target.elasticsearch_url}")
    stdout.print(f"user           {target.user} (password: {target.password_env} in "
                 f"{target.env_file})")
    stdout.print(f"CA certificate {target.ca_cert}")
    stdout.print(f"target         sandbox -> {result.target_file}")


@app.command(help="Create .env if needed, start the stack, wait until healthy, and write the "
                  "`sandbox` target (.kmsdet/targets/sandbox.toml).\n\n"
                  "Example: kmsdet sandbox up --timeout 900")
def up(project_dir: Path | None = ProjectDir, project: str | None = ProjectName,
       timeout: float = Timeout, skip_preflight: bool = SkipPreflight) -> None:
    _start(_sandbox(project_dir, project, required=True), timeout, skip_preflight, wipe=False)


@app.command(help="Show each service's state and health. Exit 0 when all are ready, else 1.\n\n"
                  "Example: kmsdet sandbox status --format json")
def status(project_dir: Path | None = ProjectDir, project: str | None = ProjectName,
           output_format: str = typer.Option("text", "--format", "-f",
                                             help="text or json.")) -> None:
    report = _sandbox(project_dir, project, required=False).status()
    if output_format == "json":
        payload = {
            "project": report.project,
            "ready": report.ready,
            "services": [{"service": s.service, "phase": s.phase, "detail": s.detail}
                         for s in report.services],
            "containers": [{"name": c.name, "service": c.service, "state": c.state,
                            "health": c.health, "exit_code": c.exit_code,
                            "ports": [str(p) for p in c.ports]} for c in report.containers],
        }
        write_json(json.dumps(payload, indent=2))
    elif not report.running:
        stdout.print(f"sandbox (project {report.project}) is not running; start it with "
                     "kmsdet sandbox up")
    else:
        stdout.print(_table(report.services, f"sandbox (project {report.project})"))
    raise typer.Exit(EXIT_OK if report.ready else EXIT_FINDINGS)


@app.command(help="Print the services' logs, secrets from .env masked.\n\n"
                  "Example: kmsdet sandbox logs kibana --tail 50 --follow")
def logs(service: str | None = typer.Argument(None, help="setup, es01 or kibana (default: "
                                                          "all)."),
         tail: int = typer.Option(100, "--tail", "-n", help="Lines per service; 0 for all."),
         follow: bool = typer.Option(False, "--follow", help="Keep printing new lines."),
         timestamps: bool = typer.Option(False, "--timestamps", "-t", help="Add timestamps."),
         project_dir: Path | None = ProjectDir, project: str | None = ProjectName) -> None:
    sandbox = _sandbox(project_dir, project, required=False)
    for line in sandbox.logs(service, tail=tail or None, follow=follow, timestamps=timestamps):
        write_text(line + "\n")


@app.command(help="Stop and remove the sandbox's containers and network; data volumes are "
                  "kept unless --volumes.\n\nExample: kmsdet sandbox down")
def down(volumes: bool = typer.Option(False, "--volumes", "-v",
                                      help="Also delete the data and certificate volumes."),
         project_dir: Path | None = ProjectDir, project: str | None = ProjectName) -> None:
    report = _sandbox(project_dir, project, required=False).down(volumes=volumes,
                                                                  on_step=_step)
    if not (report.containers or report.networks or report.volumes):
        stdout.print("nothing to remove: the sandbox is not running")
        return
    stdout.print(f"removed {len(report.containers)} containers, {len(report.networks)} "
                 f"networks, {len(report.volumes)} volumes")


@app.command(help="Delete all sandbox data (rules, alerts, certificates) and start afresh; "
                  ".env and its keys are kept.\n\nExample: kmsdet sandbox reset --yes")
def reset(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
          project_dir: Path | None = ProjectDir, project: str | None = ProjectName,
          timeout: float = Timeout, skip_preflight: bool = SkipPreflight) -> None:
    sandbox = _sandbox(project_dir, project, required=True)
    if not yes:
        typer.confirm("Delete every rule, alert and document in the sandbox?", abort=True)
    _start(sandbox, timeout, skip_preflight, wipe=True)
