"""The lint check interface.

Each check is one small class with a stable code, a severity and a one-line summary as class
attributes. ``check`` sees one rule; ``finalize`` sees the whole tree after every rule has been
checked (uniqueness and other cross-rule properties). Adding a check means adding a class in a
module of this package; the registry finds it by reading the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar

from kmsdet.rules.model import KeyPath, Rule


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    file: str
    line: int | None = None
    column: int | None = None
    rule_id: str | None = None
    hint: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule_id": self.rule_id,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class LintContext:
    """State shared by the checks of one lint run."""

    strict: bool = False
    rules: list[Rule] = field(default_factory=list)


def is_deprecated(rule: Rule) -> bool:
    """True for a rule Elastic has retired (``maturity = "deprecated"``).

    Elastic keeps such rules, frozen as they were, in ``rules/_deprecated`` so that Kibana can
    remove them from users' clusters; its own validation no longer holds them to the current
    tag vocabulary, ATT&CK release or field schemas. Checks whose findings deprecation explains
    set ``checks_deprecated = False`` and the lint engine skips them on such rules.
    """
    return rule.metadata.maturity == "deprecated"


class Check:
    code: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.ERROR
    summary: ClassVar[str] = ""
    #: False when a deprecated rule's findings from this check are expected drift, not bugs.
    checks_deprecated: ClassVar[bool] = True

    def check(self, rule: Rule, ctx: LintContext) -> Iterable[Finding]:
        return ()

    def warm(self) -> None:
        """Load what ``check`` needs on a big tree (parsers, tables) before workers fork."""

    def finalize(self, ctx: LintContext) -> Iterable[Finding]:
        return ()

    def finding(self, rule: Rule, message: str, path: KeyPath = (), *, hint: str | None = None,
                line: int | None = None, column: int | None = None,
                severity: Severity | None = None) -> Finding:
        """A finding of this check located at ``path`` in ``rule`` (or at an explicit line)."""
        src = rule.source
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            message=message,
            file=str(src.path),
            line=line if line is not None else src.line_of(path),
            column=column,
            rule_id=rule.rule.rule_id,
            hint=hint,
        )


def all_checks() -> list[Check]:
    """One instance of every check class in this package, ordered by code."""
    import importlib
    import pkgutil

    import kmsdet.rules.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "base":
            importlib.import_module(f"{package.__name__}.{info.name}")
    found = {cls.code: cls for cls in _subclasses(Check) if cls.code}
    return [found[code]() for code in sorted(found)]


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
