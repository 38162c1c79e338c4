"""Running the lint checks over a rule tree.

Load problems (TOML syntax, unknown keys, wrong types) become findings like any other, so one
run reports everything wrong with every file. Per-rule suppressions (``[kmsdet.suppress]``,
code = "reason") drop a check's findings for that rule only, and must give a reason.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kmsdet.rules.checks.base import (
    Check,
    Finding,
    LintContext,
    Severity,
    all_checks,
    is_deprecated,
)
from kmsdet.rules.loader import LoadResult, find_rule_files, load_file
from kmsdet.rules.model import Rule

SUPPRESSION_CODE = "KD107"
# Codes raised while loading a file, before any check runs (see kmsdet.rules.loader).
LOAD_CODES = {
    "KD100": "the file is readable UTF-8",
    "KD101": "the file is valid TOML",
    "KD102": "no unknown tables or keys",
    "KD103": "every value has the type the format expects",
    "KD104": "fields every rule needs are present",
    SUPPRESSION_CODE: "suppressions name a known check and give a reason",
}


@dataclass
class LintReport:
    files: int = 0
    rules: list[Rule] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def failed(self, strict: bool) -> bool:
        return bool(self.errors or (strict and self.warnings))


PARALLEL_MIN_FILES = 300


def lint_paths(paths: Sequence[str | Path], *, strict: bool = False,
               checks: Sequence[Check] | None = None, jobs: int | None = None) -> LintReport:
    """Lint every rule file under ``paths``; raises InputError only for a missing path.

    Large trees are split across processes (``jobs``, default one per CPU): parsing TOML
    dominates the run, and it is pure CPU work that threads cannot share.
    """
    files = find_rule_files(paths)
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if checks is None and workers > 1 and len(files) >= PARALLEL_MIN_FILES and _can_fork():
        return _lint_parallel(files, strict=strict, workers=workers)
    return lint_results(map(load_file, files), strict=strict, checks=checks)


def lint_results(results: Iterable[LoadResult], *, strict: bool = False,
                 checks: Sequence[Check] | None = None) -> LintReport:
    active = list(checks) if checks is not None else all_checks()
    files, rules, raw = _check_each(results, active, strict)
    return _finish(files, rules, raw, active, strict)


def _check_each(results: Iterable[LoadResult], active: Sequence[Check],
                strict: bool) -> tuple[int, list[Rule], list[Finding]]:
    """Per-file work: load findings, every check's per-rule findings, suppression findings."""
    known_codes = {c.code for c in active} | _extra_codes(active) | set(LOAD_CODES)
    ctx = LintContext(strict=strict)
    raw: list[Finding] = []
    files = 0
    for result in results:
        files += 1
        raw.extend(_load_findings(result))
        if result.rule is None:
            continue
        ctx.rules.append(result.rule)
        deprecated = is_deprecated(result.rule)
        for check in active:
            if deprecated and not check.checks_deprecated:
                continue
            raw.extend(check.check(result.rule, ctx))
        raw.extend(_suppression_findings(result.rule, known_codes))
    return files, ctx.rules, raw


def _finish(files: int, rules: list[Rule], raw: list[Finding], active: Sequence[Check],
            strict: bool) -> LintReport:
    """Cross-rule checks over the whole tree, then suppressions and ordering."""
    ctx = LintContext(strict=strict, rules=rules)
    for check in active:
        raw.extend(check.finalize(ctx))
    return LintReport(files=files, rules=rules,
                      findings=sorted(_apply_suppressions(raw, rules), key=_order))


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform == "linux"


def _lint_chunk(args: tuple[list[Path], bool]) -> tuple[int, list[Rule], list[Finding]]:
    files, strict = args
    return _check_each(map(load_file, files), all_checks(), strict)


_EQL_LANGUAGE = re.compile(rb"""^[ \t]*language[ \t]*=[ \t]*["']eql["']""", re.MULTILINE)


def _warm_eql_parser(files: Sequence[Path]) -> None:
    """Build the eql package's grammar here, once, when the tree holds an EQL rule.

    Built after the fork, every worker pays for it again (~0.2 s of CPU each); a tree without
    EQL never needs it, and the first EQL rule usually turns up within the first files read.
    """
    for path in files:
        try:
            head = path.read_bytes()
        except OSError:
            continue  # the worker reports it (KD100)
        if _EQL_LANGUAGE.search(head):
            from kmsdet.eql.lark_memo import install

            install()  # imports eql, which builds (or loads) its parser
            return


def _lint_parallel(files: list[Path], *, strict: bool, workers: int) -> LintReport:
    for check in all_checks():
        check.warm()  # load shared tables once here, not once in every forked worker
    _warm_eql_parser(files)
    size = -(-len(files) // workers)
    chunks = [(files[i:i + size], strict) for i in range(0, len(files), size)]
    context = multiprocessing.get_context("fork")
    # This process lints the first chunk itself while the forked workers lint the rest: one
    # fork fewer, and its rules need no pickling back.
    with ProcessPoolExecutor(max_workers=max(1, len(chunks) - 1), mp_context=context) as pool:
        others = pool.map(_lint_chunk, chunks[1:])
        parts = [_lint_chunk(chunks[0]), *others]
    rules = [rule for _, part_rules, _ in parts for rule in part_rules]
    raw = [finding for _, _, part_raw in parts for finding in part_raw]
    return _finish(sum(n for n, _, _ in parts), rules, raw, all_checks(), strict)


def _order(f: Finding) -> tuple[str, int, int, str]:
    return (f.file, f.line or 0, f.column or 0, f.code)


def _extra_codes(checks: Sequence[Check]) -> set[str]:
    codes: set[str] = set()
    for check in checks:
        codes.update(getattr(check, "extra_codes", ()))
    return codes


def _load_findings(result: LoadResult) -> Iterable[Finding]:
    rule_id = None
    if result.data and isinstance(result.data.get("rule"), dict):
        value = result.data["rule"].get("rule_id")
        rule_id = value if isinstance(value, str) else None
    for problem in result.problems:
        yield Finding(code=problem.code, severity=Severity.ERROR, message=problem.message,
                      file=str(result.path), line=problem.line, column=problem.column,
                      rule_id=rule_id, hint=problem.hint)


def _suppression_findings(rule: Rule, known: set[str]) -> Iterable[Finding]:
    for code, reason in rule.suppressed.items():
        path = ("kmsdet", "suppress", code)
        if code not in known:
            yield Finding(SUPPRESSION_CODE, Severity.ERROR,
                          f"suppression names unknown check '{code}'", str(rule.source.path),
                          rule.source.line_of(path), rule_id=rule.rule_id,
                          hint="run 'kmsdet lint --list-checks' for the codes")
        elif not reason.strip():
            yield Finding(SUPPRESSION_CODE, Severity.ERROR,
                          f"suppression of {code} gives no reason", str(rule.source.path),
                          rule.source.line_of(path), rule_id=rule.rule_id,
                          hint=f'write {code} = "why this check does not apply here"')


def _apply_suppressions(findings: Iterable[Finding], rules: Sequence[Rule]) -> list[Finding]:
    suppressed = {
        str(r.source.path): {c for c, why in r.suppressed.items() if why.strip()} for r in rules
    }
    return [f for f in findings
            if f.code == SUPPRESSION_CODE or f.code not in suppressed.get(f.file, set())]
