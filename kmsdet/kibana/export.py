"""Payloads as ndjson, the format of Kibana's rule import (API and UI) and of its own export.

Each rule is one line; a rule's kmsdet exception list follows it as one container line and one
line per item, as Kibana's export writes them, so the file imports with its exceptions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from kmsdet.errors import InputError
from kmsdet.kibana.payload import Payload


def payload_lines(payload: Payload) -> Iterator[str]:
    yield _line(payload.body)
    if payload.exceptions is not None:
        yield _line(payload.exceptions.container)
        for item in payload.exceptions.items:
            yield _line(item)


def to_ndjson(payloads: Iterable[Payload]) -> str:
    return "".join(f"{line}\n" for p in payloads for line in payload_lines(p))


def write_ndjson(payloads: Sequence[Payload], output: Path) -> int:
    """Write the file Kibana's import accepts; returns the number of rules written."""
    if output.suffix != ".ndjson":
        raise InputError(f"{output}: Kibana only imports files named *.ndjson",
                         field="--output", hint=f"use {output.with_suffix('.ndjson')}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(to_ndjson(payloads), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}", file=str(output),
                         field="--output") from exc
    return len(payloads)


def _line(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
