"""The errors raised by ``crypto``.

Every failure of a check in this package raises a subclass of :class:`CryptoError`; exceptions of
the libraries underneath (``InvalidSignature``, ``InvalidTag``, ``ValueError`` from a key loader)
are translated at the point where they occur, with ``raise ... from exc``, and never leak out.

    CryptoError
     ├── MalformedInput           bytes that do not parse: bad JSON, duplicate keys, NaN,
     │    │                       depth, base64, framing, wrong types, missing/unknown fields
     │    └── InputTooLarge       over a size limit
     ├── UnsupportedAlgorithm     a version or suite we do not speak, or not the key's suite
     ├── WrongRecipient           addressed to another node
     ├── UnknownKey               a key id we do not hold or have not pinned
     ├── KeyExpired               a key outside its validity window
     ├── NotFresh                 a message created in the future or already expired
     ├── DecryptionFailed         HPKE open failed (wrong key, tampered ciphertext or header)
     ├── HeaderMismatch           the signed inner header differs from the outer one
     ├── SignatureInvalid         a signature did not verify
     ├── ProofInvalid             a Merkle inclusion or consistency proof did not verify
     ├── FingerprintMismatch      a key document's keys do not match the pinned fingerprint
     ├── ReplayDetected           a request nonce seen before
     └── KeyFileError             a key file that cannot be opened: passphrase, permissions

Each error has a stable ``code`` for logs and audit records and a human ``diagnostics()`` text.
Peers are never told which check failed: the service answers every one of them with the same
"rejected" response (see ``PUBLIC_REJECTION``) and records the precise code in its audit log.
"""

from __future__ import annotations

PUBLIC_REJECTION = "rejected"
"""The only thing a peer learns when a message or request fails verification."""


class CryptoError(Exception):
    """Base of every error raised by this package."""

    code = "crypto_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        """A human explanation of what failed, for operators and audit records (not for peers)."""
        return f"{self.code}: {self.message}"


class MalformedInput(CryptoError):
    code = "malformed"


class InputTooLarge(MalformedInput):
    code = "too_large"


class UnsupportedAlgorithm(CryptoError):
    code = "unsupported_algorithm"


class WrongRecipient(CryptoError):
    code = "wrong_recipient"


class UnknownKey(CryptoError):
    code = "unknown_key"


class KeyExpired(CryptoError):
    code = "key_expired"


class NotFresh(CryptoError):
    code = "not_fresh"


class DecryptionFailed(CryptoError):
    code = "decryption_failed"


class HeaderMismatch(CryptoError):
    code = "header_mismatch"


class SignatureInvalid(CryptoError):
    code = "signature_invalid"


class ProofInvalid(CryptoError):
    """A well-formed Merkle proof that does not prove its claim: evidence of a fork or rollback."""

    code = "proof_invalid"


class FingerprintMismatch(CryptoError):
    code = "fingerprint_mismatch"


class ReplayDetected(CryptoError):
    code = "replay"


class KeyFileError(CryptoError):
    code = "key_file"
