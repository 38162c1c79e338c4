"""Everything one `kmsdet test` run produced, and its single verdict.

The text summary, the JSON document, the JUnit file and the exit code are all computed from
this one object, so no report can call a run green that the exit code calls red: a failing
storyline, a fidelity difference or a run that tested nothing fails every one of them alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kmsdet.cases.runner import CaseResult, TestRun
from kmsdet.cases.scenarios import ScenarioResult
from kmsdet.errors import EXIT_FINDINGS, EXIT_OK

NOTHING_TESTED = ("nothing was tested: no rule case and no storyline ran (add "
                  "<rule>.cases.toml files, or pass the folder that holds them)")


def is_baseline(result: CaseResult) -> bool:
    """The benign baseline proves silence only; it never counts as testing a rule."""
    return result.case_line is None and not result.case.events


@dataclass
class TestReport:
    __test__ = False  # not a pytest class, whatever its name
    run: TestRun
    stories: list[ScenarioResult] = field(default_factory=list)
    fidelity: Sequence[Any] = ()  # kibana backend: checks with differences
    skipped: Sequence[tuple[Any, str]] = ()  # (rule, why): --skip-unsupported on this backend

    @property
    def cases(self) -> list[CaseResult]:
        return self.run.results

    @property
    def tested_nothing(self) -> bool:
        return not self.stories and all(is_baseline(r) for r in self.cases)

    @property
    def tests(self) -> int:
        """Cases (baseline included) plus storylines: what every report counts."""
        return len(self.cases) + len(self.stories)

    @property
    def failed(self) -> int:
        return (sum(1 for r in self.cases if not r.passed)
                + sum(1 for s in self.stories if not s.passed))

    @property
    def passed(self) -> int:
        return self.tests - self.failed

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.fidelity and not self.tested_nothing

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_FINDINGS

    def problems(self) -> list[str]:
        """Why the run failed, beyond individual failed tests (empty when it did not)."""
        out = []
        if self.tested_nothing:
            out.append(NOTHING_TESTED)
        if self.fidelity:
            out.append(f"{len(self.fidelity)} rule(s) ran a different search in Kibana than "
                       "kmsdet's translation")
        return out
