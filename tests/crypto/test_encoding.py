"""Strict unpadded base64url: exactly one accepted spelling for each byte string."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import MalformedInput

# RFC 4648 section 10 test vectors, in the unpadded base64url spelling.
RFC4648 = {
    b"": "",
    b"f": "Zg",
    b"fo": "Zm8",
    b"foo": "Zm9v",
    b"foob": "Zm9vYg",
    b"fooba": "Zm9vYmE",
    b"foobar": "Zm9vYmFy",
}


@pytest.mark.parametrize(
    ("data", "text"), RFC4648.items(), ids=[t or "empty" for t in RFC4648.values()]
)
def test_rfc4648_vectors(data: bytes, text: str) -> None:
    assert b64u_encode(data) == text
    assert b64u_decode(text) == data


def test_url_safe_alphabet() -> None:
    data = bytes([0xFB, 0xFF, 0xBF])  # standard base64 "+/+/"
    assert base64.b64encode(data) == b"+/+/"
    assert b64u_encode(data) == "-_-_"
    assert b64u_decode("-_-_") == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_round_trip(data: bytes) -> None:
    text = b64u_encode(data)
    assert "=" not in text
    assert b64u_decode(text) == data
    assert b64u_decode(text, length=len(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_only_the_canonical_spelling_decodes(data: bytes, draw: st.DataObject) -> None:
    """Changing any one character gives another byte string or a refusal, never the same one."""
    text = b64u_encode(data)
    index = draw.draw(st.integers(min_value=0, max_value=len(text) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = draw.draw(st.sampled_from(alphabet).filter(lambda c: c != text[index]))
    altered = text[:index] + replacement + text[index + 1 :]
    with contextlib.suppress(MalformedInput):
        assert b64u_decode(altered) != data


REFUSED = {
    "padding-1": "Zg==",
    "padding-2": "Zm8=",
    "padding-only": "====",
    "padding-inside": "Zg==Zg",
    "standard-plus": "+/+/",
    "standard-plus-only": "ab+c",
    "standard-slash-only": "ab/c",
    "space": "Zm9v Yg",
    "leading-space": " Zm9v",
    "trailing-newline": "Zm9v\n",
    "tab": "Zm\t9v",
    "crlf": "Zm9v\r\nYg",
    "non-ascii-letter": "Zm9é",
    "non-ascii-digit": "Zm9\u0661",  # ARABIC-INDIC DIGIT ONE
    "fullwidth": "\uff3am9v",
    "dot": "Zm9.",
    "nul": "Zm9\x00",
    "trailing-bits-1-byte": "AB",  # canonical spelling of b"\x00" is "AA"
    "trailing-bits-1-byte-high": "A_",
    "trailing-bits-2-bytes": "AAB",  # canonical spelling of b"\x00\x00" is "AAA"
    "trailing-bits-foob": "Zm9vYh",
    "length-1": "A",
    "length-5": "Zm9vY",
    "length-9": "Zm9vYmFyZ",
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_refuses_non_canonical_text(text: str) -> None:
    with pytest.raises(MalformedInput):
        b64u_decode(text)


@pytest.mark.parametrize(
    "value",
    [b"Zm9v", bytearray(b"Zm9v"), memoryview(b"Zm9v"), None, 0, ["Zm9v"], {"Zm9v": 1}],
    ids=["bytes", "bytearray", "memoryview", "none", "int", "list", "dict"],
)
def test_refuses_non_str(value: object) -> None:
    with pytest.raises(MalformedInput):
        b64u_decode(value)


def test_length_check() -> None:
    text = b64u_encode(bytes(32))
    assert b64u_decode(text, length=32) == bytes(32)
    for wrong in (0, 31, 33):
        with pytest.raises(MalformedInput):
            b64u_decode(text, length=wrong)
    assert b64u_decode("", length=0) == b""
    with pytest.raises(MalformedInput):
        b64u_decode("", length=1)


def test_error_names_the_field() -> None:
    with pytest.raises(MalformedInput, match="signature"):
        b64u_decode("Zg==", field="signature")
    with pytest.raises(MalformedInput, match="public_key"):
        b64u_decode("AAAA", field="public_key", length=32)
