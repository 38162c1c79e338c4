"""Credentials are masked in every form they can come back in, and nothing else is."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from kmsdet.masking import (
    MASK,
    credential_forms,
    forget_credentials,
    mask,
    masked,
    register_credentials,
)

KEY_ID, KEY_SECRET = "VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw"
ENCODED_KEY = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
USER, PASSWORD = "deployer", 'p@ss "w0rd"/x'


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    forget_credentials()
    yield
    forget_credentials()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("leak", [
    PASSWORD,
    b64(f"{USER}:{PASSWORD}"),
    b64(f"{USER}:{PASSWORD}").rstrip("="),
    base64.urlsafe_b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    json.dumps(PASSWORD)[1:-1],
    quote(PASSWORD, safe=""),
    f"{USER}:{PASSWORD}",
])
def test_basic_credentials_in_every_form(leak: str) -> None:
    register_credentials(user=USER, password=PASSWORD)
    text = mask(f"HTTP 500: echo: {leak} end")
    assert leak not in text and MASK in text and text.endswith(" end")


@pytest.mark.parametrize("leak", [
    ENCODED_KEY, f"{KEY_ID}:{KEY_SECRET}", KEY_SECRET, b64(ENCODED_KEY)])
def test_api_key_encoded_decoded_and_its_secret_part(leak: str) -> None:
    register_credentials(api_key=ENCODED_KEY)
    assert leak not in mask(f"echo {leak}")


def test_api_key_given_as_id_colon_key_is_masked_as_the_header_sends_it() -> None:
    register_credentials(api_key=f"{KEY_ID}:{KEY_SECRET}")
    assert ENCODED_KEY not in mask(f"ApiKey {ENCODED_KEY}")
    assert KEY_SECRET not in mask(KEY_SECRET)


def test_bearer_token() -> None:
    register_credentials(token="eyJhbGciOi.payload-123.sig")
    assert "eyJhbGciOi.payload-123.sig" not in mask("Authorization: Bearer eyJhbGciOi."
                                                    "payload-123.sig")


@pytest.mark.parametrize("header", ["Basic ZGVwbG95ZXI6c2VjcmV0MTIz",
                                    "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWky",
                                    "bearer abc.def-123456789"])
def test_unregistered_auth_header_values_are_masked(header: str) -> None:
    scheme, value = header.split(" ")
    text = mask(f"echo: {header}")
    assert value not in text and f"{scheme} {MASK}" in text


def test_ordinary_text_is_untouched() -> None:
    register_credentials(user="ab", password="xyz")  # too short to mask alone
    text = "use Basic authentication or an ApiKey; xyz is a word; rules ok"
    assert mask(text) == text
    assert b64("ab:xyz") in credential_forms(user="ab", password="xyz")


def test_masking_stream_masks_writes_and_passes_the_rest_through() -> None:
    register_credentials(password=PASSWORD)
    inner = io.StringIO()
    stream = masked(inner)
    stream.write(f"a {PASSWORD} b\n")
    assert inner.getvalue() == f"a {MASK} b\n"
    assert masked(stream) is stream
    assert stream.isatty() is False
