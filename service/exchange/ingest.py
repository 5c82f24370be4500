"""Receiving envelopes: open, verify, store once, sign a receipt (docs/protocol.md section 6).

The same steps whichever way an envelope arrives (pushed to us, pulled by us, imported from a
courier file), after F1 has authenticated the partner (``service.federation.server``):

F2. The envelope's sender must be that partner: a partner cannot relay another node's envelope.
F3. A message id already stored for that partner is answered with the stored receipt when the
    envelope is byte-for-byte the same (a retry after a lost receipt), and refused otherwise
    (unless it is the same report re-sealed, :func:`_resealed_copy`).
F4. The envelope is opened and verified (R1-R11) and its STIX content validated.
F5. The envelope exactly as received and the signed message (encrypted at rest) are stored with
    the receipt and an audit record, in one transaction. The unique constraint on (partner,
    message id) settles concurrent duplicates. The partner's inbound policy decides whether the
    report enters the inbox or the quarantine (``service.reports.judge``); either way it was
    delivered, and the receipt says so.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.envelope import VerifiedEnvelope, open_envelope, parse_header, verify_signed_message
from crypto.errors import UnknownKey
from crypto.receipt import issue_receipt
from service.audit import ALLOWED, Actor, record
from service.errors import Conflict, Unprocessable
from service.federation import SignedAnswer, handle_signed, wire
from service.keyring import pinned_key
from service.models import Inbound, Partner
from service.node import Node
from service.reports import (
    Route,
    collections,
    judge,
    record_quarantine,
    record_received,
    seal_title,
    sender_key,
    signed_context,
    stix,
    title_of,
)

SEQ_TAKEN = "seq_taken"
"""The code of the conflict when another message holds the sequence number: never the case
between honest nodes, so it is what a thief's forgery under the sender's keys causes. The sender
retries instead of giving up, and once the partner is re-pinned the number is free (K8)."""


@dataclass(frozen=True, slots=True)
class Acceptance:
    receipt: bytes
    duplicate: bool
    inbound_id: str
    seq: int
    row: Inbound | None = None  # the new row (None for a duplicate)
    revouched: bool = False
    """A duplicate that the pinned keys sent again after a re-pin: no longer distrusted."""


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
    if partner.suspended_at is not None:
        raise UnknownKey(f"partner {partner.node_id} is suspended: its signatures are not trusted")
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
        report = stix.validate_report(
            verified.body,
            max_bytes=node.settings.max_envelope_bytes,
            max_objects=node.settings.max_report_objects,
        )
    except stix.StixError as exc:
        raise Unprocessable(exc.detail, code=exc.code, errors=exc.messages) from exc
    # F5
    judgement = judge(session, node, partner.node_id, report, len(verified.body))
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
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"message {header.message_id}: sequence number {header.seq} is already taken by "
            "another message from this partner",
            code=SEQ_TAKEN,
        ) from exc
    record_received(session, inbound_id, judgement.object_ids)
    collections.add_inbound(session, node, row, report.bundle)
    return Acceptance(receipt, False, inbound_id, header.seq, row)


_CURSOR_RUN = 1000


def advance_cursor(session: Session, partner: Partner, void: frozenset[int] = frozenset()) -> None:
    """Move ``received_through`` over every sequence number that has now arrived (or that the
    sender declared void: a delivery it gave up on). A report distrusted at a re-pin does not
    count as arrived: the genuine partner is asked for that number again."""
    # One query for the run of numbers already stored above the cursor (an out-of-order
    # arrival can close a gap of many), not one query per number.
    while True:
        start = partner.received_through
        stored = set(
            session.scalars(
                select(Inbound.seq)
                .where(
                    Inbound.partner_id == partner.id,
                    Inbound.seq > start,
                    Inbound.distrusted_at.is_(None),
                )
                .order_by(Inbound.seq)
                .limit(_CURSOR_RUN)
            )
        )
        following = start + 1
        while following in stored or following in void:
            following += 1
        partner.received_through = following - 1
        if following - 1 - start < _CURSOR_RUN:
            return  # the number after the run is neither stored nor void


def store_envelope(
    session: Session, node: Node, partner_id: int, envelope: bytes, actor: Actor, via: str
) -> Acceptance:
    """F2-F5 for one envelope from a known partner, with its audit record and the cursor update,
    in ``session``'s transaction. Used by push, pull and courier import.

    Raises:
        CryptoError, Conflict, Unprocessable: see :func:`ingest`.
    """
    # One ingest per partner at a time: the cursor below is read and written.
    partner = session.scalar(select(Partner).where(Partner.id == partner_id).with_for_update())
    assert partner is not None
    accepted = ingest(session, node, partner, envelope)
    row = accepted.row
    reason = "duplicate: stored receipt re-sent" if row is None else str(row.status)
    if accepted.revouched:
        reason = "sent again under the keys pinned now: no longer distrusted (still for review)"
    if via != Route.PUSH:
        reason = f"{reason} (via {via})"
    record(
        session,
        actor=actor,
        action="report.receive",
        outcome=ALLOWED,
        at=node.utcnow(),
        object_type="inbound",
        object_id=accepted.inbound_id,
        reason=reason,
        policy_version=row.policy_version if row is not None else None,
    )
    if row is not None:
        record_quarantine(session, node, actor, row)
    advance_cursor(session, partner)
    if accepted.seq > partner.received_through:
        node.request_pull()  # a gap below this one: ask the partner for what is missing
    return accepted


def _resealed_copy(
    session: Session, node: Node, partner: Partner, existing: Inbound, verified: VerifiedEnvelope
) -> Acceptance:
    """F3, second case: a message id we hold, in other bytes. A sender re-seals an envelope
    whose lifetime ran out before it learnt of our receipt, or after it was re-pinned; if the
    new one carries the same sequence number and the same signed report, we keep our single copy
    and sign a receipt for the new bytes, so the sender can close the delivery. Anything else is
    a conflict. A copy distrusted at a re-pin (signed by the old keys after their compromise)
    that the keys pinned now send again is genuine: it is trusted again (K9)."""
    stored = node.data_key.open(existing.signed_ct, signed_context(existing.id))
    _, stored_body = verify_signed_message(stored, sender_key(existing))
    if verified.header.seq != existing.seq or not hmac.compare_digest(
        hashlib.sha256(stored_body).digest(), hashlib.sha256(verified.body).digest()
    ):
        raise Conflict(
            f"message {verified.header.message_id} was already received with other content"
        )
    revouched = existing.distrusted_at is not None
    if revouched:
        existing.distrusted_at = None
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:
            raise Conflict(f"sequence number {existing.seq} is already taken by another message "
                           "from this partner", code=SEQ_TAKEN) from exc  # fmt: skip
    receipt = issue_receipt(
        key=node.identity.signing,
        message_id=verified.header.message_id,
        envelope_sha256=verified.digest,
        sender=partner.node_id,
        receiver=node.node_id,
        received_at=node.now(),
    )
    return Acceptance(receipt, True, existing.id, existing.seq, revouched=revouched)


def receive_envelope(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """``POST /federation/v1/envelopes``: F1-F5 and the signed receipt, in ``session``.

    Raises:
        FederationRejected: any authentication or envelope verification failure (recorded).
    A conflict or unacceptable content is a signed problem answer (``handle_signed``).
    """

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        return store_envelope(session, node, partner.id, request.body, actor, Route.PUSH).receipt

    return handle_signed(session, node, request, remote_addr, work, wire.RECEIPT_MEDIA_TYPE)
