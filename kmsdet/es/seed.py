"""Bulk-index ECS documents into the CloudTrail data stream, idempotently and loudly.

Each document is serialised once, canonically (sorted keys, compact), and its id is a hash of
those bytes: seeding the same documents twice creates nothing new (the second ``create`` gets
a 409, counted as "already there"), while any other per-document error is collected and
reported with the document's position, never swallowed. The serialised bytes are handed to
the bulk helper as the source, so hashing costs no second JSON encoding.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

from kmsdet.errors import InputError
from kmsdet.es.client import EsTarget, translate_errors
from kmsdet.es.template import (
    INDEX_PATTERN,
    TemplatePlan,
    Warn,
    data_stream_name,
    ensure_template,
    integration_installed,
)
from kmsdet.fields.schema import FieldSchema

Progress = Callable[[int], None]
DEFAULT_CHUNK = 1000
T = TypeVar("T")


@dataclass(frozen=True)
class BulkFailure:
    """One document Elasticsearch refused, with where it was in the input."""

    position: int
    doc_id: str
    status: int
    error_type: str
    reason: str

    def render(self) -> str:
        return (f"document #{self.position} (id {self.doc_id}): HTTP {self.status} "
                f"{self.error_type}: {self.reason}")


@dataclass
class SeedReport:
    target: str
    created: int = 0
    existing: int = 0
    failures: list[BulkFailure] = field(default_factory=list)
    template: TemplatePlan | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def total(self) -> int:
        return self.created + self.existing + len(self.failures)

    def raise_for_failures(self, limit: int = 5) -> None:
        """An InputError listing the first failures, for callers that cannot go on."""
        if self.failures:
            lines = "\n  ".join(f.render() for f in self.failures[:limit])
            more = len(self.failures) - limit
            raise InputError(
                f"{len(self.failures)} of {self.total} documents were not indexed into "
                f"{self.target}:\n  {lines}" + (f"\n  ... and {more} more" if more > 0 else ""),
                hint="the documents do not fit the index mappings; fix the scenario or the "
                     "ECS builder")


_STANDARD = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                             default=str)


def _canonical_encoder() -> Callable[[Any], str]:
    """CPython's C encoder built once (``JSONEncoder.encode`` rebuilds it on every call, a
    cost seen at 100k documents); the standard encoder where that is unavailable. Both give
    the same text: same separators, key order, escaping and float repr."""
    make = getattr(json.encoder, "c_make_encoder", None)
    escape = getattr(json.encoder, "c_encode_basestring", None)
    if make is not None and escape is not None:
        try:
            fast = make(None, str, escape, None, ":", ",", True, False, True)
        except TypeError:
            return _STANDARD.encode
        return lambda obj: "".join(fast(obj, 0))
    return _STANDARD.encode


_canonical = _canonical_encoder()


def encode(doc: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes: the same document always gives the same bytes (and id)."""
    return _canonical(doc).encode("utf-8")


def document_id(source: bytes) -> str:
    """A content-derived id: 160 bits of BLAKE2b over the canonical bytes."""
    return hashlib.blake2b(source, digest_size=20).hexdigest()


def with_namespace(doc: Mapping[str, Any], namespace: str) -> Mapping[str, Any]:
    """The document with ``data_stream.namespace`` matching the stream it is written to.

    The stream's name and that constant_keyword field must agree, or the integration's
    mappings reject the document.
    """
    stream = doc.get("data_stream")
    # type() first: an ABC isinstance check per document is measurable at 100k documents.
    if not (type(stream) is dict or isinstance(stream, Mapping)):
        return doc
    if stream.get("namespace") == namespace:
        return doc
    return {**doc, "data_stream": {**stream, "namespace": namespace}}


def bulk_actions(docs: Iterable[Mapping[str, Any]], index: str, namespace: str,
                 positions: dict[str, int]) -> Iterator[dict[str, Any]]:
    """``create`` actions with content ids; records where each id first appeared."""
    for position, doc in enumerate(docs):
        source = encode(with_namespace(doc, namespace))
        doc_id = document_id(source)
        positions.setdefault(doc_id, position)
        yield {"_op_type": "create", "_index": index, "_id": doc_id, "_source": source}


def read_ahead(items: Iterator[T], batch: int, depth: int = 2) -> Iterator[T]:
    """``items``, produced by a background thread up to ``depth`` batches ahead.

    JSON encoding holds the GIL but waiting for Elasticsearch does not, so the next chunk is
    encoded while the current one is being indexed. Errors in the producer re-raise here.
    """
    slots: queue.Queue[list[T] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            chunk: list[T] = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    if not _offer(slots, chunk, stop):
                        return
                    chunk = []
            if chunk:
                _offer(slots, chunk, stop)
            _offer(slots, None, stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            _offer(slots, exc, stop)

    worker = threading.Thread(target=produce, name="kmsdet-seed-encoder", daemon=True)
    worker.start()
    try:
        while (got := slots.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield from got
    finally:
        stop.set()
        worker.join(timeout=5)


def _offer(slots: queue.Queue[Any], value: Any, stop: threading.Event) -> bool:
    """Put ``value`` unless the consumer has gone away; False when it has."""
    while not stop.is_set():
        try:
            slots.put(value, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def prepare_target(client: Elasticsearch, *, namespace: str, schema: FieldSchema | None,
                   warn: Warn | None = None,
                   target: EsTarget | None = None) -> tuple[str, TemplatePlan | None]:
    """The data stream to write to, installing kmsdet's template when the integration's is
    missing; the template is built from ``schema``, by default the CloudTrail data stream's
    field schema (ECS + aws.cloudtrail)."""
    name = data_stream_name(namespace)
    with translate_errors(target, "prepare the index template on"):
        if integration_installed(client):
            return name, None
        if schema is None:
            from kmsdet.fields.registry import schema_for_indices
            schema = schema_for_indices([INDEX_PATTERN])
        return name, ensure_template(client, schema, warn=warn)


def seed_documents(
    client: Elasticsearch,
    docs: Iterable[Mapping[str, Any]],
    *,
    namespace: str = "default",
    schema: FieldSchema | None = None,
    progress: Progress | None = None,
    refresh: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    warn: Warn | None = None,
    target: EsTarget | None = None,
    prepare: bool = True,
) -> SeedReport:
    """Index ``docs`` into ``logs-aws.cloudtrail-<namespace>`` and say what happened.

    ``progress`` is called with the number of documents just handled, once per bulk chunk.
    ``prepare=False`` skips the template check (the caller already did it this session).
    One bulk request is in flight at a time (throttled chunks, HTTP 429, are retried), while
    a background thread encodes the next chunk: on a 2-core machine a second concurrent
    request slowed the node more than it gained (measured with bench/bench_seed.py).
    """
    if prepare:
        index, plan = prepare_target(client, namespace=namespace, schema=schema, warn=warn,
                                     target=target)
    else:
        index, plan = data_stream_name(namespace), None
    report = SeedReport(target=index, template=plan)
    positions: dict[str, int] = {}
    pending = 0
    with translate_errors(target, "seed documents into"):
        actions = read_ahead(bulk_actions(docs, index, namespace, positions), chunk_size)
        results = streaming_bulk(client, actions, chunk_size=chunk_size, raise_on_error=False,
                                 raise_on_exception=True, max_retries=3)
        for ok, item in results:
            _count(report, ok, item, positions)
            pending += 1
            if progress is not None and pending >= chunk_size:
                progress(pending)
                pending = 0
        if progress is not None and pending:
            progress(pending)
        if refresh:
            client.indices.refresh(index=index)
    return report


def _count(report: SeedReport, ok: bool, item: Mapping[str, Any],
           positions: Mapping[str, int]) -> None:
    result = next(iter(item.values())) if item else {}
    if ok:
        report.created += 1
        return
    status = int(result.get("status", 0))
    error = result.get("error") or {}
    error_type = str(error.get("type", "unknown")) if isinstance(error, Mapping) else "unknown"
    if status == 409 and error_type == "version_conflict_engine_exception":
        report.existing += 1
        return
    reason = str(error.get("reason", error)) if isinstance(error, Mapping) else str(error)
    caused = error.get("caused_by") if isinstance(error, Mapping) else None
    if isinstance(caused, Mapping) and caused.get("reason"):
        reason += f" ({caused['reason']})"
    doc_id = str(result.get("_id", "?"))
    report.failures.append(
        BulkFailure(positions.get(doc_id, -1), doc_id, status, error_type, reason))


def write_ndjson(docs: Iterable[Mapping[str, Any]], out: IO[str], *,
                 namespace: str = "default") -> int:
    """``--dry-run``: the exact bulk body seeding would send, as ndjson; returns the count."""
    index = data_stream_name(namespace)
    count = 0
    for action in bulk_actions(docs, index, namespace, {}):
        meta = {"create": {"_index": action["_index"], "_id": action["_id"]}}
        out.write(json.dumps(meta, separators=(",", ":")) + "\n")
        out.write(action["_source"].decode("utf-8") + "\n")
        count += 1
    return count
