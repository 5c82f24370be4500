"""Signed key documents: how a node publishes its keys, and how a partner checks them.

A key document names the node, its endpoint, its hybrid signing keys and one or more X-Wing
encryption keys, each with a validity window, so that rotating encryption keys never changes the
format. The document is signed by the signing keys it contains, and a partner accepts it only
if those keys match the fingerprint it pinned out of band: never on first use.

Wire form (``application/json``), see docs/protocol.md section "Key documents"::

    {"document": {"type": "liaison.key-document", "version": 1, "node_id": "IQ",
                  "endpoint": "https://...", "serial": 3, "issued_at": 1764374400,
                  "signing_keys": {"ed25519": b64u, "ml-dsa-65": b64u},
                  "encryption_keys": [{"kid": "kem-...", "suite": "X-Wing/...",
                                       "public_key": b64u, "not_before": int, "not_after": int}]},
     "signatures": {"ed25519": b64u, "ml-dsa-65": b64u}}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import FingerprintMismatch, KeyExpired, MalformedInput, UnknownKey
from crypto.fingerprint import verify_fingerprint
from crypto.signed_json import dump_signed, load_signed, verify_signed
from crypto.signing import SigningKey, VerifyKey
from crypto.suites import KemPublicKey, Suite, suite_by_name

DOCUMENT_TYPE = "liaison.key-document"
DOCUMENT_VERSION = 1
PURPOSE = "key-document"
MAX_DOCUMENT_BYTES = 64 * 1024
MAX_ENCRYPTION_KEYS = 8

NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_ENDPOINT = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_DOC_FIELDS = {
    "type", "version", "node_id", "endpoint", "serial", "issued_at",
    "signing_keys", "encryption_keys",
}  # fmt: skip
_KEY_FIELDS = {"kid", "suite", "public_key", "not_before", "not_after"}


def check_node_id(value: object) -> str:
    """Return ``value`` if it is a valid node id (letters, digits, ``.``, ``_``, ``-``; <= 63).

    Raises:
        MalformedInput: otherwise.
    """
    if not isinstance(value, str) or not NODE_ID.fullmatch(value):
        raise MalformedInput(f"invalid node id {value!r}")
    return value


def _int(doc: dict[str, object], field: str) -> int:
    value = doc.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedInput(f"{field} must be a non-negative integer")
    return value


@dataclass(frozen=True, slots=True)
class PublishedKemKey:
    """An encryption key as published: id, suite, public key and validity window (Unix seconds)."""

    kid: str
    suite: Suite
    public_key: KemPublicKey
    not_before: int
    not_after: int

    def valid_at(self, when: int) -> bool:
        return self.not_before <= when < self.not_after

    def to_json(self) -> dict[str, object]:
        return {
            "kid": self.kid,
            "suite": self.suite.name,
            "public_key": b64u_encode(self.public_key.raw),
            "not_before": self.not_before,
            "not_after": self.not_after,
        }

    @classmethod
    def from_json(cls, unverified: object) -> PublishedKemKey:
        if not isinstance(unverified, dict) or set(unverified) != _KEY_FIELDS:
            raise MalformedInput(f"an encryption key holds exactly {sorted(_KEY_FIELDS)}")
        suite = suite_by_name(unverified["suite"])
        public_key = KemPublicKey(b64u_decode(unverified["public_key"], field="public_key"))
        key = cls(
            kid=str(unverified["kid"]),
            suite=suite,
            public_key=public_key,
            not_before=_int(unverified, "not_before"),
            not_after=_int(unverified, "not_after"),
        )
        if key.kid != public_key.key_id(suite):
            raise MalformedInput(f"encryption key id {key.kid!r} does not match its public key")
        if key.not_before >= key.not_after:
            raise MalformedInput(f"encryption key {key.kid} has an empty validity window")
        return key


@dataclass(frozen=True, slots=True)
class VerifiedKeyDocument:
    """A key document whose signature and pinned fingerprint have been checked."""

    node_id: str
    endpoint: str
    serial: int
    issued_at: int
    signing_key: VerifyKey
    encryption_keys: tuple[PublishedKemKey, ...]
    raw: bytes

    def encryption_key(self, kid: str) -> PublishedKemKey:
        """The published key ``kid``.

        Raises:
            UnknownKey: no such key in this document.
        """
        for key in self.encryption_keys:
            if key.kid == kid:
                return key
        raise UnknownKey(f"{self.node_id} publishes no encryption key {kid!r}")

    def current_encryption_key(self, now: int) -> PublishedKemKey:
        """The key a sender should seal to at ``now``: the newest one that is valid.

        Raises:
            KeyExpired: none of the published keys is valid at ``now``.
        """
        valid = [k for k in self.encryption_keys if k.valid_at(now)]
        if not valid:
            raise KeyExpired(f"{self.node_id} publishes no encryption key valid now")
        return max(valid, key=lambda k: (k.not_before, k.kid))


def build_key_document(
    *,
    node_id: str,
    endpoint: str,
    serial: int,
    issued_at: int,
    signing_key: SigningKey,
    encryption_keys: list[PublishedKemKey],
) -> bytes:
    """Sign and serialise a key document (the bytes a node serves)."""
    document: dict[str, object] = {
        "type": DOCUMENT_TYPE,
        "version": DOCUMENT_VERSION,
        "node_id": check_node_id(node_id),
        "endpoint": endpoint,
        "serial": serial,
        "issued_at": issued_at,
        "signing_keys": signing_key.public.to_json(),
        "encryption_keys": [k.to_json() for k in encryption_keys],
    }
    return dump_signed("document", document, PURPOSE, signing_key)


def verify_key_document(
    unverified_bytes: bytes,
    *,
    pinned_fingerprint: str | None = None,
    pinned_key: VerifyKey | None = None,
    expected_node_id: str | None = None,
) -> VerifiedKeyDocument:
    """Check a key document against a pin, following docs/protocol.md "Key documents" steps K1-K6.

    Exactly one of ``pinned_fingerprint`` (first contact, as read out) or ``pinned_key`` (the
    signing keys already stored for this partner) must be given.

    Raises:
        MalformedInput: K1/K2, the document does not parse or has the wrong shape.
        FingerprintMismatch: K3, the signing keys are not the pinned ones.
        SignatureInvalid: K4, the document is not signed by those keys.
        UnsupportedAlgorithm: K5, an encryption key uses a suite liaison does not speak.
    """
    if (pinned_fingerprint is None) == (pinned_key is None):
        raise ValueError("give exactly one of pinned_fingerprint or pinned_key")
    # K1: strict parse, size-limited.
    doc, signature = load_signed(unverified_bytes, "document", max_bytes=MAX_DOCUMENT_BYTES)
    # K2: shape, type and version.
    if set(doc) != _DOC_FIELDS:
        raise MalformedInput(f"the document holds exactly {sorted(_DOC_FIELDS)}")
    if doc["type"] != DOCUMENT_TYPE or doc["version"] != DOCUMENT_VERSION:
        raise MalformedInput("not a liaison key document of version 1")
    signing_key = VerifyKey.from_json(doc["signing_keys"])
    # K3: the signing keys must be the pinned ones, before anything is trusted.
    if pinned_fingerprint is not None:
        verify_fingerprint(signing_key, pinned_fingerprint)
    elif pinned_key is not None and not pinned_key.same_as(signing_key):
        raise FingerprintMismatch("the document's signing keys are not the pinned ones")
    # K4: both signatures over the canonical document.
    verify_signed(doc, signature, PURPOSE, signing_key)
    # K5: node id, endpoint and encryption keys.
    node_id = check_node_id(doc["node_id"])
    if expected_node_id is not None and node_id != expected_node_id:
        raise MalformedInput(f"key document is for {node_id!r}, expected {expected_node_id!r}")
    endpoint = doc["endpoint"]
    if not isinstance(endpoint, str) or not _ENDPOINT.fullmatch(endpoint):
        raise MalformedInput(f"invalid endpoint {endpoint!r}")
    keys = doc["encryption_keys"]
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_ENCRYPTION_KEYS:
        raise MalformedInput(f"a key document lists 1 to {MAX_ENCRYPTION_KEYS} encryption keys")
    parsed = tuple(PublishedKemKey.from_json(k) for k in keys)
    if len({k.kid for k in parsed}) != len(parsed):
        raise MalformedInput("duplicate encryption key id")
    # K6: return the verified form; callers keep the highest serial (no rollback).
    return VerifiedKeyDocument(
        node_id=node_id,
        endpoint=endpoint,
        serial=_int(doc, "serial"),
        issued_at=_int(doc, "issued_at"),
        signing_key=signing_key,
        encryption_keys=parsed,
        raw=bytes(unverified_bytes),
    )
