"""The node's data keys and the format of what they seal.

A data key is a random 256-bit key kept inside the passphrase-protected key file, never in the
database: generation 1 under the secret ``data-key``, each later one (``liaison node
rotate-data-key``) under ``data-key.N``. Values are sealed with the newest generation and opened
with whichever generation sealed them, until the background re-seal
(``service.atrest.reseal``) has moved every stored value to the newest one and the older keys are
retired from the key file (``liaison node retire-data-keys``).

Each value is sealed with AES-256-GCM under a fresh 96-bit nonce, and the associated data names
the table, column and row it belongs to, so an insider who swaps ciphertexts between rows makes
them fail to open instead of showing one report under another's metadata.

Formats:

* ``0x02 | generation (4, big-endian) | nonce (12) | ciphertext || tag (16)``, the associated
  data ``"liaison/v2/at-rest" 0x00 generation (4) context``: what is sealed now.
* ``0x01 | nonce (12) | ciphertext || tag (16)``, associated data ``"liaison/v1/at-rest" 0x00
  context``: values sealed before rotation existed, always generation 1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.errors import ServiceError

V1, V2 = b"\x01", b"\x02"
SECRET_NAME = "data-key"  # noqa: S105 - a name, not the secret
_LATER = re.compile(r"data-key\.([1-9][0-9]{0,8})")
_V1_AAD = b"liaison/v1/at-rest\x00"
_V2_AAD = b"liaison/v2/at-rest\x00"
_V1_MIN, _V2_MIN = 1 + 12 + 16, 1 + 4 + 12 + 16


class AtRestCorrupted(ServiceError):
    """Stored ciphertext does not open: tampered, moved between rows, or another node's key."""

    status, code, title = 500, "at_rest_corrupted", "Stored data failed its integrity check"


def data_key_secret_name(generation: int) -> str:
    """The key-file secret holding data key ``generation``."""
    return SECRET_NAME if generation == 1 else f"{SECRET_NAME}.{generation}"


class DataKey:
    """One data key (one generation)."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes")
        self._aead = AESGCM(key)

    @staticmethod
    def generate() -> bytes:
        return os.urandom(32)

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        return self._aead.decrypt(nonce, sealed, aad)


def prefix(generation: int) -> bytes:
    """The first bytes of every value sealed by ``generation`` now (format 2)."""
    return V2 + generation.to_bytes(4, "big")


def generation_of(blob: bytes) -> int:
    """Which generation sealed ``blob`` (0 when it is in no format we know)."""
    if blob[:1] == V1:
        return 1
    if blob[:1] == V2 and len(blob) >= 5:
        return int.from_bytes(blob[1:5], "big")
    return 0


class DataKeyring:
    """The data keys a node holds: seals with the newest, opens with any."""

    __slots__ = ("_keys", "current")

    def __init__(self, keys: Mapping[int, bytes]) -> None:
        if not keys:
            raise ValueError("the key file holds no data key")
        self._keys = {generation: DataKey(key) for generation, key in keys.items()}
        self.current = max(keys)

    @property
    def generations(self) -> list[int]:
        return sorted(self._keys)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt ``plaintext`` for the row named by ``context`` (e.g. ``"reports.body/ID"``)
        with the newest data key."""
        nonce = os.urandom(12)
        head = prefix(self.current)
        aad = _V2_AAD + head[1:] + context.encode("utf-8")
        return head + nonce + self._keys[self.current].encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, context: str) -> bytes:
        """Decrypt a value sealed for ``context``, by whichever generation sealed it.

        Raises:
            AtRestCorrupted: unknown format, truncated, altered, sealed for another row, or by a
                generation this node no longer holds.
        """
        generation = generation_of(blob)
        if blob[:1] == V1 and len(blob) >= _V1_MIN:
            nonce, sealed, aad = blob[1:13], blob[13:], _V1_AAD + context.encode("utf-8")
        elif blob[:1] == V2 and len(blob) >= _V2_MIN:
            nonce, sealed, aad = blob[5:17], blob[17:], _V2_AAD + blob[1:5] + context.encode()
        else:
            raise AtRestCorrupted(f"stored value for {context} is damaged")
        key = self._keys.get(generation)
        if key is None:
            raise AtRestCorrupted(
                f"stored value for {context} was sealed with data key {generation}, which this "
                "node no longer holds"
            )
        try:
            return key.decrypt(nonce, sealed, aad)
        except InvalidTag as exc:
            raise AtRestCorrupted(f"stored value for {context} failed its integrity check") from exc


def data_keys_in(secrets: Mapping[str, bytes]) -> dict[int, bytes]:
    """The data keys among a key file's secrets, by generation."""
    found = {1: secrets[SECRET_NAME]} if SECRET_NAME in secrets else {}
    for name, value in secrets.items():
        if match := _LATER.fullmatch(name):
            found[int(match.group(1))] = value
    return found
