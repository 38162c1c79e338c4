"""Typed errors a user can cause.

Every error carries where it happened (file, line, column or field) and a hint, so that the CLI
can render it in one place and pick the exit code without ever showing a traceback.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3


@dataclass
class KmsdetError(Exception):
    """Base of all user-facing errors; exit code 2 (bad usage or input) unless overridden."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None
    hint: str | None = None
    exit_code: int = dataclasses.field(default=EXIT_USAGE)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def location(self) -> str:
        parts = [p for p in (self.file, self.line, self.column) if p is not None]
        where = ":".join(str(p) for p in parts)
        if self.field:
            where = f"{where} [{self.field}]" if where else self.field
        return where

    def render(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class InputError(KmsdetError):
    """Unreadable or malformed input: a file, a query, a document."""


class UsageError(KmsdetError):
    """Options that contradict each other or name something that does not exist."""


@dataclass
class EnvironmentProblem(KmsdetError):
    """A service is unreachable, refuses our credentials, or is not what we expected."""

    exit_code: int = dataclasses.field(default=EXIT_ENVIRONMENT)
