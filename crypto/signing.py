"""Hybrid signatures: Ed25519 and ML-DSA-65 (FIPS 204), both required.

A node's identity is a pair of signing keys. Every signature liaison makes is a pair of
signatures over the same domain-separated message, and verification requires both: the
classical signature keeps today's assurance if ML-DSA turns out to be weak, the ML-DSA one keeps
signed reports and receipts unforgeable after a quantum computer breaks Ed25519. Because both
are always required, "stripping" one of them leaves a message that fails, never a weaker one.

Domain separation: each signature names its purpose (``envelope``, ``receipt``,
``key-document``, ...). The signed bytes are ``b"liaison/v1/" + purpose + b"\\x00" + message``
for Ed25519, and ML-DSA signs ``message`` with the FIPS 204 context string
``b"liaison/v1/" + purpose``, so a signature made for one purpose never verifies for another.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA65PublicKey

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import MalformedInput, SignatureInvalid

ED25519 = "ed25519"
ML_DSA_65 = "ml-dsa-65"
SIGNATURE_ALGORITHMS = (ED25519, ML_DSA_65)

ED25519_PUBLIC_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
ML_DSA_65_PUBLIC_BYTES = 1952
ML_DSA_65_SIGNATURE_BYTES = 3309
SEED_BYTES = 32

_PREFIX = b"liaison/v1/"


def _context(purpose: str) -> bytes:
    if not purpose or not purpose.isascii() or "\x00" in purpose or len(purpose) > 200:
        raise ValueError(f"invalid signature purpose {purpose!r}")
    return _PREFIX + purpose.encode("ascii")


@dataclass(frozen=True, slots=True)
class HybridSignature:
    """One Ed25519 and one ML-DSA-65 signature over the same message."""

    ed25519: bytes
    ml_dsa_65: bytes

    def to_json(self) -> dict[str, str]:
        return {ED25519: b64u_encode(self.ed25519), ML_DSA_65: b64u_encode(self.ml_dsa_65)}

    @classmethod
    def from_json(cls, unverified: object) -> HybridSignature:
        """Parse ``{"ed25519": b64u, "ml-dsa-65": b64u}``; both present, nothing else.

        Raises:
            MalformedInput: wrong shape, extra or missing algorithms, wrong lengths.
        """
        if not isinstance(unverified, dict) or set(unverified) != set(SIGNATURE_ALGORITHMS):
            raise MalformedInput(f"signatures must hold exactly {list(SIGNATURE_ALGORITHMS)}")
        return cls(
            ed25519=b64u_decode(
                unverified[ED25519], field="ed25519 signature", length=ED25519_SIGNATURE_BYTES
            ),
            ml_dsa_65=b64u_decode(
                unverified[ML_DSA_65], field="ml-dsa-65 signature", length=ML_DSA_65_SIGNATURE_BYTES
            ),
        )


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """The public half of a node's hybrid signing identity."""

    ed25519: bytes
    ml_dsa_65: bytes
    # Derived from the bytes above once, when the key is made (verify and key_id run on every
    # envelope): not part of the constructor, equality, hash or repr, so two VerifyKeys are equal
    # exactly when their bytes are.
    _ed25519_key: Ed25519PublicKey = field(init=False, repr=False, compare=False)
    _ml_dsa_key: MLDSA65PublicKey = field(init=False, repr=False, compare=False)
    _identity_digest: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.ed25519) != ED25519_PUBLIC_BYTES:
            raise MalformedInput("ed25519 public key must be 32 bytes")
        if len(self.ml_dsa_65) != ML_DSA_65_PUBLIC_BYTES:
            raise MalformedInput(f"ml-dsa-65 public key must be {ML_DSA_65_PUBLIC_BYTES} bytes")
        self._load()

    def _load(self) -> None:
        try:
            ed_key = Ed25519PublicKey.from_public_bytes(self.ed25519)
        except ValueError as exc:
            raise MalformedInput(f"invalid ed25519 public key: {exc}") from exc
        try:
            ml_key = MLDSA65PublicKey.from_public_bytes(self.ml_dsa_65)
        except ValueError as exc:
            raise MalformedInput(f"invalid ml-dsa-65 public key: {exc}") from exc
        object.__setattr__(self, "_ed25519_key", ed_key)
        object.__setattr__(self, "_ml_dsa_key", ml_key)
        digest = hashlib.sha512(b"liaison/v1/identity\x00" + self.ed25519 + self.ml_dsa_65).digest()
        object.__setattr__(self, "_identity_digest", digest)

    # Pickle and copy carry the bytes only (key objects do not pickle) and load the keys again.
    def __getstate__(self) -> tuple[bytes, bytes]:
        return self.ed25519, self.ml_dsa_65

    def __setstate__(self, state: tuple[bytes, bytes]) -> None:
        object.__setattr__(self, "ed25519", state[0])
        object.__setattr__(self, "ml_dsa_65", state[1])
        self._load()

    @property
    def identity_digest(self) -> bytes:
        """SHA-512 over both public keys: the root of the fingerprint and the key id."""
        return self._identity_digest

    @property
    def key_id(self) -> str:
        """A short, stable name for this key pair, used in headers (not a security check)."""
        return "sig-" + b64u_encode(self.identity_digest[:12])

    def verify(self, purpose: str, message: bytes, signature: HybridSignature) -> None:
        """Check both signatures over ``message`` for ``purpose``.

        Raises:
            SignatureInvalid: either signature fails (the error says which, for audit records).
        """
        context = _context(purpose)
        try:
            self._ed25519_key.verify(signature.ed25519, context + b"\x00" + message)
        except InvalidSignature as exc:
            raise SignatureInvalid(f"ed25519 signature does not verify ({purpose})") from exc
        try:
            self._ml_dsa_key.verify(signature.ml_dsa_65, message, context)
        except InvalidSignature as exc:
            raise SignatureInvalid(f"ml-dsa-65 signature does not verify ({purpose})") from exc

    def to_json(self) -> dict[str, str]:
        return {ED25519: b64u_encode(self.ed25519), ML_DSA_65: b64u_encode(self.ml_dsa_65)}

    @classmethod
    def from_json(cls, unverified: object) -> VerifyKey:
        """Parse ``{"ed25519": b64u, "ml-dsa-65": b64u}``.

        Raises:
            MalformedInput: wrong shape or key lengths.
        """
        if not isinstance(unverified, dict) or set(unverified) != set(SIGNATURE_ALGORITHMS):
            raise MalformedInput(f"signing keys must hold exactly {list(SIGNATURE_ALGORITHMS)}")
        return cls(
            ed25519=b64u_decode(unverified[ED25519], field="ed25519 key", length=32),
            ml_dsa_65=b64u_decode(
                unverified[ML_DSA_65], field="ml-dsa-65 key", length=ML_DSA_65_PUBLIC_BYTES
            ),
        )

    def same_as(self, other: VerifyKey) -> bool:
        return hmac.compare_digest(self.identity_digest, other.identity_digest)


class SigningKey:
    """A node's private hybrid signing identity, built from two 32-byte seeds."""

    __slots__ = ("_ed25519", "_ed25519_seed", "_ml_dsa", "_ml_dsa_seed", "public")

    def __init__(self, ed25519_seed: bytes, ml_dsa_65_seed: bytes) -> None:
        if len(ed25519_seed) != SEED_BYTES or len(ml_dsa_65_seed) != SEED_BYTES:
            raise MalformedInput("signing key seeds must be 32 bytes each")
        self._ed25519_seed = bytes(ed25519_seed)
        self._ml_dsa_seed = bytes(ml_dsa_65_seed)
        self._ed25519 = ed25519.Ed25519PrivateKey.from_private_bytes(self._ed25519_seed)
        self._ml_dsa = mldsa.MLDSA65PrivateKey.from_seed_bytes(self._ml_dsa_seed)
        self.public = VerifyKey(
            ed25519=self._ed25519.public_key().public_bytes_raw(),
            ml_dsa_65=self._ml_dsa.public_key().public_bytes_raw(),
        )

    @classmethod
    def generate(cls) -> SigningKey:
        import os

        return cls(os.urandom(SEED_BYTES), os.urandom(SEED_BYTES))

    def seeds(self) -> tuple[bytes, bytes]:
        """The private seeds, for the encrypted key file only."""
        return self._ed25519_seed, self._ml_dsa_seed

    def sign(self, purpose: str, message: bytes) -> HybridSignature:
        context = _context(purpose)
        return HybridSignature(
            ed25519=self._ed25519.sign(context + b"\x00" + message),
            ml_dsa_65=self._ml_dsa.sign(message, context),
        )

    def sign_ed25519(self, message: bytes) -> bytes:
        """A bare Ed25519 signature, for protocols that define their own input (RFC 9421, notes)."""
        return self._ed25519.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey({self.public.key_id})"
