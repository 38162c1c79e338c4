"""The streaming backtest against the per-run reference, on a trail laid out as S3 holds it."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsdet.backends.embedded import EmbeddedBackend
from kmsdet.backends.schedule import doc_time
from kmsdet.backtest.engine import backtest
from kmsdet.backtest.prefilter import necessary_clause
from kmsdet.backtest.scan import RAW_TIMED, _raw_slot_time, build_plan
from kmsdet.backtest.synthetic_trail import ATTACKS, TrailSpec, write_trail
from kmsdet.cloudtrail.builder import build_record
from kmsdet.cloudtrail.kms_apis import KMS_APIS
from kmsdet.cloudtrail.readers import stream_events
from kmsdet.cloudtrail.service_apis import SERVICE_APIS
from kmsdet.cloudtrail.to_ecs import to_ecs
from kmsdet.kql.parser import parse
from kmsdet.rules.loader import load_rules
from kmsdet.rules.model import Rule
from tests.unit.backtest.reference import replay_per_run

PACK = Path(__file__).resolve().parents[3] / "rules"
START = datetime(2026, 10, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pack() -> list[Rule]:
    return load_rules([PACK])


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trail")
    write_trail(root, TrailSpec(records=1500, start=START, days=2, seed=7, per_file=200,
                                attack_every=20))
    return root


def _documents(root: Path) -> list[dict[str, Any]]:
    """Every record of the trail mapped to ECS, in the order replay reads them."""
    from kmsdet.backtest.scan import discover

    docs = []
    for source in discover([root]):
        for _, record, _ in stream_events(source.path):
            when = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
            docs.append(to_ecs(record, ingested=when))
    return docs


def test_backtest_raises_exactly_the_reference_alerts(pack: list[Rule], trail: Path) -> None:
    expected = replay_per_run(pack, _documents(trail))
    assert len({a.rule_id for a in expected}) >= 8, "the trail should wake most of the pack"
    assert any((a.event_id or "").startswith("sequence:") for a in expected), "and EQL"
    for workers in (1, 2):
        result = backtest(pack, [trail], workers=workers)
        assert result.alerts == expected, f"workers={workers}"
        assert result.mapped < result.events / 5, "records no rule can match are not mapped"


def test_digest_files_are_not_read(pack: list[Rule], trail: Path) -> None:
    result = backtest(pack, [trail], workers=1)
    assert result.sources == len(list(trail.rglob("*_CloudTrail_*.json.gz")))
    assert result.events == len(_documents(trail))


def test_since_and_until_bound_the_schedule(pack: list[Rule], trail: Path) -> None:
    since = datetime(2026, 10, 1, 12, tzinfo=timezone.utc)
    until = datetime(2026, 10, 2, 12, tzinfo=timezone.utc)
    result = backtest(pack, [trail], since=since, until=until, workers=1)
    inside = [d for d in _documents(trail)
              if since <= datetime.fromisoformat(d["@timestamp"].replace("Z", "+00:00")) <= until]
    assert result.alerts
    assert result.alerts == replay_per_run(pack, inside)


# --------------------------------------------------------------- early rejection is exact

_NAMES = sorted(set(KMS_APIS) | set(SERVICE_APIS) | set(ATTACKS))
_SOURCES = ["kms.amazonaws.com", "s3.amazonaws.com", "KMS.amazonaws.com", "kms.amazonaws.com ",
            "iam.amazonaws.com"]


@st.composite
def raw_records(draw: st.DrawFn) -> dict[str, Any]:
    rng = random.Random(draw(st.integers(0, 2**16)))
    record = build_record({"eventName": draw(st.sampled_from(_NAMES))}, rng=rng, at=START)
    change = draw(st.sampled_from(["none", "source", "drop-source", "drop-name", "odd-name",
                                   "odd-source", "case-name"]))
    if change == "source":
        record["eventSource"] = draw(st.sampled_from(_SOURCES))
    elif change == "drop-source":
        record.pop("eventSource", None)
    elif change == "drop-name":
        record.pop("eventName", None)
    elif change == "odd-name":
        record["eventName"] = draw(st.sampled_from([7, None, ["DisableKey"], {"a": 1}]))
    elif change == "odd-source":
        record["eventSource"] = draw(st.sampled_from([None, 3, ["kms.amazonaws.com"]]))
    elif change == "case-name":
        record["eventName"] = str(record.get("eventName", "")).lower()
    return record


@settings(max_examples=400, deadline=None)
@given(record=raw_records())
def test_a_rejected_record_matches_no_rule_once_mapped(pack: list[Rule],
                                                         record: dict[str, Any]) -> None:
    plan = build_plan(pack)
    assert plan.prefilter is not None, "every pack rule names its event.provider/action"
    doc = to_ecs(record, ingested=START)
    if plan.prefilter.keep(record):
        return
    matched = [r.name for r in pack if _matches(r, doc)]
    assert not matched, f"rejected a record that {matched} match"
    for primary, fallback in plan.slots:
        assert primary in RAW_TIMED
        assert _raw_slot_time(primary, record, START) == doc_time(
            _with_slot(pack, plan, primary, fallback), doc)


def _matches(rule: Rule, doc: dict[str, Any]) -> bool:
    if rule.rule.type == "eql":
        from kmsdet.eql.rule import program_for

        return program_for(rule).prefilter(doc)
    return EmbeddedBackend().matcher(rule, START)(doc)


def _with_slot(pack: list[Rule], plan: Any, primary: str, fallback: bool) -> Rule:
    return next(r for r, s in zip(pack, plan.rule_slot, strict=True)
                if plan.slots[s] == (primary, fallback))


def test_only_positive_clauses_on_the_probed_fields_are_kept() -> None:
    clause = necessary_clause(parse('event.provider: "kms.amazonaws.com" and '
                                    'not event.action: "Decrypt" and user.name: x'))
    assert clause is not None and "Decrypt" not in repr(clause) and "user" not in repr(clause)
    assert necessary_clause(parse('event.action: A or user.name: x')) is None
    assert necessary_clause(parse('not event.action: Decrypt')) is None


def test_a_rule_without_a_probe_clause_turns_rejection_off(pack: list[Rule]) -> None:
    broad = pack[0].model_copy(deep=True)
    broad.rule.query = 'user.name: "alice"'
    assert build_plan([*pack, broad]).prefilter is None


def test_the_json_report_keeps_alerts_and_events_and_adds_rules(pack: list[Rule],
                                                                trail: Path) -> None:
    from typer.testing import CliRunner

    from kmsdet.cli import app

    result = CliRunner().invoke(app, ["replay", str(trail), "--rules", str(PACK),
                                      "--format", "json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["events"] == len(_documents(trail))
    by_rule = {r["rule_id"]: r for r in payload["rules"]}
    assert set(by_rule) == {r.rule_id for r in pack}
    for rule_id, entry in by_rule.items():
        own = [a for a in payload["alerts"] if a["rule_id"] == rule_id]
        assert entry["alerts"] == len(own) == sum(entry["alerts_per_day"].values())
        if own:
            assert entry["first_alert"] == min(a["@timestamp"] for a in own)
            principals = [a["principal"] for a in own if a["principal"]]
            if principals:
                top = entry["top_principals"][0]
                assert top["alerts"] == max(principals.count(p) for p in principals)
