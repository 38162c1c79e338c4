"""Elasticsearch's ``standard`` analyzer, close enough to decide ``match`` and ``match_phrase``.

A KQL clause on a ``text`` field matches or not depending on which tokens Lucene's
StandardTokenizer (Unicode UAX#29 word boundaries) and the lowercase filter produce: e.g.
``kms.amazonaws.com`` stays one token (``.`` joins letters), ``aws-cli/2.14.5`` gives
``aws``, ``cli``, ``2.14.5``, and ``arn:aws:kms`` is one token (``:`` is a MidLetter). This
module reproduces those word-break rules without a Unicode segmentation dependency.

Approximations (documented so a differential test failure can be triaged quickly): Hebrew
double-quote joins, regional-indicator and emoji sequences are simplified (each emoji symbol
is one token), and South-East Asian scripts are kept as runs of letters instead of being
split by dictionary.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

MAX_TOKEN_LENGTH = 255

# Word-break classes (UAX#29 names, simplified).
_LETTER = 1  # ALetter (+ Hebrew_Letter, South-East Asian letters)
_NUMERIC = 2
_EXTEND_NUM_LET = 3  # "_" and friends: glue letters and digits together
_KATAKANA = 4
_MID_LETTER = 5  # ":" between letters
_MID_NUM = 6  # "," ";" between digits
_MID_NUM_LET = 7  # "." "'" between letters or between digits
_EXTEND = 8  # combining marks, format characters, ZWJ: attach to the previous character
_SINGLE = 9  # ideographs, hiragana, emoji: each one is a token of its own
_OTHER = 0

_MID_LETTER_CHARS = frozenset(":\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a")
_MID_NUM_CHARS = frozenset(
    ",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
)
_MID_NUM_LET_CHARS = frozenset(".'\u2018\u2019\u2024\ufe52\uff07\uff0e")
_EXTEND_NUM_LET_CHARS = frozenset("_\u202f\u203f\u2040\u2054\ufe33\ufe34\ufe4d\ufe4e\ufe4f\uff3f")


@lru_cache(maxsize=4096)
def _classify(ch: str) -> int:
    if ch in _MID_NUM_LET_CHARS:
        return _MID_NUM_LET
    if ch in _MID_LETTER_CHARS:
        return _MID_LETTER
    if ch in _MID_NUM_CHARS:
        return _MID_NUM
    if ch in _EXTEND_NUM_LET_CHARS:
        return _EXTEND_NUM_LET
    cat = unicodedata.category(ch)
    if cat == "Nd":
        return _NUMERIC
    if cat[0] == "M" or cat == "Cf":
        return _EXTEND
    code = ord(ch)
    if 0x30A0 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return _KATAKANA
    if _is_ideographic(code):
        return _SINGLE
    if cat[0] == "L" or cat == "Nl":
        return _LETTER
    if cat == "So" and (0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF):
        return _SINGLE
    return _OTHER


def _is_ideographic(code: int) -> bool:
    return (
        0x3040 <= code <= 0x309F  # hiragana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
    )


_WORD = frozenset({_LETTER, _NUMERIC, _EXTEND_NUM_LET, _KATAKANA})


def _joins(prev: int, cur: int) -> bool:
    """Whether two adjacent word characters stay in one token (WB5, WB8-10, WB13-13b)."""
    if prev == _KATAKANA or cur == _KATAKANA:
        return prev == cur or _EXTEND_NUM_LET in (prev, cur)
    return True  # letters, digits and ExtendNumLet glue to each other in every combination


def _next_word_class(classes: list[int], start: int) -> tuple[int, int]:
    """Class and index of the next non-Extend character at or after ``start``."""
    i = start
    while i < len(classes) and classes[i] == _EXTEND:
        i += 1
    return (classes[i], i) if i < len(classes) else (_OTHER, i)


def _lower(token: str) -> str:
    """Per code point lowercasing, as Lucene's LowerCaseFilter does (never changes length)."""
    out = []
    for ch in token:
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def _split_long(token: str) -> list[str]:
    return [token[i:i + MAX_TOKEN_LENGTH] for i in range(0, len(token), MAX_TOKEN_LENGTH)]


@lru_cache(maxsize=65536)
def analyze(text: str) -> tuple[str, ...]:
    """Tokens of ``text`` under the standard analyzer, in position order."""
    classes = [_classify(ch) for ch in text]
    tokens: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        cls = classes[i]
        if cls == _SINGLE:
            tokens.append(text[i])
            i += 1
            continue
        if cls not in _WORD:
            i += 1
            continue
        start = i
        prev = cls
        has_core = cls != _EXTEND_NUM_LET
        i += 1
        while i < n:
            cur = classes[i]
            if cur == _EXTEND:
                i += 1
                continue
            if cur in _WORD:
                if not _joins(prev, cur):
                    break
                prev = cur
                has_core = has_core or cur != _EXTEND_NUM_LET
                i += 1
                continue
            if cur in (_MID_LETTER, _MID_NUM, _MID_NUM_LET):
                after, j = _next_word_class(classes, i + 1)
                letters = prev == _LETTER and after == _LETTER and cur != _MID_NUM
                digits = prev == _NUMERIC and after == _NUMERIC and cur != _MID_LETTER
                if letters or digits:
                    prev = after
                    i = j + 1
                    continue
            break
        if has_core:
            tokens.extend(_split_long(_lower(text[start:i])))
    return tuple(tokens)
