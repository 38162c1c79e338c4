"""`kmsdet coverage`."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from kmsdet.cli.options import write_file
from kmsdet.reports.console import write_text

HELP = """Show what the rules cover: KMS management APIs and ATT&CK techniques.

For each rule, the KMS APIs its query watches and the techniques it maps to.

text prints a matrix for the terminal, markdown the README's rule table, json a machine
summary, navigator an ATT&CK Navigator layer (format 4.5) to load at the Navigator site.

Example: kmsdet coverage rules/ --format navigator --output kms-layer.json
"""


class CoverageFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    navigator = "navigator"


def coverage(
    paths: list[Path] = typer.Argument(None, help="Rule files or folders (default: rules/)."),
    output_format: CoverageFormat = typer.Option(CoverageFormat.text, "--format", "-f",
                                                 help="text, json, markdown or navigator."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write to this file instead of the terminal."),
) -> None:
    from kmsdet.coverage import (
        build_coverage,
        coverage_json,
        navigator_layer,
        render_markdown,
        render_text,
    )
    from kmsdet.rules.loader import load_rules

    cov = build_coverage(load_rules(paths or [Path("rules")]))
    if output_format is CoverageFormat.json:
        text = json.dumps(coverage_json(cov), indent=2) + "\n"
    elif output_format is CoverageFormat.navigator:
        text = json.dumps(navigator_layer(cov), indent=2) + "\n"
    elif output_format is CoverageFormat.markdown:
        text = render_markdown(cov)
    else:
        text = render_text(cov)
    if output:
        write_file(output, text)
    else:
        write_text(text)
