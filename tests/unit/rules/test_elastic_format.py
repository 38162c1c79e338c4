"""kmsdet lint accepts rules written the way Elastic ships them (issue 2).

``elastic_format/`` holds realistic rules in Elastic's detection-rules TOML format, written for
kmsdet (none is copied from Elastic): every rule type, KQL on several integrations, EQL single
events and sequences, ES|QL, Lucene, building blocks, investigation-guide plugins, alert
suppression, setup guides, several tactics with subtechniques. Elastic would ship any of them,
so the full lint must report no error, and no warning except the few listed below.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kmsdet.rules.checks.base import Finding
from kmsdet.rules.lint import LintReport, lint_paths

CORPUS = Path(__file__).parent / "elastic_format"

# Warnings Elastic's own rules would get too, each a true statement about the rule:
#   KD601  the corpus tests lint only, so no rule has a <stem>.cases.toml beside it.
#   KD305  (leading-wildcard message only) `user_agent.original:*S3 Browser*` and
#          `file.path:*\\Startup\\*` start with `*` on keyword fields; Elasticsearch then scans
#          every term of the field. Elastic accepts that cost in many rules; the advice stands.
ALLOWED_WARNINGS = {"KD601", "KD305"}
KD305_ALLOWED_PREFIX = "leading wildcard on keyword field"


@pytest.fixture(scope="module")
def report() -> LintReport:
    return lint_paths([CORPUS], jobs=1)


def _show(findings: list[Finding]) -> str:
    return "\n".join(f"{Path(f.file).name}:{f.line} {f.code} {f.message}" for f in findings)


def test_every_file_loads_as_a_rule(report: LintReport) -> None:
    assert report.files >= 32
    assert len(report.rules) == report.files


def test_no_error_findings(report: LintReport) -> None:
    assert report.errors == [], _show(report.errors)


def test_only_the_expected_warnings(report: LintReport) -> None:
    unexpected = [f for f in report.warnings
                  if f.code not in ALLOWED_WARNINGS
                  or (f.code == "KD305" and not f.message.startswith(KD305_ALLOWED_PREFIX))]
    assert unexpected == [], _show(unexpected)


def test_every_rule_went_through_the_checks(report: LintReport) -> None:
    """KD601 fires once per rule: proof that the per-rule checks ran on each file."""
    per_file = Counter(Path(f.file).name for f in report.findings if f.code == "KD601")
    assert set(per_file) == {p.name for p in CORPUS.glob("*.toml")}
    assert set(per_file.values()) == {1}


def test_lint_passes_and_strict_would_fail_only_on_allowed_warnings(report: LintReport) -> None:
    assert not report.failed(strict=False)
    assert {f.code for f in report.warnings} <= ALLOWED_WARNINGS


def test_corpus_covers_the_format(report: LintReport) -> None:
    """Guards the corpus itself: removing a file must not quietly drop a covered feature."""
    data = [r.rule for r in report.rules]
    assert {d.type for d in data} == {"query", "eql", "esql", "threshold", "new_terms",
                                      "machine_learning", "threat_match"}
    assert {d.language for d in data} >= {"kuery", "eql", "esql", "lucene"}
    eql = [d.query or "" for d in data if d.language == "eql"]
    assert any(q.lstrip().startswith("sequence") and "maxspan=" in q for q in eql)
    assert any("with runs=" in q for q in eql)
    assert any(q.lstrip().startswith("process where") and "?process." in q for q in eql)
    esql = [d.query or "" for d in data if d.language == "esql"]
    # Non-aggregating ES|QL rules need the metadata for alert deduplication; aggregating
    # (STATS) rules raise one alert per result row and carry none.
    assert esql and all("metadata _id, _version, _index" in q for q in esql
                        if "| stats" not in q)
    assert any("| stats" in q for q in esql)
    assert any(r.metadata.maturity == "deprecated" for r in report.rules)
    assert any(q.lstrip().startswith("/*") and "sequence by" in q for q in eql)
    assert any(d.building_block_type == "default" for d in data)
    assert any(d.alert_suppression is not None for d in data)
    assert any(d.setup for d in data)
    assert any(d.related_integrations and d.required_fields for d in data)
    assert any(d.investigation_fields for d in data)
    assert any(len(d.threat or ()) >= 3 for d in data)
    assert any(r.transform and {"osquery", "investigate"} <= set(r.transform)
               for r in report.rules)
    indices = {i for d in data for i in d.index or ()}
    assert {"logs-aws.cloudtrail-*", "logs-okta*", "logs-endpoint.events.process-*",
            "logs-azure*", "logs-github.audit-*", "logs-gcp*", "logs-google_workspace*",
            "logs-kubernetes.audit_logs-*", "logs-network_traffic.*", "logs-o365*",
            "logs-system.security*"} <= indices
