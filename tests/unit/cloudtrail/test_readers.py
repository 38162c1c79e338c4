"""Reading raw CloudTrail records and ECS documents; bad input names the file and line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from kmsdet.cloudtrail.readers import detect_kind, read_ecs, read_json_documents, read_records
from kmsdet.errors import InputError

RECORD_A = {"eventVersion": "1.11", "eventName": "DisableKey", "eventSource": "kms.amazonaws.com"}
RECORD_B = {"eventVersion": "1.11", "eventName": "EnableKey", "eventSource": "kms.amazonaws.com"}
DOC = {"@timestamp": "2024-01-01T00:00:00.000Z", "event": {"action": "DisableKey"}}


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def log_file(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


@pytest.mark.parametrize(("name", "content"), [
    ("s3-log.json", log_file(RECORD_A, RECORD_B)),
    ("records.ndjson", json.dumps(RECORD_A) + "\n\n" + json.dumps(RECORD_B) + "\n"),
    ("array.json", json.dumps([RECORD_A, RECORD_B], indent=2)),
    ("ndjson-of-logs.jsonl", log_file(RECORD_A) + "\n" + log_file(RECORD_B)),
])
def test_record_formats(tmp_path: Path, name: str, content: str) -> None:
    assert list(read_records(write(tmp_path / name, content))) == [RECORD_A, RECORD_B]


def test_single_pretty_record(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", json.dumps(RECORD_A, indent=4))
    assert list(read_records(path)) == [RECORD_A]


def test_gzipped_log_file_by_content_not_name(tmp_path: Path) -> None:
    data = gzip.compress(log_file(RECORD_A).encode())
    assert list(read_records(write(tmp_path / "111_CloudTrail_x.json.gz", data))) == [RECORD_A]
    assert list(read_records(write(tmp_path / "renamed.json", data))) == [RECORD_A]


def test_directory_is_read_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path / "b" / "2.json.gz", gzip.compress(log_file(RECORD_B).encode()))
    write(tmp_path / "a" / "1.json", log_file(RECORD_A))
    write(tmp_path / "README.md", "not events")
    write(tmp_path / ".hidden.json", "{broken")
    assert list(read_records(tmp_path)) == [RECORD_A, RECORD_B]


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    assert list(read_records(write(tmp_path / "empty.json", "\n  \n"))) == []


@pytest.mark.parametrize(("content", "line", "column", "message"), [
    (json.dumps(RECORD_A) + "\n" + '{"eventName": }' + "\n", 2, 15, "invalid JSON"),
    # the column is Python's json's own (3.13 points at the comma, 3.10-3.12 after it)
    ('{\n  "Records": [\n    {"eventName": "x",}\n  ]\n}\n', 3, "json", "invalid JSON"),
    (json.dumps(RECORD_A) + "\n[1, 2]\n", 2, None, "expected a JSON object"),
    (json.dumps({"Records": {"eventName": "x"}}), 1, None, "'Records' is not a list"),
    (json.dumps({"Records": [RECORD_A, "oops"]}), 1, None, "record 1 is a str"),
    (json.dumps(DOC), 1, None, "this is an ECS document"),
    (json.dumps({"hello": 1}), 1, None, "cannot tell"),
])
def test_bad_record_input(tmp_path: Path, content: str, line: int, column: int | str | None,
                          message: str) -> None:
    path = write(tmp_path / "bad.json", content)
    with pytest.raises(InputError) as info:
        list(read_records(path))
    assert info.value.file == str(path)
    assert info.value.line == line
    if column == "json":
        with pytest.raises(json.JSONDecodeError) as parsed:
            json.loads(content)
        column = parsed.value.colno
    if column is not None:
        assert info.value.column == column
    assert message in info.value.message


def test_not_utf8_and_broken_gzip(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_records(write(tmp_path / "latin1.json", '{"a": "caf\xe9"}'.encode("latin-1"))))
    with pytest.raises(InputError, match="cannot read file"):
        list(read_records(write(tmp_path / "cut.json.gz", gzip.compress(b'{"Records": []}')[:12])))


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(read_records(tmp_path / "nope.json"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no event files"):
        list(read_records(tmp_path / "empty"))


def test_read_ecs(tmp_path: Path) -> None:
    path = write(tmp_path / "docs.ndjson", json.dumps(DOC) + "\n" + json.dumps(DOC) + "\n")
    assert list(read_ecs(path)) == [DOC, DOC]
    bad = write(tmp_path / "raw.ndjson", json.dumps(DOC) + "\n" + json.dumps(RECORD_A) + "\n")
    with pytest.raises(InputError) as info:
        list(read_ecs(bad))
    assert info.value.line == 2 and "raw CloudTrail record" in info.value.message


@pytest.mark.parametrize(("obj", "kind"), [
    (RECORD_A, "raw"), ({"Records": []}, "raw"), ({"userIdentity": {}}, "raw"),
    (DOC, "ecs"), ({"event.action": "x"}, "ecs"), ({"aws": {"cloudtrail": {}}}, "ecs"),
])
def test_detect_kind(obj: dict[str, Any], kind: str) -> None:
    assert detect_kind(obj) == kind


@pytest.mark.parametrize("obj", [{}, {"foo": 1}, [1], "text"])
def test_detect_kind_refuses_unknown_shapes(obj: Any) -> None:
    with pytest.raises(InputError):
        detect_kind(obj)


def test_read_json_documents_takes_any_object(tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.ndjson", "\n".join(json.dumps(o) for o in
                                                     (DOC, RECORD_A, {"anything": 1})))
    assert list(read_json_documents(path)) == [DOC, RECORD_A, {"anything": 1}]
    single = write(tmp_path / "one.json", json.dumps({"x": {"y": 1}}, indent=2))
    assert list(read_json_documents(single)) == [{"x": {"y": 1}}]
    with pytest.raises(InputError) as info:
        list(read_json_documents(write(tmp_path / "bad.ndjson", '{"a": 1}\n3\n')))
    assert info.value.line == 2
