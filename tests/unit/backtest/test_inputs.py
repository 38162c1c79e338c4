"""What a backtest reads, and how it refuses what it cannot read: never silently."""

from __future__ import annotations

import gzip
import itertools
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kmsdet.backtest.engine import backtest
from kmsdet.cloudtrail.builder import build_record
from kmsdet.errors import InputError
from kmsdet.rules.loader import load_rule
from tests.unit.rules.rule_text import VALID_RULE

START = datetime(2026, 2, 1, 10, 0, tzinfo=timezone.utc)


_SEEDS = itertools.count()


def records(*names: str) -> list[dict]:
    rng = random.Random(next(_SEEDS))  # fresh event ids at every call
    return [build_record({"eventName": n}, rng=rng, at=START + timedelta(minutes=i))
            for i, n in enumerate(names)]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "disable.toml").write_text(VALID_RULE, encoding="utf-8")
    return folder


def envelope(path: Path, recs: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    return path


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    output: str  # stdout and stderr together, as a person sees them


def replay(*args: str, stdin: str | None = None, cwd: Path | None = None) -> Outcome:
    """The real process: exit codes and error rendering are the console entry point's."""
    done = subprocess.run([sys.executable, "-m", "kmsdet", "replay", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, timeout=120)
    return Outcome(done.returncode, done.stdout, done.stdout + done.stderr)


def test_a_truncated_gz_is_an_input_error_naming_the_file(tmp_path: Path,
                                                          rules_dir: Path) -> None:
    good = envelope(tmp_path / "logs" / "a.json.gz", records("DisableKey"))
    bad = tmp_path / "logs" / "b.json.gz"
    bad.write_bytes(good.read_bytes()[:-12])
    result = replay(str(tmp_path / "logs"), "--rules", str(rules_dir))
    assert result.exit_code == 2
    assert str(bad) in result.output and "truncated" in result.output
    assert "Traceback" not in result.output


def test_keep_going_skips_and_reports_every_skipped_file_and_record(tmp_path: Path,
                                                                    rules_dir: Path) -> None:
    logs = tmp_path / "logs"
    envelope(logs / "a.json.gz", records("DisableKey"))
    (logs / "b.json").write_text("this is not JSON", encoding="utf-8")
    timeless = records("DisableKey", "DisableKey")
    del timeless[1]["eventTime"]
    envelope(logs / "c.json.gz", timeless)
    result = replay(str(logs), "--rules", str(rules_dir), "--keep-going", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["alerts"]) == 2
    skipped = {Path(s["file"]).name: s for s in payload["skipped"]}
    assert skipped["b.json"]["whole_file"] is True
    assert skipped["c.json.gz"]["records"] == 1 and "record 1" in skipped["c.json.gz"]["reason"]
    text = replay(str(logs), "--rules", str(rules_dir), "--keep-going")
    assert "b.json: skipped the file" in text.output
    assert "c.json.gz: skipped 1 record" in text.output


def test_a_record_without_event_time_names_the_record(tmp_path: Path, rules_dir: Path) -> None:
    timeless = records("DisableKey", "DisableKey", "DisableKey")
    del timeless[2]["eventTime"]
    path = envelope(tmp_path / "t.json.gz", timeless)
    result = replay(str(path), "--rules", str(rules_dir))
    assert result.exit_code == 2
    assert "record 2 has no valid eventTime" in result.output and str(path) in result.output


def test_ndjson_from_standard_input(rules_dir: Path) -> None:
    lines = "\n".join(json.dumps(r) for r in records("DisableKey", "EnableKey", "DisableKey"))
    result = replay("-", "--rules", str(rules_dir), "--format", "json", stdin=lines)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["alerts"]) == 2


def test_a_missing_input_is_named_before_rules_are_read(tmp_path: Path) -> None:
    result = replay("/nope/trail.json", cwd=tmp_path)  # no rules/ here either
    assert result.exit_code == 2
    assert "/nope/trail.json: no such file or directory" in result.output
    assert "rules" not in result.output.split("hint")[0]


def test_large_ndjson_is_streamed_not_loaded(tmp_path: Path) -> None:
    from kmsdet.cloudtrail.readers import stream_events

    path = tmp_path / "big.ndjson"
    one = json.dumps(records("Decrypt")[0])
    path.write_text("\n".join([one] * 3) + "\n{broken\n" + one, encoding="utf-8")
    seen = []
    with pytest.raises(InputError) as caught:
        for _, _, index in stream_events(path):
            seen.append(index)
    assert seen == [0, 1, 2]  # the good records came before the error was found
    assert caught.value.line == 4


def test_workers_do_not_change_the_answer(tmp_path: Path, rules_dir: Path) -> None:
    logs = tmp_path / "logs"
    for day in range(6):
        envelope(logs / f"{day}.json.gz",
                 records(*(["DisableKey", "Decrypt"] * 5)))
    rule = [load_rule(rules_dir / "disable.toml")]
    one = backtest(rule, [logs], workers=1)
    two = backtest(rule, [logs], workers=2)
    assert one.alerts == two.alerts and one.events == two.events == 60


def test_since_after_until_is_a_usage_error(tmp_path: Path, rules_dir: Path) -> None:
    path = envelope(tmp_path / "a.json.gz", records("DisableKey"))
    result = replay(str(path), "--rules", str(rules_dir), "--since", "2026-03-01",
                    "--until", "2026-02-01")
    assert result.exit_code == 2 and "--since is after --until" in result.output
    bad = replay(str(path), "--rules", str(rules_dir), "--since", "last tuesday")
    assert bad.exit_code == 2 and "is not a time" in bad.output


def test_progress_knows_the_total_before_the_first_file(tmp_path: Path, rules_dir: Path) -> None:
    logs = tmp_path / "logs"
    for day in range(3):
        envelope(logs / f"{day}.json.gz", records("DisableKey", "Decrypt"))
    calls: list[tuple[int, int, int]] = []
    backtest([load_rule(rules_dir / "disable.toml")], [logs], workers=1,
             on_progress=lambda *args: calls.append(args))
    assert calls[0] == (0, 3, 0) and calls[-1] == (3, 3, 6)
    assert [done for done, _, _ in calls] == [0, 1, 2, 3]
