"""Fingerprints of node identities that two people can compare over a phone line.

The fingerprint is 60 decimal digits in 12 groups of five, derived from the SHA-512 identity digest
of both signing public keys (see ``VerifyKey.identity_digest``), in the style of Signal's safety
numbers: each group is five bytes of the digest taken modulo 100000, so the 12 groups carry about
199 bits. Digits survive a bad line and any language better than hex or words.

Pinning compares normalised digits in constant time; spaces, dashes and dots between groups are
ignored when a fingerprint is typed in.
"""

from __future__ import annotations

import hmac
import re

from crypto.errors import FingerprintMismatch, MalformedInput
from crypto.signing import VerifyKey

GROUPS = 12
_DIGITS = GROUPS * 5
_SEPARATORS = re.compile(r"[\s\-.:]+")


def fingerprint(key: VerifyKey) -> str:
    """The printable fingerprint of ``key``: ``"12345 67890 ..."`` (12 groups of 5 digits)."""
    return digits_of(key.identity_digest)


def digits_of(digest: bytes) -> str:
    """A 64-byte digest as 12 groups of 5 digits (a version 2 root fingerprint is one too)."""
    if len(digest) < GROUPS * 5:
        raise ValueError("a fingerprint needs a digest of at least 60 bytes")
    groups = [
        f"{int.from_bytes(digest[i * 5 : i * 5 + 5], 'big') % 100000:05d}" for i in range(GROUPS)
    ]
    return " ".join(groups)


def normalize(text: str) -> str:
    """Strip separators from a typed fingerprint and check it is 60 digits.

    Raises:
        MalformedInput: anything other than 60 digits remains.
    """
    digits = _SEPARATORS.sub("", text)
    if len(digits) != _DIGITS or not digits.isascii() or not digits.isdigit():
        raise MalformedInput(f"a fingerprint is {_DIGITS} digits in {GROUPS} groups of five")
    return digits


def verify_fingerprint(key: VerifyKey, expected: str) -> None:
    """Check that ``key`` has the fingerprint ``expected`` (as read out or printed).

    Raises:
        MalformedInput: ``expected`` is not a well-formed fingerprint.
        FingerprintMismatch: the key has another fingerprint.
    """
    want = normalize(expected)
    have = normalize(fingerprint(key))
    if not hmac.compare_digest(want.encode(), have.encode()):
        raise FingerprintMismatch(
            f"the key's fingerprint is {fingerprint(key)}, not the pinned one"
        )
