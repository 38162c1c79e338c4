"""The kmsdet command line: argument parsing and rendering only; logic lives in the package."""

from kmsdet.cli.main import app, main

__all__ = ["app", "main"]
