"""The parts of seeding that need no cluster: canonical bytes, content ids, the ndjson."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from kmsdet.errors import InputError
from kmsdet.es.seed import (
    BulkFailure,
    SeedReport,
    document_id,
    encode,
    read_ahead,
    with_namespace,
    write_ndjson,
)

DOC = {"@timestamp": "2026-01-01T00:00:00Z", "event": {"action": "DisableKey", "id": "e1"},
       "data_stream": {"type": "logs", "dataset": "aws.cloudtrail", "namespace": "default"}}


def test_same_content_same_id_whatever_the_key_order() -> None:
    reordered = {"event": {"id": "e1", "action": "DisableKey"},
                 "data_stream": DOC["data_stream"], "@timestamp": DOC["@timestamp"]}
    assert encode(DOC) == encode(reordered)
    assert document_id(encode(DOC)) == document_id(encode(reordered))


def test_different_content_different_id() -> None:
    other = {**DOC, "event": {"action": "EnableKey", "id": "e1"}}
    assert document_id(encode(DOC)) != document_id(encode(other))
    assert len(document_id(encode(DOC))) == 40


def test_encoding_is_compact_utf8_json() -> None:
    assert encode({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'.encode()


def test_fast_encoding_equals_the_standard_encoder() -> None:
    doc = {"z": [1.5, 1e16, -0.0, None, True], "a": {"c": "\u2028\"q\"\n", "b": "日本"},
           "t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "n": 2**70}
    standard = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str)
    assert encode(doc) == standard.encode("utf-8")


@pytest.mark.parametrize(("doc", "expected"), [
    (DOC, "kmsdet"),
    ({"data_stream": {"namespace": "kmsdet"}}, "kmsdet"),
    ({"event": {}}, None),
])
def test_namespace_follows_the_target_stream(doc: dict[str, object],
                                             expected: str | None) -> None:
    result = with_namespace(doc, "kmsdet")
    stream = result.get("data_stream")
    assert (stream or {}).get("namespace") == expected  # type: ignore[union-attr]
    assert DOC["data_stream"]["namespace"] == "default"  # the input is not changed


def test_ndjson_is_the_bulk_body() -> None:
    out = io.StringIO()
    assert write_ndjson([DOC, DOC], out, namespace="kmsdet") == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    action, source = json.loads(lines[0]), json.loads(lines[1])
    assert action["create"]["_index"] == "logs-aws.cloudtrail-kmsdet"
    assert source["data_stream"]["namespace"] == "kmsdet"
    assert action["create"]["_id"] == document_id(lines[1].encode())
    assert lines[0] == lines[2]


def test_failures_are_raised_with_their_positions() -> None:
    report = SeedReport(target="logs-aws.cloudtrail-x", created=3, failures=[
        BulkFailure(i, f"id{i}", 400, "document_parsing_exception", "bad ip") for i in range(7)])
    with pytest.raises(InputError) as info:
        report.raise_for_failures(limit=2)
    text = info.value.message
    assert "7 of 10 documents" in text
    assert "document #0 (id id0)" in text and "document #1" in text
    assert "and 5 more" in text
    SeedReport(target="t", created=1).raise_for_failures()


def test_read_ahead_yields_everything_in_order() -> None:
    assert list(read_ahead(iter(range(25)), batch=4)) == list(range(25))
    assert list(read_ahead(iter([]), batch=4)) == []


def test_read_ahead_reraises_producer_errors() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("bad document")

    with pytest.raises(ValueError, match="bad document"):
        list(read_ahead(broken(), batch=1))


def test_read_ahead_stops_its_thread_when_abandoned() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    stream = read_ahead(endless(), batch=10, depth=1)
    assert next(stream) == 0
    stream.close()
    assert not any(t.name == "kmsdet-seed-encoder" and t.is_alive()
                   for t in threading.enumerate())
    assert len(produced) < 1000
