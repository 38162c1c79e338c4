"""Credentials masked wherever kmsdet writes: terminal, JSON, report files, logs.

Masking the raw secret is not enough: a server or proxy that echoes the request back returns
the Authorization header, where a password travels as base64 of ``user:password`` and an API
key as given (itself base64 of ``id:key``). Every target registers its credentials here when it
is built, in every form they can take on the wire, and every output stream masks all of them;
a header value after ``Basic``/``ApiKey``/``Bearer`` is masked even when it was never
registered (another tool's credential echoed back is no less secret).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from typing import IO, Any
from urllib.parse import quote

MASK = "********"
MIN_SECRET_LENGTH = 4
"""Shorter values are not masked on their own: masking every "abc" would garble all output,
and such a value is no secret worth the name. Their base64 forms are still masked."""

_lock = threading.Lock()
_forms: set[str] = set()
_pattern: re.Pattern[str] | None = None
_AUTH_HEADER = re.compile(
    r"(?i)\b(Basic|ApiKey|Bearer)(\s+|%20)(?=[A-Za-z0-9+/=._~-]*\d)[A-Za-z0-9+/=._~-]{12,}")


def _b64(text: str) -> list[str]:
    raw = text.encode("utf-8")
    standard = base64.b64encode(raw).decode("ascii")
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
    return [standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")]


def _decoded(text: str) -> str | None:
    """An API key given in its encoded form decodes to ``id:key``; None otherwise."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if ":" in decoded and decoded.isprintable() else None


def _spellings(value: str) -> set[str]:
    """A value as it may appear in text: as is, JSON-escaped, percent-encoded."""
    return {value, json.dumps(value)[1:-1], quote(value, safe=""), quote(value)}


def credential_forms(*, api_key: str | None = None, user: str | None = None,
                     password: str | None = None, token: str | None = None) -> set[str]:
    """Every text form in which these credentials can come back from the wire."""
    forms: set[str] = set()
    for secret in (api_key, token):
        if not secret:
            continue
        forms.update(_spellings(secret))
        forms.update(_b64(secret))
        decoded = secret if ":" in secret else _decoded(secret)  # id:key, given or encoded
        if decoded is not None:
            forms.update(_spellings(decoded))
            forms.update(_b64(decoded))
            forms.update(_spellings(decoded.split(":", 1)[1]))
    if password:
        forms.update(_spellings(password))
        pair = f"{user or ''}:{password}"
        forms.update(_b64(pair))
        forms.update(_spellings(pair))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register_credentials(*, api_key: str | None = None, user: str | None = None,
                         password: str | None = None, token: str | None = None) -> None:
    """Mask these credentials (all their forms) in everything kmsdet writes from now on."""
    global _pattern
    forms = credential_forms(api_key=api_key, user=user, password=password, token=token)
    if not forms - _forms:
        return
    with _lock:
        _forms.update(forms)
        ordered = sorted(_forms, key=len, reverse=True)  # longest first: no fragment survives
        _pattern = re.compile("|".join(re.escape(f) for f in ordered))


def mask(text: str) -> str:
    """``text`` with every registered credential and every auth-header value masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def forget_credentials() -> None:
    """Drop every registered form (tests start from a clean slate)."""
    global _pattern
    with _lock:
        _forms.clear()
        _pattern = None


class MaskingStream:
    """A text stream that masks what is written to it and passes everything else through
    (``isatty``, ``encoding``, ``fileno``), so rich and click still see the real terminal."""

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner

    @property
    def inner(self) -> IO[str]:
        return self._inner

    def write(self, text: str) -> int:
        self._inner.write(mask(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def masked(stream: IO[str]) -> IO[str]:
    """``stream`` behind a MaskingStream (once: wrapping twice would only cost time)."""
    return stream if isinstance(stream, MaskingStream) else MaskingStream(stream)  # type: ignore[return-value]
