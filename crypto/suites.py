"""HPKE cipher suites liaison speaks, and the X-Wing KEM keys they use.

Every suite uses the X-Wing hybrid KEM (HPKE KEM id 0x647a, ML-KEM-768 combined with X25519): a
recording of today's traffic stays confidential unless both ML-KEM-768 and X25519 are broken.
There is deliberately no classical-only suite, so no header can downgrade to one.

X-Wing private keys are stored as their 32-byte seed, expanded as in draft-connolly-cfrg-xwing-kem
and the HPKE PQ vectors: ``SHAKE256(seed, 96) = ML-KEM-768 seed (64) || X25519 private key (32)``.
The public key is ``ML-KEM-768 public key (1184) || X25519 public key (32)``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from crypto.encoding import b64u_encode
from crypto.errors import DecryptionFailed, MalformedInput, UnsupportedAlgorithm

XWING_SEED_BYTES = 32
MLKEM768_PUBLIC_BYTES = 1184
X25519_PUBLIC_BYTES = 32
XWING_PUBLIC_BYTES = MLKEM768_PUBLIC_BYTES + X25519_PUBLIC_BYTES
XWING_ENC_BYTES = 1120


@dataclass(frozen=True, slots=True)
class Suite:
    """One HPKE suite: a name on the wire and the RFC 9180 identifiers behind it."""

    name: str
    kem_id: int
    kdf_id: int
    aead_id: int
    _kdf: hpke.KDF
    _aead: hpke.AEAD

    @property
    def hpke(self) -> hpke.Suite:
        return hpke.Suite(hpke.KEM.MLKEM768_X25519, self._kdf, self._aead)


XWING_CHACHA = Suite(
    "X-Wing/HKDF-SHA256/ChaCha20Poly1305", 0x647A, 0x0001, 0x0003,
    hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305,
)  # fmt: skip
XWING_AES = Suite(
    "X-Wing/HKDF-SHA256/AES-256-GCM", 0x647A, 0x0001, 0x0002,
    hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM,
)  # fmt: skip

SUITES: dict[str, Suite] = {s.name: s for s in (XWING_CHACHA, XWING_AES)}
DEFAULT_SUITE = XWING_CHACHA


def suite_by_name(name: object) -> Suite:
    """Look up a suite by its wire name.

    Raises:
        UnsupportedAlgorithm: not a suite liaison speaks.
    """
    if isinstance(name, str) and name in SUITES:
        return SUITES[name]
    raise UnsupportedAlgorithm(f"unsupported HPKE suite {name!r}")


def _expand(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    expanded = hashlib.shake_256(seed).digest(96)
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )


class KemPublicKey:
    """An X-Wing public key, parsed and checked."""

    __slots__ = ("_key", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != XWING_PUBLIC_BYTES:
            raise MalformedInput(f"X-Wing public key must be {XWING_PUBLIC_BYTES} bytes")
        try:
            self._key = hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM768_PUBLIC_BYTES]),
                x25519.X25519PublicKey.from_public_bytes(raw[MLKEM768_PUBLIC_BYTES:]),
            )
        except ValueError as exc:
            raise MalformedInput(f"invalid X-Wing public key: {exc}") from exc
        self.raw = bytes(raw)

    def key_id(self, suite: Suite) -> str:
        """The key id published in key documents and named in envelope headers."""
        digest = hashlib.sha256(
            b"liaison/v1/kem-key\x00" + suite.name.encode() + b"\x00" + self.raw
        ).digest()
        return "kem-" + b64u_encode(digest[:12])

    def seal(self, suite: Suite, plaintext: bytes, info: bytes) -> bytes:
        """HPKE Base-mode single-shot seal; returns ``enc || ciphertext``."""
        return suite.hpke.encrypt(plaintext, self._key, info=info)


class KemPrivateKey:
    """An X-Wing private key, kept as its 32-byte seed."""

    __slots__ = ("_key", "public", "seed")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != XWING_SEED_BYTES:
            raise MalformedInput("X-Wing seed must be 32 bytes")
        self.seed = bytes(seed)
        kem_key, dh_key = _expand(self.seed)
        self._key = hpke.MLKEM768X25519PrivateKey(kem_key, dh_key)
        self.public = KemPublicKey(
            kem_key.public_key().public_bytes_raw() + dh_key.public_key().public_bytes_raw()
        )

    @classmethod
    def generate(cls) -> KemPrivateKey:
        return cls(os.urandom(XWING_SEED_BYTES))

    def open(self, suite: Suite, sealed: bytes, info: bytes) -> bytes:
        """HPKE Base-mode single-shot open of ``enc || ciphertext``.

        Raises:
            DecryptionFailed: the ciphertext, ``info`` or key do not match (or input is truncated).
        """
        try:
            return suite.hpke.decrypt(sealed, self._key, info=info)
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed("HPKE open failed") from exc
