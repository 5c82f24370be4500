"""Envelope v1: a report signed by the sending node, then sealed to the receiving node.

Sign, then encrypt (docs/protocol.md section "Envelope v1"):

* The *header* is canonical JSON naming version, suite, sender and its signing key, recipient and
  the encryption key used, message id, per-partner sequence number, creation and expiry times and
  the content type. It travels in clear so the receiver can route and refuse early.
* The *signed message* is ``header || body`` framed with lengths, signed with the sender's hybrid
  identity (Ed25519 and ML-DSA-65). Because the signed bytes name the recipient and the message
  id, a recipient cannot re-encrypt the signed report to a third node ("surreptitious forwarding"):
  the third node finds itself absent from the signed header. The receiver keeps the signed message
  and can re-verify it years later, after the encryption key is destroyed.
* The signed message is sealed with HPKE (RFC 9180 Base mode, X-Wing KEM) whose ``info`` is a
  domain-separation label and the SHA-256 of the header, so changing any byte of the clear header
  makes decryption fail; after opening, the header inside must equal the outer one byte for byte.

Wire formats (all integers big-endian)::

    envelope       = "LENV" 0x01 | u16 len(header) | header | enc || ciphertext
    signed message = "LSM1"      | u16 len(header) | header | u32 len(body) | body
                                 | ed25519 signature (64) | ml-dsa-65 signature (3309)

The two signatures cover the signed message from the first length field to the end of the body,
under the purpose ``envelope`` (see ``crypto.signing``).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from crypto.canonical import canonicalize, parse_canonical
from crypto.errors import (
    HeaderMismatch,
    InputTooLarge,
    KeyExpired,
    MalformedInput,
    NotFresh,
    UnknownKey,
    UnsupportedAlgorithm,
    WrongRecipient,
)
from crypto.keydoc import PublishedKemKey, check_node_id
from crypto.keys import NodeIdentity
from crypto.signing import (
    ED25519_SIGNATURE_BYTES,
    ML_DSA_65_SIGNATURE_BYTES,
    HybridSignature,
    SigningKey,
    VerifyKey,
)
from crypto.suites import XWING_ENC_BYTES, suite_by_name

VERSION = 1
ENVELOPE_MAGIC = b"LENV\x01"
SIGNED_MAGIC = b"LSM1"
PURPOSE = "envelope"
INFO_LABEL = b"liaison/v1/envelope\x00"

MAX_HEADER_BYTES = 2048
DEFAULT_MAX_ENVELOPE_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_SKEW = 120
DEFAULT_MAX_LIFETIME = 30 * 24 * 3600

_SIGS_BYTES = ED25519_SIGNATURE_BYTES + ML_DSA_65_SIGNATURE_BYTES
_AEAD_TAG_BYTES = 16
MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
CONTENT_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]{1,200})?")
HEADER_FIELDS = frozenset(
    {
        "v", "suite", "sender", "sender_key", "recipient", "recipient_key",
        "message_id", "seq", "created", "expires", "content_type",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """The clear header, parsed and type-checked (not yet authenticated)."""

    suite: str
    sender: str
    sender_key: str
    recipient: str
    recipient_key: str
    message_id: str
    seq: int
    created: int
    expires: int
    content_type: str
    raw: bytes

    @classmethod
    def build(
        cls,
        *,
        suite: str,
        sender: str,
        sender_key: str,
        recipient: str,
        recipient_key: str,
        message_id: str,
        seq: int,
        created: int,
        expires: int,
        content_type: str,
    ) -> EnvelopeHeader:
        fields: dict[str, object] = {
            "v": VERSION,
            "suite": suite,
            "sender": sender,
            "sender_key": sender_key,
            "recipient": recipient,
            "recipient_key": recipient_key,
            "message_id": message_id,
            "seq": seq,
            "created": created,
            "expires": expires,
            "content_type": content_type,
        }
        return cls.parse(canonicalize(fields))

    @classmethod
    def parse(cls, unverified_raw: bytes) -> EnvelopeHeader:
        """Parse header bytes: canonical JSON with exactly the v1 fields, each of the right type.

        Raises:
            InputTooLarge: over MAX_HEADER_BYTES.
            MalformedInput: not canonical JSON, missing or extra fields, wrong types.
            UnsupportedAlgorithm: another version or an unknown suite.
        """
        if len(unverified_raw) > MAX_HEADER_BYTES:
            raise InputTooLarge(f"envelope header over {MAX_HEADER_BYTES} bytes")
        obj = parse_canonical(unverified_raw, max_bytes=MAX_HEADER_BYTES, max_depth=2)
        if not isinstance(obj, dict) or set(obj) != HEADER_FIELDS:
            raise MalformedInput(f"envelope header must hold exactly {sorted(HEADER_FIELDS)}")
        if obj["v"] != VERSION or isinstance(obj["v"], bool):
            raise UnsupportedAlgorithm(f"unsupported envelope version {obj['v']!r}")
        suite_by_name(obj["suite"])
        for name in ("created", "expires", "seq"):
            value = obj[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise MalformedInput(f"header field {name} must be a non-negative integer")
        for name in ("sender_key", "recipient_key"):
            if not isinstance(obj[name], str) or not 1 <= len(obj[name]) <= 64:
                raise MalformedInput(f"header field {name} must be a short string")
        if not isinstance(obj["message_id"], str) or not MESSAGE_ID.fullmatch(obj["message_id"]):
            raise MalformedInput("header field message_id is not a valid message id")
        ctype = obj["content_type"]
        if not isinstance(ctype, str) or not CONTENT_TYPE.fullmatch(ctype):
            raise MalformedInput("header field content_type is not a media type")
        if obj["expires"] <= obj["created"]:
            raise MalformedInput("envelope expires before it was created")
        return cls(
            suite=obj["suite"],
            sender=check_node_id(obj["sender"]),
            sender_key=obj["sender_key"],
            recipient=check_node_id(obj["recipient"]),
            recipient_key=obj["recipient_key"],
            message_id=obj["message_id"],
            seq=obj["seq"],
            created=obj["created"],
            expires=obj["expires"],
            content_type=ctype,
            raw=bytes(unverified_raw),
        )

    @property
    def info(self) -> bytes:
        """The HPKE ``info`` that binds this exact header to the ciphertext."""
        return INFO_LABEL + hashlib.sha256(self.raw).digest()


@dataclass(frozen=True, slots=True)
class SealedEnvelope:
    """What a sender produced: the wire bytes and what it needs to match a receipt later."""

    header: EnvelopeHeader
    data: bytes

    @property
    def digest(self) -> bytes:
        return envelope_digest(self.data)


@dataclass(frozen=True, slots=True)
class VerifiedEnvelope:
    """An envelope that passed every step of docs/protocol.md "Receiving an envelope"."""

    header: EnvelopeHeader
    body: bytes
    signed_message: bytes
    digest: bytes


def envelope_digest(data: bytes) -> bytes:
    """SHA-256 of the envelope bytes exactly as sent, named in receipts."""
    return hashlib.sha256(data).digest()


def _tbs(header: bytes, body: bytes) -> bytes:
    return struct.pack(">H", len(header)) + header + struct.pack(">I", len(body)) + body


def sign_message(key: SigningKey, header: EnvelopeHeader, body: bytes) -> bytes:
    """Frame and sign ``header || body``: the signed message that gets sealed."""
    tbs = _tbs(header.raw, body)
    signature = key.sign(PURPOSE, tbs)
    return SIGNED_MAGIC + tbs + signature.ed25519 + signature.ml_dsa_65


def _check_signed(signed: bytes, sender_key: VerifyKey) -> tuple[bytes, bytes]:
    """Check the framing and both signatures of a signed message (steps R9 and R11).

    Returns the header bytes (not parsed) and the body.

    Raises:
        MalformedInput: the framing is wrong.
        SignatureInvalid: either signature fails.
    """
    if len(signed) < len(SIGNED_MAGIC) + 6 + _SIGS_BYTES or not signed.startswith(SIGNED_MAGIC):
        raise MalformedInput("not a liaison signed message")
    offset = len(SIGNED_MAGIC)
    (header_len,) = struct.unpack_from(">H", signed, offset)
    header_raw = signed[offset + 2 : offset + 2 + header_len]
    offset += 2 + header_len
    if len(header_raw) != header_len or offset + 4 > len(signed):
        raise MalformedInput("signed message truncated in its header")
    (body_len,) = struct.unpack_from(">I", signed, offset)
    body_end = offset + 4 + body_len
    if body_end + _SIGS_BYTES != len(signed):
        raise MalformedInput("signed message length fields do not match its size")
    body = signed[offset + 4 : body_end]
    signature = HybridSignature(
        ed25519=signed[body_end : body_end + ED25519_SIGNATURE_BYTES],
        ml_dsa_65=signed[body_end + ED25519_SIGNATURE_BYTES :],
    )
    sender_key.verify(PURPOSE, signed[len(SIGNED_MAGIC) : body_end], signature)
    return header_raw, body


def verify_signed_message(signed: bytes, sender_key: VerifyKey) -> tuple[EnvelopeHeader, bytes]:
    """Check a stored signed message again (e.g. years later, without any decryption key).

    Returns the header and body. Steps R9 and R11 of docs/protocol.md.

    Raises:
        MalformedInput: the framing is wrong.
        SignatureInvalid: either signature fails.
    """
    header_raw, body = _check_signed(signed, sender_key)
    return EnvelopeHeader.parse(header_raw), body


def seal(
    *,
    sender: NodeIdentity,
    recipient_id: str,
    recipient_key: PublishedKemKey,
    body: bytes,
    content_type: str,
    message_id: str,
    seq: int,
    now: int,
    lifetime: int = 7 * 24 * 3600,
) -> SealedEnvelope:
    """Sign ``body`` as ``sender`` and seal it to ``recipient_key`` of ``recipient_id``.

    Raises:
        KeyExpired: ``recipient_key`` is not valid at ``now``.
        MalformedInput: an invalid message id, content type or node id.
    """
    if not recipient_key.valid_at(now):
        raise KeyExpired(f"{recipient_id}'s encryption key {recipient_key.kid} is not valid now")
    header = EnvelopeHeader.build(
        suite=recipient_key.suite.name,
        sender=sender.node_id,
        sender_key=sender.signing.public.key_id,
        recipient=recipient_id,
        recipient_key=recipient_key.kid,
        message_id=message_id,
        seq=seq,
        created=now,
        expires=now + lifetime,
        content_type=content_type,
    )
    signed = sign_message(sender.signing, header, body)
    sealed = recipient_key.public_key.seal(recipient_key.suite, signed, header.info)
    frame = ENVELOPE_MAGIC + struct.pack(">H", len(header.raw)) + header.raw + sealed
    return SealedEnvelope(header=header, data=frame)


def parse_header(
    unverified: bytes, *, max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES
) -> tuple[EnvelopeHeader, bytes]:
    """Steps R1-R2: size, framing and header syntax. Returns the header and ``enc || ct``.

    Raises:
        InputTooLarge: R1, over ``max_bytes``.
        MalformedInput: R2, framing or header syntax.
        UnsupportedAlgorithm: R2, another version or suite.
    """
    # R1: size before anything else.
    if len(unverified) > max_bytes:
        raise InputTooLarge(f"envelope of {len(unverified)} bytes exceeds {max_bytes}")
    # R2: framing, then the header's syntax.
    if not unverified.startswith(ENVELOPE_MAGIC[:4]):
        raise MalformedInput("not a liaison envelope")
    if unverified[4:5] != ENVELOPE_MAGIC[4:5]:
        raise UnsupportedAlgorithm(f"unsupported envelope version {unverified[4:5].hex()}")
    if len(unverified) < len(ENVELOPE_MAGIC) + 2:
        raise MalformedInput("envelope truncated")
    (header_len,) = struct.unpack_from(">H", unverified, len(ENVELOPE_MAGIC))
    start = len(ENVELOPE_MAGIC) + 2
    header = EnvelopeHeader.parse(unverified[start : start + header_len])
    sealed = unverified[start + header_len :]
    if len(sealed) < XWING_ENC_BYTES + _AEAD_TAG_BYTES + len(SIGNED_MAGIC) + _SIGS_BYTES:
        raise MalformedInput("envelope truncated: ciphertext too short")
    return header, sealed


def open_envelope(
    unverified: bytes,
    *,
    recipient: NodeIdentity,
    senders: Mapping[str, VerifyKey],
    now: int,
    max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES,
    max_skew: int = DEFAULT_MAX_SKEW,
    max_lifetime: int = DEFAULT_MAX_LIFETIME,
) -> VerifiedEnvelope:
    """Verify and open an envelope, following docs/protocol.md "Receiving an envelope" R1-R11.

    ``senders`` maps each pinned partner's node id to its pinned signing keys.

    Raises (each a :class:`~crypto.errors.CryptoError`; peers only ever hear "rejected"):
        InputTooLarge, MalformedInput: R1-R2, size, framing or header syntax.
        UnsupportedAlgorithm: R2/R5, a version or suite we do not speak, or a suite that differs
            from the one our key was published for (algorithm substitution).
        WrongRecipient: R3, addressed to another node.
        UnknownKey: R4/R6, a sender we have not pinned, a signing key id that is not the pinned
            one, or an encryption key id we do not hold.
        KeyExpired: R5, the envelope was sealed to our key outside the key's validity window.
        NotFresh: R7, created in the future, already expired, or an over-long lifetime.
        DecryptionFailed: R8, HPKE open failed (tampered ciphertext or header, wrong key).
        HeaderMismatch: R10, the signed header differs from the clear one.
        SignatureInvalid: R11, either signature fails.
    """
    header, sealed = parse_header(unverified, max_bytes=max_bytes)
    # R3: addressed to us.
    if header.recipient != recipient.node_id:
        raise WrongRecipient(f"envelope is addressed to {header.recipient}")
    # R4: from a partner we pinned, under its pinned signing key.
    sender_key = senders.get(header.sender)
    if sender_key is None:
        raise UnknownKey(f"no pinned partner {header.sender!r}")
    if header.sender_key != sender_key.key_id:
        raise UnknownKey(f"{header.sender} signing key {header.sender_key!r} is not the pinned one")
    # R5/R6: sealed to one of our keys, with the suite that key was published for, in its window.
    kem = recipient.kem_key(header.recipient_key)
    if kem.suite.name != header.suite:
        raise UnsupportedAlgorithm(
            f"header suite {header.suite!r} differs from key {kem.kid}'s suite {kem.suite.name!r}"
        )
    if not kem.not_before <= header.created < kem.not_after:
        raise KeyExpired(f"envelope created outside the validity window of key {kem.kid}")
    # R7: freshness.
    if header.created > now + max_skew:
        raise NotFresh("envelope created in the future")
    if header.expires <= now - max_skew:
        raise NotFresh("envelope expired")
    if header.expires - header.created > max_lifetime:
        raise NotFresh("envelope lifetime exceeds the maximum")
    # R8: HPKE open, with the clear header bound through info.
    signed = kem.private.open(kem.suite, sealed, header.info)
    # R9: framing of the signed message (in _check_signed), R10: same header inside.
    if not signed.startswith(SIGNED_MAGIC) or len(signed) < len(SIGNED_MAGIC) + 2:
        raise MalformedInput("decrypted payload is not a signed message")
    (inner_len,) = struct.unpack_from(">H", signed, len(SIGNED_MAGIC))
    inner_header = signed[len(SIGNED_MAGIC) + 2 : len(SIGNED_MAGIC) + 2 + inner_len]
    if inner_header != header.raw:
        raise HeaderMismatch("signed header differs from the clear header")
    # R11: both signatures by the pinned sender keys. The inner header equals the clear one, which
    # parse_header already parsed and checked, so it is not parsed a second time.
    _, body = _check_signed(signed, sender_key)
    return VerifiedEnvelope(
        header=header, body=body, signed_message=signed, digest=envelope_digest(unverified)
    )
