"""Encryption of report content at rest with the node data key.

The data key is a random 256-bit key kept inside the passphrase-protected key file
(``NodeIdentity.secrets["data-key"]``), never in the database. Each value is sealed with
AES-256-GCM under a fresh 96-bit nonce, and the associated data names the table, column and row
it belongs to, so an insider who swaps ciphertexts between rows makes them fail to open instead
of showing one report under another's metadata.

Format: ``0x01 | nonce (12) | ciphertext || tag (16)``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.errors import ServiceError

VERSION = b"\x01"
SECRET_NAME = "data-key"  # noqa: S105 - a name, not the secret


class AtRestCorrupted(ServiceError):
    """Stored ciphertext does not open: tampered, moved between rows, or another node's key."""

    status, code, title = 500, "at_rest_corrupted", "Stored data failed its integrity check"


class DataKey:
    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes")
        self._aead = AESGCM(key)

    @staticmethod
    def generate() -> bytes:
        return os.urandom(32)

    @staticmethod
    def _aad(context: str) -> bytes:
        return b"liaison/v1/at-rest\x00" + context.encode("utf-8")

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt ``plaintext`` for the row named by ``context`` (e.g. ``"reports.body/ID"``)."""
        nonce = os.urandom(12)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, self._aad(context))

    def open(self, blob: bytes, context: str) -> bytes:
        """Decrypt a value sealed for ``context``.

        Raises:
            AtRestCorrupted: wrong version, truncated, altered, or sealed for another row.
        """
        if len(blob) < 29 or blob[:1] != VERSION:
            raise AtRestCorrupted(f"stored value for {context} is damaged")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], self._aad(context))
        except InvalidTag as exc:
            raise AtRestCorrupted(f"stored value for {context} failed its integrity check") from exc
