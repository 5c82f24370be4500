"""Receiving from partners: authenticate the request, open the envelope, store it once, sign a
receipt.

Steps F1-F5 of docs/protocol.md section 6, in order:

F1. The request's RFC 9421 signature is verified (S1-S8) against the pinned partner whose signing
    key id it names; the nonce is remembered in the same transaction as what the request causes.
F2. The envelope's sender must be that partner: a partner cannot relay another node's envelope.
F3. A message id already stored for that partner is answered with the stored receipt when the
    envelope is byte-for-byte the same (a retry after a lost receipt), and refused otherwise.
F4. The envelope is opened and verified (R1-R11) and its STIX content validated.
F5. The envelope exactly as received and the signed message (encrypted at rest) are stored with
    the receipt and an audit record, in one transaction. The unique constraint on (partner,
    message id) settles concurrent duplicates.

Every verification failure answers the peer ``401 rejected`` and records the precise reason.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.envelope import open_envelope, parse_header
from crypto.errors import CryptoError, UnknownKey
from crypto.receipt import issue_receipt
from service import audit, stix
from service.audit import Actor
from service.errors import Conflict, FederationRejected, ServiceError, Unprocessable
from service.models import Inbound, Nonce, Partner
from service.node import Node
from service.partners import pinned_key
from service.reports import signed_context, title_of

ENVELOPE_MEDIA_TYPE = "application/vnd.liaison.envelope"
RECEIPT_MEDIA_TYPE = "application/json"


class DatabaseNonceStore:
    """RFC 9421 nonces in the ``nonces`` table: the primary key refuses a second use."""

    def __init__(self, session: Session, now: int) -> None:
        self._session = session
        self._now = now

    def remember(self, keyid: str, nonce: str, expires_at: int) -> bool:
        self._session.execute(delete(Nonce).where(Nonce.expires_at < self._now))
        try:
            with self._session.begin_nested():
                self._session.add(Nonce(keyid=keyid, nonce=nonce, expires_at=expires_at))
        except IntegrityError:
            return False
        return True


def authenticate_partner(
    session: Session, node: Node, request: httpsig.HttpRequestParts
) -> Partner:
    """F1: verify a partner's signed request (docs/protocol.md S1-S8); return the partner.

    Raises:
        CryptoError: any verification failure, including a replayed nonce.
    """
    partners: dict[str, Partner] = {}

    def resolve_key(keyid: str) -> bytes:
        partner = session.scalar(select(Partner).where(Partner.signing_key_id == keyid))
        if partner is None:
            raise UnknownKey(f"no pinned partner has signing key {keyid!r}")
        partners[keyid] = partner
        return partner.ed25519_key

    verified = httpsig.verify_request(
        request,
        resolve_key=resolve_key,
        nonce_store=DatabaseNonceStore(session, node.now()),
        now=node.now(),
        max_skew=node.settings.clock_skew,
        max_age=node.settings.request_max_age,
    )
    return partners[verified.keyid]


@dataclass(frozen=True, slots=True)
class Acceptance:
    receipt: bytes
    duplicate: bool
    inbound_id: str


def ingest(session: Session, node: Node, partner: Partner, envelope: bytes) -> Acceptance:
    """Store a partner's envelope once and return the signed receipt (F2-F5).

    Raises:
        CryptoError: the envelope fails R1-R11 or names another sender.
        Conflict: the message id was already received with other bytes.
        Unprocessable: the content is not valid, TLP-marked STIX.
    """
    header, _ = parse_header(envelope, max_bytes=node.settings.max_envelope_bytes)
    # F2
    if header.sender != partner.node_id:
        raise UnknownKey(f"envelope sender {header.sender} is not the requesting partner")
    digest = hashlib.sha256(envelope).digest()
    # F3
    existing = session.scalar(
        select(Inbound).where(
            Inbound.partner_id == partner.id, Inbound.message_id == header.message_id
        )
    )
    if existing is not None:
        if hmac.compare_digest(existing.envelope_sha256, digest):
            return Acceptance(existing.receipt, duplicate=True, inbound_id=existing.id)
        raise Conflict(f"message {header.message_id} was already received with other content")
    # F4
    verified = open_envelope(
        envelope,
        recipient=node.identity,
        senders={partner.node_id: pinned_key(partner)},
        now=node.now(),
        max_bytes=node.settings.max_envelope_bytes,
        max_skew=node.settings.clock_skew,
    )
    try:
        report = stix.validate_report(verified.body, max_bytes=node.settings.max_envelope_bytes)
    except stix.StixError as exc:
        raise Unprocessable(exc.detail, code=exc.code, errors=exc.messages) from exc
    # F5
    now = node.utcnow()
    receipt = issue_receipt(
        key=node.identity.signing,
        message_id=header.message_id,
        envelope_sha256=digest,
        sender=partner.node_id,
        receiver=node.node_id,
        received_at=node.now(),
    )
    inbound_id = str(uuid.uuid4())
    session.add(
        Inbound(
            id=inbound_id,
            partner_id=partner.id,
            message_id=header.message_id,
            seq=header.seq,
            received_at=now,
            created_at=now.fromtimestamp(header.created, now.tzinfo),
            content_type=header.content_type,
            bundle_id=report.bundle_id,
            title=title_of(report.bundle),
            tlp=report.tlp.label,
            object_count=report.object_count,
            envelope=envelope,
            envelope_sha256=digest,
            signed_ct=node.data_key.seal(verified.signed_message, signed_context(inbound_id)),
            receipt=receipt,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"message {header.message_id} (seq {header.seq}) collides with one already stored; "
            "retry to receive the stored receipt"
        ) from exc
    return Acceptance(receipt, duplicate=False, inbound_id=inbound_id)


@dataclass(frozen=True, slots=True)
class SignedAnswer:
    body: bytes
    headers: dict[str, str]


def receive_envelope(
    node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """Handle ``POST /federation/v1/envelopes``: everything between the route and the database.

    Raises:
        FederationRejected: any authentication or envelope verification failure (audited).
        Conflict, Unprocessable: see :func:`ingest` (audited).
    """
    actor = Actor("partner", "unauthenticated", None, remote_addr)
    try:
        with node.db.transaction() as session:
            partner = authenticate_partner(session, node, request)
            actor = Actor(
                "partner", f"{partner.node_id}/{partner.signing_key_id}", None, remote_addr
            )
            accepted = ingest(session, node, partner, request.body)
            audit.record(
                session,
                actor=actor,
                action="report.receive",
                outcome=audit.ALLOWED,
                at=node.utcnow(),
                object_type="inbound",
                object_id=accepted.inbound_id,
                reason="duplicate: stored receipt re-sent" if accepted.duplicate else None,
            )
    except CryptoError as exc:
        _record_refusal(node, actor, exc.diagnostics())
        raise FederationRejected("rejected") from exc
    except ServiceError as exc:
        _record_refusal(node, actor, exc.diagnostics())
        raise
    response = httpsig.HttpResponseParts(
        200, {"content-type": RECEIPT_MEDIA_TYPE}, accepted.receipt
    )
    headers = httpsig.sign_response(
        response,
        request,
        key=node.identity.signing,
        keyid=node.identity.signing.public.key_id,
        now=node.now(),
    )
    return SignedAnswer(accepted.receipt, {"content-type": RECEIPT_MEDIA_TYPE, **headers})


def _record_refusal(node: Node, actor: Actor, reason: str) -> None:
    with node.db.transaction() as session:
        audit.record(
            session,
            actor=actor,
            action="federation.refuse",
            outcome=audit.DENIED,
            at=node.utcnow(),
            reason=reason,
        )
