"""The chunked, multi-process path of the embedded backend gives exactly the serial alerts."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kmsdet.backends.base import Execution
from kmsdet.backends.embedded import ChunkedDocuments, EmbeddedBackend, _reads_any
from kmsdet.cases.baseline import TIME_FIELDS, BaselineDocuments
from kmsdet.kql.parser import parse
from tests.unit.rules.rule_text import load, rule_text

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
THRESHOLD = ('\n[rule.threshold]\nfield = ["aws.cloudtrail.user_identity.arn"]\nvalue = 3\n'
             '[[rule.threshold.cardinality]]\nfield = "aws.cloudtrail.resources.arn"\nvalue = 2\n')


def new_terms(history: str) -> str:
    return ('\n[rule.new_terms]\nfield = "new_terms_fields"\nvalue = ["source.ip"]\n'
            '[[rule.new_terms.history_window_start]]\nfield = "history_window_start"\n'
            f'value = "{history}"\n')


def make_rule(number: int, query: str, kind: str = "query", append: str = "",
              max_signals: int | None = None):
    replace = {
        'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b3d"':
            f'rule_id = "0b5a3e0c-1f7e-4f4e-9d3c-8a0e6f1c2b{number:02d}"',
        'type = "query"': f'type = "{kind}"',
        'event.provider: "kms.amazonaws.com"\nand event.action: "DisableKey"': query,
    }
    if max_signals is not None:
        replace['severity = "medium"'] = f'max_signals = {max_signals}\nseverity = "medium"'
    result = load(rule_text(replace, append))
    assert result.rule is not None, result.problems
    return result.rule


RULES = [
    # Far more hits than max_signals: the cut depends on the merged order.
    make_rule(1, 'event.provider: "kms.amazonaws.com"'),
    make_rule(2, 'event.action: "GenerateDataKey"', max_signals=10000),
    make_rule(3, 'event.action: "Decrypt"', "threshold", THRESHOLD),
    # Every term known from the day-before copy: no alert, history must be seen.
    make_rule(4, 'event.provider: "kms.amazonaws.com"', "new_terms", new_terms("now-7d")),
    # History window shorter than a day: every first address alerts.
    make_rule(5, 'event.action: "DescribeKey"', "new_terms", new_terms("now-2h")),
    # Read @timestamp, so the day-before copies must be matched on their own: one query
    # matches only the copies (its terms become known), the other only the originals.
    make_rule(6, 'event.action: "ListKeys" and @timestamp < "2026-01-15T00:00:00Z"',
              "new_terms", new_terms("now-3d")),
    make_rule(7, 'event.action: "ListAliases" and @timestamp > "2026-01-15T00:00:00Z"',
              "new_terms", new_terms("now-3d")),
]


def executions(documents) -> list[Execution]:  # noqa: ANN001 - list or chunked source
    return [Execution(rule=r, documents=documents, now=NOW, run_id="run") for r in RULES]


def fingerprint(alerts) -> list[list[tuple]]:  # noqa: ANN001
    return [[(a, dict(a.source)) for a in found] for found in alerts]


@pytest.fixture(scope="module")
def source() -> BaselineDocuments:
    return BaselineDocuments(2400, seed=7, now=NOW, run_id="run", history=True, chunk_size=500)


@pytest.fixture(scope="module")
def serial(source: BaselineDocuments) -> list:
    documents = list(source)  # a plain list: the ordinary run_batch path
    return EmbeddedBackend().run_batch(executions(documents))


def test_the_serial_run_raises_alerts_of_every_kind(serial: list) -> None:
    counts = [len(found) for found in serial]
    assert counts[0] == 100  # the default max_signals cut
    assert counts[1] > 100 and counts[2] > 0 and counts[4] > 0 and counts[6] > 0
    assert counts[3] == 0 and counts[5] == 0  # all terms known; only copies match rule 6


@pytest.mark.parametrize("workers", [1, 2])
def test_chunked_path_gives_exactly_the_serial_alerts(source: BaselineDocuments, serial: list,
                                                      workers: int) -> None:
    assert isinstance(source, ChunkedDocuments)
    chunked = EmbeddedBackend(workers=workers).execute(executions(source))
    assert fingerprint(chunked) == fingerprint(serial)


def test_source_reads_as_its_chunks_then_their_day_before_copies(
        source: BaselineDocuments) -> None:
    originals = [doc for i in range(source.chunk_count) for doc in source.chunk(i)]
    assert source.chunk_count == 5 and len(originals) == 2400 and len(source) == 4800
    assert list(source)[:2400] == originals
    assert [d["event"]["id"] for d in source[2400:]] == [d["event"]["id"] for d in originals]
    assert source[2400]["@timestamp"] < "2026-01-15" < source[0]["@timestamp"]
    stamps = [d["@timestamp"] for d in originals]
    assert stamps == sorted(stamps)


def test_chunks_do_not_depend_on_the_chunking_of_the_run() -> None:
    one = BaselineDocuments(900, seed=3, now=NOW, run_id="r", chunk_size=300)
    again = BaselineDocuments(900, seed=3, now=NOW, run_id="r", chunk_size=300)
    other_seed = BaselineDocuments(900, seed=4, now=NOW, run_id="r", chunk_size=300)
    assert one.chunk(2) == again.chunk(2)
    assert one.chunk(2) != other_seed.chunk(2)
    assert one.chunk(3) == []


@pytest.mark.parametrize(("query", "reads"), [
    ('event.action: "Decrypt"', False),
    ('event.action: "Decrypt" and not user.name: "x"', False),
    ('@timestamp > "2020-01-01"', True),
    ('event.ingested: *', True),
    ("event: *", True),
    ('event.created >= "2020-01-01" or event.action: "x"', True),
    ('event.*: "x"', True),
    ('"Decrypt"', True),  # the default field is every field
    ("*", True),  # a bare value is parsed as a default-field clause: conservatively, yes
])
def test_which_queries_read_the_shifted_time_fields(query: str, reads: bool) -> None:
    assert _reads_any(parse(query), TIME_FIELDS) is reads
