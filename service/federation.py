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
    message id) settles concurrent duplicates. The partner's inbound policy decides whether the
    report enters the inbox or the quarantine (``service.quarantine``); either way it was
    delivered, and the receipt says so.

Every verification failure answers the peer ``401 rejected`` and records the precise reason.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.envelope import VerifiedEnvelope, open_envelope, parse_header, verify_signed_message
from crypto.errors import CryptoError, UnknownKey
from crypto.receipt import issue_receipt
from service import audit, provenance, quarantine, stix
from service.audit import Actor
from service.errors import Conflict, FederationRejected, ServiceError, Unprocessable
from service.models import Inbound, Nonce, Partner
from service.node import Node
from service.partners import pinned_key
from service.problems import PROBLEM_MEDIA_TYPE, problem_body
from service.reports import seal_title, signed_context, title_of

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
    seq: int
    row: Inbound | None = None  # the new row (None for a duplicate)


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
    if existing is not None and hmac.compare_digest(existing.envelope_sha256, digest):
        return Acceptance(existing.receipt, True, existing.id, existing.seq)
    # F4
    verified = open_envelope(
        envelope,
        recipient=node.identity,
        senders={partner.node_id: pinned_key(partner)},
        now=node.now(),
        max_bytes=node.settings.max_envelope_bytes,
        max_skew=node.settings.clock_skew,
    )
    if existing is not None:
        return _resealed_copy(session, node, partner, existing, verified)
    try:
        report = stix.validate_report(verified.body, max_bytes=node.settings.max_envelope_bytes)
    except stix.StixError as exc:
        raise Unprocessable(exc.detail, code=exc.code, errors=exc.messages) from exc
    # F5
    judgement = quarantine.judge(session, node, partner.node_id, report, len(verified.body))
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
    row = Inbound(
        id=inbound_id,
        partner_id=partner.id,
        message_id=header.message_id,
        seq=header.seq,
        received_at=now,
        created_at=now.fromtimestamp(header.created, now.tzinfo),
        content_type=header.content_type,
        bundle_id=report.bundle_id,
        title_ct=seal_title(node, "inbound", inbound_id, title_of(report.bundle)),
        tlp=report.tlp.label,
        object_count=report.object_count,
        envelope=envelope,
        envelope_sha256=digest,
        signed_ct=node.data_key.seal(verified.signed_message, signed_context(inbound_id)),
        receipt=receipt,
    )
    judgement.apply(row)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"message {header.message_id}: sequence number {header.seq} is already taken by "
            "another message from this partner"
        ) from exc
    provenance.record_received(session, inbound_id, judgement.object_ids)
    return Acceptance(receipt, False, inbound_id, header.seq, row)


def advance_cursor(session: Session, partner: Partner, void: frozenset[int] = frozenset()) -> None:
    """Move ``received_through`` over every sequence number that has now arrived (or that the
    sender declared void: a delivery it gave up on)."""
    while True:
        following = partner.received_through + 1
        arrived = session.scalar(
            select(Inbound.id).where(Inbound.partner_id == partner.id, Inbound.seq == following)
        )
        if arrived is None and following not in void:
            return
        partner.received_through = following


def store_envelope(
    node: Node,
    partner_id: int,
    envelope: bytes,
    actor: Actor,
    via: str,
    session: Session | None = None,
) -> Acceptance:
    """F2-F5 for one envelope from a known partner, with its audit record and the cursor update,
    in one transaction (``session``'s, or a new one). Used by push, pull and courier import.

    Raises:
        CryptoError, Conflict, Unprocessable: see :func:`ingest`.
    """
    if session is None:
        with node.db.transaction() as new_session:
            return store_envelope(node, partner_id, envelope, actor, via, new_session)
    # One ingest per partner at a time: the cursor below is read and written.
    partner = session.scalar(select(Partner).where(Partner.id == partner_id).with_for_update())
    assert partner is not None
    accepted = ingest(session, node, partner, envelope)
    row = accepted.row
    reason = "duplicate: stored receipt re-sent" if row is None else row.status
    if via != "push":
        reason = f"{reason} (via {via})"
    audit.record(
        session,
        actor=actor,
        action="report.receive",
        outcome=audit.ALLOWED,
        at=node.utcnow(),
        object_type="inbound",
        object_id=accepted.inbound_id,
        reason=reason,
        policy_version=row.policy_version if row is not None else None,
    )
    if row is not None:
        quarantine.record(session, node, actor, row)
    advance_cursor(session, partner)
    if accepted.seq > partner.received_through:
        node.request_pull()  # a gap below this one: ask the partner for what is missing
    return accepted


def _resealed_copy(
    session: Session, node: Node, partner: Partner, existing: Inbound, verified: VerifiedEnvelope
) -> Acceptance:
    """F3, second case: a message id we hold, in other bytes. A sender re-seals an envelope
    whose lifetime ran out before it learnt of our receipt; if the new one carries the same
    sequence number and the same signed report, we keep our single copy and sign a receipt for
    the new bytes, so the sender can close the delivery. Anything else is a conflict."""
    stored = node.data_key.open(existing.signed_ct, signed_context(existing.id))
    _, stored_body = verify_signed_message(stored, pinned_key(partner))
    if verified.header.seq != existing.seq or not hmac.compare_digest(
        hashlib.sha256(stored_body).digest(), hashlib.sha256(verified.body).digest()
    ):
        raise Conflict(
            f"message {verified.header.message_id} was already received with other content"
        )
    receipt = issue_receipt(
        key=node.identity.signing,
        message_id=verified.header.message_id,
        envelope_sha256=verified.digest,
        sender=partner.node_id,
        receiver=node.node_id,
        received_at=node.now(),
    )
    return Acceptance(receipt, True, existing.id, existing.seq)


@dataclass(frozen=True, slots=True)
class SignedAnswer:
    body: bytes
    headers: dict[str, str]
    status: int = 200


def handle_signed(
    node: Node,
    request: httpsig.HttpRequestParts,
    remote_addr: str | None,
    work: Callable[[Session, Partner], bytes],
    media_type: str = "application/json",
) -> SignedAnswer:
    """F1 for any partner request, then ``work`` in the same transaction, then a signed answer.

    Once the partner is authenticated, a refusal by ``work`` (a conflict, content we will not
    accept) is answered as a *signed* problem: the sender gives a delivery up only on a refusal
    whose signature it verifies, so nobody on the path can forge one to make it stop trying.

    Raises:
        FederationRejected: any verification failure (audited; the peer hears "rejected").
    """
    actor = Actor("partner", "unauthenticated", None, remote_addr)
    authenticated = False
    try:
        with node.db.transaction() as session:
            partner = authenticate_partner(session, node, request)
            authenticated = True
            actor = Actor(
                "partner", f"{partner.node_id}/{partner.signing_key_id}", None, remote_addr
            )
            body = work(session, partner)
    except CryptoError as exc:
        _record_refusal(node, actor, f"{request.target_uri}: {exc.diagnostics()}")
        raise FederationRejected("rejected") from exc
    except ServiceError as exc:
        _record_refusal(node, actor, f"{request.target_uri}: {exc.diagnostics()}")
        if not authenticated:
            raise
        return _signed(node, request, exc.status, PROBLEM_MEDIA_TYPE, problem_body(exc))
    return _signed(node, request, 200, media_type, body)


def _signed(
    node: Node, request: httpsig.HttpRequestParts, status: int, media_type: str, body: bytes
) -> SignedAnswer:
    response = httpsig.HttpResponseParts(status, {"content-type": media_type}, body)
    headers = httpsig.sign_response(
        response,
        request,
        key=node.identity.signing,
        keyid=node.identity.signing.public.key_id,
        now=node.now(),
    )
    return SignedAnswer(body, {"content-type": media_type, **headers}, status)


def receive_envelope(
    node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """Handle ``POST /federation/v1/envelopes``: F1-F5 and the signed receipt.

    Raises:
        FederationRejected: any authentication or envelope verification failure (audited).
    A conflict or unacceptable content is a signed problem answer (see :func:`handle_signed`).
    """

    def work(session: Session, partner: Partner) -> bytes:
        actor = Actor("partner", f"{partner.node_id}/{partner.signing_key_id}", None, remote_addr)
        return store_envelope(node, partner.id, request.body, actor, "push", session).receipt

    return handle_signed(node, request, remote_addr, work, RECEIPT_MEDIA_TYPE)


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
