"""What `kmsdet seed` indexes: every case's events and storyline, and a benign baseline.

Times are relative to ``now``, inside each rule's look-back, so that rules deployed to a stack
(the sandbox) raise their alerts on their next run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from kmsdet.cases.baseline import baseline_documents
from kmsdet.cases.events import build_case_events, to_documents
from kmsdet.cases.loader import load_cases
from kmsdet.rules.model import Rule


def seed_documents_for(rules: Sequence[Rule], *, now: datetime, seed: int, baseline: int,
                       run_id: str, scenario_roots: Sequence[Path] = ()
                       ) -> Iterator[dict[str, Any]]:
    """ECS documents for every case of ``rules``, their storylines, and ``baseline`` benign
    events, all labelled with ``run_id``."""
    for rule in rules:
        loaded = load_cases(rule.source.path)
        for case in loaded.cases if loaded else []:
            events = build_case_events(case, now=now, seed=seed, key=rule.rule_id)
            yield from to_documents(events, run_id=run_id)
    if scenario_roots:
        from kmsdet.cases.scenarios import find_scenario_files, load_scenario

        for path in find_scenario_files(scenario_roots):
            story = load_scenario(path)
            events = build_case_events(story.as_case(), now=now, seed=seed,
                                       key=f"scenario:{path.stem}")
            yield from to_documents(events, run_id=run_id)
    if baseline:
        yield from baseline_documents(baseline, seed=seed, now=now, run_id=run_id)
