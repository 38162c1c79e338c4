"""Reading recorded events: raw CloudTrail records or ready ECS documents.

Replay works from what people actually have: CloudTrail's S3 log files (``{"Records": [...]}``,
usually gzipped), records exported one per line, a single record pasted from the AWS docs, or a
folder of any of these; and ECS documents exported from Elasticsearch. Mistaking one kind for
the other would silently test nothing, so each reader checks the kind and says which reader to
use instead. Every problem names the file and line.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from kmsdet.errors import InputError

RAW_MARKERS = ("eventVersion", "eventName", "eventSource", "userIdentity", "eventTime")
ECS_MARKERS = ("@timestamp", "event", "ecs", "data_stream", "aws")
SUFFIXES = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz", ".gz")

Kind = Literal["raw", "ecs"]


def detect_kind(obj: Any) -> Kind:
    """``raw`` for CloudTrail records (or a ``Records`` envelope), ``ecs`` for documents."""
    if isinstance(obj, Mapping):
        if "Records" in obj or any(k in obj for k in RAW_MARKERS):
            return "raw"
        if any(k in obj for k in ECS_MARKERS) or any(k.startswith("event.") for k in obj):
            return "ecs"
    raise InputError("cannot tell whether this is a CloudTrail record or an ECS document",
                     hint="raw records have eventName/eventSource/userIdentity; ECS documents "
                          "have @timestamp and event.*")


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Raw records from a log file (``Records`` envelope, optionally .gz), NDJSON, a JSON
    array or single record, or a directory of those (files in sorted order)."""
    for file in _files(path):
        for obj, line in _objects(file):
            kind = _kind_at(obj, file, line)
            if kind == "ecs":
                raise InputError("this is an ECS document, not a raw CloudTrail record",
                                 file=str(file), line=line,
                                 hint="read documents with the ECS reader (--ecs)")
            yield from _records_of(obj, file, line)


def read_ecs(path: Path) -> Iterator[dict[str, Any]]:
    """ECS documents from NDJSON or a JSON array (optionally .gz), or a directory of those."""
    for file in _files(path):
        for obj, line in _objects(file):
            if _kind_at(obj, file, line) == "raw":
                raise InputError("this is a raw CloudTrail record, not an ECS document",
                                 file=str(file), line=line,
                                 hint="read raw records with the CloudTrail reader; they are "
                                      "mapped to ECS on the way in")
            yield obj


def read_events(path: Path) -> Iterator[tuple[Kind, dict[str, Any]]]:
    """Raw records and ECS documents alike, each tagged with its kind, for replay, which takes
    whatever a user has (a trail's S3 files, an Elasticsearch export, or both)."""
    for file in _files(path):
        for obj, line in _objects(file):
            if _kind_at(obj, file, line) == "ecs":
                yield "ecs", obj
                continue
            for record in _records_of(obj, file, line):
                yield "raw", record


def read_json_documents(path: Path) -> Iterator[dict[str, Any]]:
    """Every JSON object in a file (one document, an array, or NDJSON; optionally .gz) or a
    folder of such files, whatever its kind: for tools that take any document, like
    ``kql match``."""
    for file in _files(path):
        for obj, line in _objects(file):
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, found {type(obj).__name__}",
                                 file=str(file), line=line)
            yield obj


def _records_of(obj: dict[str, Any], file: Path, line: int) -> Iterator[dict[str, Any]]:
    """The records of a ``Records`` envelope, or the object itself when it is one record."""
    records = obj.get("Records") if "Records" in obj else [obj]
    if not isinstance(records, list):
        raise InputError("'Records' is not a list", file=str(file), line=line, field="Records")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(f"record {index} is a {type(record).__name__}, not an object",
                             file=str(file), line=line, field=f"Records[{index}]")
        yield record


def _kind_at(obj: Any, file: Path, line: int) -> Kind:
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, found {type(obj).__name__}", file=str(file),
                         line=line)
    try:
        return detect_kind(obj)
    except InputError as exc:
        raise InputError(exc.message, file=str(file), line=line, hint=exc.hint) from None


def _files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*")
                       if p.is_file() and not p.name.startswith(".")
                       and p.name.lower().endswith(SUFFIXES))
        if not found:
            raise InputError("no event files in this folder", file=str(path),
                             hint="expected *.json, *.json.gz, *.ndjson or *.jsonl files")
        return found
    if not path.exists():
        raise InputError("no such file or directory", file=str(path))
    return [path]


def _read_text(file: Path) -> str:
    try:
        data = file.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read file: {exc}", file=str(file)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                         file=str(file)) from None


def _objects(file: Path) -> Iterator[tuple[Any, int]]:
    """(value, line) pairs: one for a whole-file JSON document, one per line for NDJSON."""
    text = _read_text(file)
    if not text.strip():
        return
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        first = next(line for line in text.splitlines() if line.strip())
        try:
            json.loads(first)
        except json.JSONDecodeError:
            # One (pretty-printed) document that is broken: report where, not "line 1".
            raise InputError(f"invalid JSON: {exc.msg}", file=str(file), line=exc.lineno,
                             column=exc.colno) from None
        yield from _ndjson(text, file)
        return
    first_line = text[: len(text) - len(text.lstrip())].count("\n") + 1
    if isinstance(whole, list):
        for item in whole:
            yield item, first_line
    else:
        yield whole, first_line


def _ndjson(text: str, file: Path) -> Iterator[tuple[Any, int]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line), number
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=str(file), line=number,
                             column=exc.colno,
                             hint="each line must hold one complete JSON object") from None


DIGEST_FOLDER = "CloudTrail-Digest"


def event_files(path: Path) -> list[Path]:
    """The event files under ``path`` in sorted order, as CloudTrail's S3 layout holds them
    (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz). Digest files
    (``CloudTrail-Digest/``) describe log files and hold no events, so they are left out."""
    path = Path(path)
    if not path.is_dir():
        return _files(path)
    found = sorted(p for p in path.rglob("*")
                   if p.is_file() and not p.name.startswith(".")
                   and p.name.lower().endswith(SUFFIXES)
                   and DIGEST_FOLDER not in p.relative_to(path).parts[:-1])
    if not found:
        raise InputError("no event files in this folder", file=str(path),
                         hint="expected *.json, *.json.gz, *.ndjson or *.jsonl files")
    return found


def stream_events(file: Path | None, name: str | None = None,
                  ) -> Iterator[tuple[Kind, dict[str, Any], int]]:
    """Raw records and ECS documents of one file (``None``: standard input) with their index in
    the file, without holding an NDJSON file in memory: backtests read logs far larger than
    memory. Only a whole-file JSON document (a ``Records`` envelope) is parsed at once, and
    CloudTrail writes those a few megabytes at most. Problems name the file and record."""
    label = name or (str(file) if file is not None else "-")
    index = 0
    try:
        with _open_text(file) as handle:
            head = handle.readline()
            while head and not head.strip():
                head = handle.readline()
            if not head:
                return
            first = _first_line_object(head)
            if first is None:
                # one (possibly pretty-printed) JSON document: an envelope, array or record
                text = head + handle.read()
                try:
                    whole = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError(f"invalid JSON: {exc.msg}", file=label, line=exc.lineno,
                                     column=exc.colno) from None
                items = whole if isinstance(whole, list) else [whole]
                for item in items:
                    for kind, obj in _tagged(item, label):
                        yield kind, obj, index
                        index += 1
                return
            number = 1
            line: str | None = head
            while line:
                if line.strip():
                    obj = first if number == 1 else _ndjson_line(line, label, number)
                    for kind, record in _tagged(obj, label, line=number):
                        yield kind, record, index
                        index += 1
                line = handle.readline()
                number += 1
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"cannot read file after {index} records: {_describe(exc)}",
                         file=label, hint="a truncated or corrupt file; re-download it, or "
                                          "pass --keep-going to skip it") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=label) from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed stream ends early (truncated .gz)"
    return str(exc) or type(exc).__name__


def _open_text(file: Path | None) -> IO[str]:
    if file is None:
        raw: IO[bytes] = sys.stdin.buffer
        peek = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if peek == b"\x1f\x8b" else raw
        return io.TextIOWrapper(stream, encoding="utf-8-sig")
    binary = open(file, "rb")  # noqa: SIM115 - handed to the wrapper, closed with it
    if binary.read(2) == b"\x1f\x8b":
        binary.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=binary), encoding="utf-8-sig")
    binary.seek(0)
    return io.TextIOWrapper(binary, encoding="utf-8-sig")


def _first_line_object(line: str) -> Any:
    """The first line's object when the file is NDJSON, else None (a multi-line document)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _ndjson_line(line: str, label: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", file=label, line=number, column=exc.colno,
                         hint="each line must hold one complete JSON object") from None


def _tagged(obj: Any, label: str, *, line: int | None = None,
            ) -> Iterator[tuple[Kind, dict[str, Any]]]:
    where = Path(label)
    if _kind_at(obj, where, line or 1) == "ecs":
        yield "ecs", obj
        return
    yield from (("raw", record) for record in _records_of(obj, where, line or 1))
