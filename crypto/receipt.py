"""Signed delivery receipts: the receiver's proof that it accepted an envelope.

After a receiver has verified and stored an envelope it signs, with its hybrid identity, the
message id, the SHA-256 of the envelope bytes exactly as received, when it received them, and who
sent and who received. The sender accepts the receipt only if it is signed by the pinned keys of
the partner it sent to and names exactly the envelope it sent; only then is a report marked
acknowledged. Receipts are kept: they are the evidence an audit reconciliation compares.

Wire form (docs/protocol.md section "Receipts")::

    {"receipt": {"type": "liaison.receipt", "version": 1, "message_id": "...",
                 "envelope_sha256": b64u, "sender": "IQ", "receiver": "SY",
                 "received_at": 1764374400},
     "signatures": {"ed25519": b64u, "ml-dsa-65": b64u}}
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import MalformedInput, NotFresh
from crypto.keydoc import check_node_id
from crypto.signed_json import dump_signed, load_signed, verify_signed
from crypto.signing import SigningKey, VerifyKey

RECEIPT_TYPE = "liaison.receipt"
PURPOSE = "receipt"
MAX_RECEIPT_BYTES = 16 * 1024
_FIELDS = {"type", "version", "message_id", "envelope_sha256", "sender", "receiver", "received_at"}


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    message_id: str
    envelope_sha256: bytes
    sender: str
    receiver: str
    received_at: int
    raw: bytes


def issue_receipt(
    *,
    key: SigningKey,
    message_id: str,
    envelope_sha256: bytes,
    sender: str,
    receiver: str,
    received_at: int,
) -> bytes:
    """Sign a receipt as ``receiver`` for the envelope with digest ``envelope_sha256``."""
    body: dict[str, object] = {
        "type": RECEIPT_TYPE,
        "version": 1,
        "message_id": message_id,
        "envelope_sha256": b64u_encode(envelope_sha256),
        "sender": sender,
        "receiver": receiver,
        "received_at": received_at,
    }
    return dump_signed("receipt", body, PURPOSE, key)


def verify_receipt(
    unverified_bytes: bytes,
    *,
    receiver_key: VerifyKey,
    expected_receiver: str,
    expected_sender: str,
    expected_message_id: str,
    expected_envelope_sha256: bytes,
    now: int | None = None,
    max_skew: int = 300,
) -> VerifiedReceipt:
    """Check a receipt for an envelope we sent, steps C1-C4 of docs/protocol.md "Receipts".

    Raises:
        MalformedInput: C1, wrong shape; C3, it names another message, envelope, sender or receiver.
        SignatureInvalid: C2, not signed by the partner's pinned keys.
        NotFresh: C4, ``received_at`` lies beyond ``now + max_skew`` (when ``now`` is given).
    """
    # C1: shape.
    body, signature = load_signed(unverified_bytes, "receipt", max_bytes=MAX_RECEIPT_BYTES)
    if set(body) != _FIELDS or body["type"] != RECEIPT_TYPE or body["version"] != 1:
        raise MalformedInput("not a liaison receipt of version 1")
    received_at = body["received_at"]
    if not isinstance(received_at, int) or isinstance(received_at, bool) or received_at < 0:
        raise MalformedInput("received_at must be a non-negative integer")
    digest = b64u_decode(body["envelope_sha256"], field="envelope_sha256", length=32)
    # C2: signed by the partner we sent to.
    verify_signed(body, signature, PURPOSE, receiver_key)
    # C3: about exactly the envelope we sent, between exactly these two nodes.
    if (
        body["message_id"] != expected_message_id
        or check_node_id(body["receiver"]) != expected_receiver
        or check_node_id(body["sender"]) != expected_sender
        or not hmac.compare_digest(digest, expected_envelope_sha256)
    ):
        raise MalformedInput("receipt does not name the envelope that was sent")
    # C4: not from the future.
    if now is not None and received_at > now + max_skew:
        raise NotFresh("receipt received_at lies in the future")
    return VerifiedReceipt(
        message_id=expected_message_id,
        envelope_sha256=digest,
        sender=expected_sender,
        receiver=expected_receiver,
        received_at=received_at,
        raw=bytes(unverified_bytes),
    )
