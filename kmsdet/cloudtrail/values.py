"""Small realistic CloudTrail values drawn from a caller's ``random.Random``.

Every draw goes through the caller's generator so that one seed gives one record; nothing
here uses the global ``random`` state or the clock.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

# AWS unique ids (AIDA..., AROA..., AKIA...) use upper-case letters and digits 2-7.
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string from ``rng`` (``uuid.uuid4`` would read the OS entropy)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def hex_string(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def aws_id(rng: random.Random, prefix: str, length: int = 21) -> str:
    """``AIDA...`` / ``AROA...`` principal ids (21 chars) and ``AKIA/ASIA`` keys (20 chars)."""
    return prefix + _from_alphabet(rng, _ID_ALPHABET, length - len(prefix))


def token(rng: random.Random, length: int) -> str:
    """Opaque credential-like text (session tokens, credential ids): letters, digits, ``+/``."""
    return _from_alphabet(rng, _TOKEN_ALPHABET, length)


def _from_alphabet(rng: random.Random, alphabet: str, length: int) -> str:
    """``length`` characters from a 32- or 64-letter alphabet, one ``getrandbits`` call."""
    bits = len(alphabet).bit_length() - 1
    n = rng.getrandbits(bits * length)
    mask = len(alphabet) - 1
    return "".join(alphabet[(n >> (bits * i)) & mask] for i in range(length))


def account_id(rng: random.Random, *, avoid: str = "") -> str:
    while True:
        value = str(rng.randrange(10**11, 10**12))
        if value != avoid:
            return value


def ipv4(rng: random.Random) -> str:
    """An address from the documentation ranges (RFC 5737): realistic, never routable."""
    net = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{net}.{rng.randrange(1, 255)}"


def ipv6(rng: random.Random) -> str:
    """An address from the documentation prefix 2001:db8::/32 (RFC 3849)."""
    groups = [f"{rng.getrandbits(16):x}" for _ in range(4)]
    return "2001:db8:" + ":".join(groups) + "::" + f"{rng.getrandbits(16):x}"


def cloudtrail_time(at: datetime) -> str:
    """``eventTime`` form: UTC, ``Z``, whole seconds."""
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_utc(at: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if at.tzinfo is None:
        return at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc)


def java_human_date(at: datetime, *, comma_after_year: bool = False) -> str:
    """``Jun 30, 2020 2:34:07 AM``: the Java default date form KMS responses use.

    ``comma_after_year`` gives the newer JDK form (``May 21, 2025, 5:47:45 AM``) seen in
    ImportKeyMaterial's ``validTo``.
    """
    t = as_utc(at)
    hour = t.hour % 12 or 12
    half = "AM" if t.hour < 12 else "PM"
    sep = ", " if comma_after_year else " "
    clock = f"{hour}:{t.minute:02d}:{t.second:02d} {half}"
    return f"{_MONTHS[t.month - 1]} {t.day}, {t.year}{sep}{clock}"
