"""The Typer application and the single place where errors become messages and exit codes."""

from __future__ import annotations

import json
import os
import sys

import typer

from kmsdet import __version__
from kmsdet.errors import EXIT_USAGE, KmsdetError, UsageError
from kmsdet.masking import masked
from kmsdet.reports.console import error_document, report_error, stderr, wants_json, write_json

# Click's error base class, wherever this Typer keeps click (vendored in recent releases).
_CLICK_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

app = typer.Typer(
    name="kmsdet",
    help="Detection-as-code for Elastic Security: lint TOML rules, prove them with synthetic "
         "AWS CloudTrail events, deploy them to Kibana.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kmsdet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """kmsdet: lint, test and deploy Elastic detection rules."""


def _register() -> None:
    from kmsdet.cli import coverage as coverage_cli
    from kmsdet.cli import generate as generate_cli
    from kmsdet.cli import kibana as kibana_cli
    from kmsdet.cli import kql as kql_cli
    from kmsdet.cli import lint as lint_cli
    from kmsdet.cli import replay as replay_cli
    from kmsdet.cli import sandbox as sandbox_cli
    from kmsdet.cli import seed as seed_cli
    from kmsdet.cli import test as test_cli

    app.command("lint", help=lint_cli.HELP)(lint_cli.lint)
    app.command("test", help=test_cli.HELP)(test_cli.test)
    app.command("generate", help=generate_cli.HELP)(generate_cli.generate)
    app.command("coverage", help=coverage_cli.HELP)(coverage_cli.coverage)
    app.command("seed", help=seed_cli.HELP)(seed_cli.seed)
    app.command("replay", help=replay_cli.REPLAY_HELP)(replay_cli.replay)
    app.command("events", help=replay_cli.EVENTS_HELP)(replay_cli.events)
    app.add_typer(kql_cli.app, name="kql")
    app.add_typer(sandbox_cli.app, name="sandbox")
    app.command("deploy", help=kibana_cli.DEPLOY_HELP)(kibana_cli.deploy)
    app.command("export", help=kibana_cli.EXPORT_HELP)(kibana_cli.export)
    app.command("pull", help=kibana_cli.PULL_HELP)(kibana_cli.pull)


_register()


def main() -> None:
    """Console entry point: renders every KmsdetError in one place, never a traceback.

    Click runs without its standalone mode so that its own usage errors pass through here too:
    with ``--format json`` every failure also prints a JSON error object on stdout.
    """
    as_json = wants_json(sys.argv[1:])
    sys.stdout, sys.stderr = masked(sys.stdout), masked(sys.stderr)  # logs and warnings too
    try:
        code = app(standalone_mode=False)
    except KmsdetError as error:
        report_error(error, as_json=as_json)
        sys.exit(error.exit_code)
    except _CLICK_ERROR as error:
        _show_click_error(error)
        if as_json and type(error).__name__ != "NoArgsIsHelpError":
            message = error.format_message()  # type: ignore[attr-defined]
            write_json(json.dumps(error_document(UsageError(message)), indent=2))
        sys.exit(error.exit_code)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
    except typer.Abort:  # end of input at a prompt, as click reports it
        stderr.print("aborted")
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("KMSDET_DEBUG"):
            raise
        report_error(UsageError(f"internal error: {type(error).__name__}: {error}",
                                hint="rerun with KMSDET_DEBUG=1 for a traceback, and report "
                                     "it"), as_json=as_json)
        sys.exit(EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else 0)


def _show_click_error(error: Exception) -> None:
    """Click's usage error as Typer shows it in standalone mode."""
    if type(error).__name__ == "NoArgsIsHelpError":
        error.show()  # type: ignore[attr-defined] - prints the help
        return
    from typer import rich_utils

    rich_utils.rich_format_error(error)  # type: ignore[arg-type]
