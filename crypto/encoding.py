"""Strict base64url (RFC 4648 section 5, no padding) for binary fields inside signed JSON.

Only one spelling of each byte string is accepted: no padding, no whitespace, no standard-alphabet
characters, and no non-zero trailing bits. A lenient decoder would let two different texts carry
the same key or signature, which breaks byte-for-byte comparisons of signed documents.
"""

from __future__ import annotations

import base64
import binascii
import re

from crypto.errors import MalformedInput

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64u_encode(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: object, *, field: str = "value", length: int | None = None) -> bytes:
    """Decode unpadded base64url, refusing every non-canonical spelling.

    Raises:
        MalformedInput: not a string, characters outside the alphabet, an impossible length,
            non-zero trailing bits, or (when ``length`` is given) the wrong decoded length.
    """
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedInput(f"{field} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput(f"{field} is not unpadded base64url") from exc
    if b64u_encode(data) != text:
        raise MalformedInput(f"{field} has non-canonical base64url trailing bits")
    if length is not None and len(data) != length:
        raise MalformedInput(f"{field} must decode to {length} bytes, not {len(data)}")
    return data
