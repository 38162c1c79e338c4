"""`kmsdet kql check|dsl|match` through the entry point: output, formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

INDEX = "logs-aws.cloudtrail-*"


def kmsdet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kmsdet", *args], capture_output=True,
                          text=True, check=False)


def test_check_clean_query() -> None:
    proc = kmsdet("kql", "check", 'event.action: "DisableKey"', "--index", INDEX)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok")


def test_check_reports_schema_findings_as_json_and_exits_one() -> None:
    proc = kmsdet("kql", "check", "source.ip: not-an-ip and event.acton: x", "--index", INDEX,
                  "--format", "json")
    assert proc.returncode == 1
    codes = sorted(f["code"] for f in json.loads(proc.stdout)["findings"])
    assert codes == ["KD302", "KD304"]


def test_check_syntax_error_shows_a_caret() -> None:
    proc = kmsdet("kql", "check", "event.action: (a or")
    assert proc.returncode == 1
    assert "KD301" in proc.stdout and "^" in proc.stdout


def test_dsl_depends_on_the_field_types() -> None:
    typed = json.loads(kmsdet("kql", "dsl", "event.action: DisableKey", "-i", INDEX).stdout)
    untyped = json.loads(kmsdet("kql", "dsl", "event.action: DisableKey").stdout)
    clause = typed["bool"]["filter"][0]["bool"]["should"][0]
    assert clause == {"term": {"event.action": {"value": "DisableKey"}}}
    assert untyped["bool"]["filter"][0]["bool"]["should"][0] == {
        "match": {"event.action": "DisableKey"}}


def test_match_prints_one_verdict_per_document(tmp_path: Path) -> None:
    docs = tmp_path / "docs.ndjson"
    docs.write_text('{"event": {"action": "DisableKey"}}\n{"event.action": "EnableKey"}\n',
                    encoding="utf-8")
    proc = kmsdet("kql", "match", "event.action: DisableKey", "--doc", str(docs), "-i", INDEX,
                  "--format", "json")
    assert proc.returncode == 0
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [
        {"doc": 0, "match": True}, {"doc": 1, "match": False}]


def test_match_with_a_missing_document_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = kmsdet("kql", "match", "a: b", "--doc", str(tmp_path / "none.json"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


# -- queries too long for an argument list: - (stdin) and @FILE ----------------------------

BIG = "event.action: (" + " or ".join(f"A{i}" for i in range(20_000)) + ")"  # ~170 KB


def dsl_clauses(stdout: str) -> int:
    return len(json.loads(stdout)["bool"]["filter"][0]["bool"]["should"])


def test_dsl_reads_a_large_query_from_stdin() -> None:
    assert len(BIG.encode()) > 131_072  # more than one argument may hold on Linux
    proc = subprocess.run([sys.executable, "-m", "kmsdet", "kql", "dsl", "-", "-i", INDEX],
                          input=BIG, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert dsl_clauses(proc.stdout) == 20_000


def test_check_and_dsl_read_a_query_file(tmp_path: Path) -> None:
    path = tmp_path / "q.kql"
    path.write_text(BIG + " and source.ip: not-an-ip\n", encoding="utf-8")
    proc = kmsdet("kql", "check", f"@{path}", "-i", INDEX, "--format", "json")
    assert proc.returncode == 1
    assert [f["code"] for f in json.loads(proc.stdout)["findings"]] == ["KD304"]
    path.write_text(BIG, encoding="utf-8")
    assert dsl_clauses(kmsdet("kql", "dsl", f"@{path}", "-i", INDEX).stdout) == 20_000


def test_an_at_field_query_is_still_a_query() -> None:
    proc = kmsdet("kql", "check", "@timestamp >= now-1d", "-i", INDEX)
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok")


def test_a_missing_query_file_is_a_usage_error() -> None:
    proc = kmsdet("kql", "dsl", "@/nonexistent/q.kql")
    assert proc.returncode == 2
    assert "no such query file: /nonexistent/q.kql" in proc.stderr
