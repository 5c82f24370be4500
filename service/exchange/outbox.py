"""The durable outbox: delivery jobs, who holds them, and how they end.

A delivery is one report addressed to one partner. It is created with the report, in the same
transaction, and lives in the database until a valid signed receipt arrives, however that happens:
a push answered with a receipt (``service.exchange.push``), a partner pulling what it missed and
sending receipts back (``service.exchange.pull``), or envelopes and receipts carried by an offline
courier (``service.exchange.courier``).

Exactly-once effect rests on three rules:

* The envelope is sealed once, on the first attempt, and stored; every later attempt, pull or
  courier export sends those same bytes, so every receipt names the same digest and the receiver
  recognises a repeat by (sender, message id) and the digest.
* A delivery is marked acknowledged only by a receipt that passes C1-C4 (docs/protocol.md).
* Workers claim due deliveries with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
  serialises writers instead), so replicas sharing a database never hold the same delivery at the
  same time, and a crashed worker's lease expires so another takes its jobs over.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from crypto.encoding import b64u_decode
from crypto.envelope import parse_header, seal
from crypto.errors import CryptoError, MalformedInput, UnknownKey
from crypto.keydoc import PublishedKemKey
from crypto.receipt import MAX_RECEIPT_BYTES, VerifiedReceipt, verify_receipt
from crypto.signed_json import load_signed
from service.audit import ALLOWED, DENIED, Actor, record
from service.keyring import pinned_key
from service.models import Delivery, Partner
from service.node import Node
from service.reports import (
    PENDING,
    STIX_MEDIA_TYPE,
    VOID,
    DeliveryState,
    collections,
    own_body,
    released_body,
    still_released,
)

QUEUED, SENT = DeliveryState.QUEUED, DeliveryState.SENT
ACKNOWLEDGED, REFUSED = DeliveryState.ACKNOWLEDGED, DeliveryState.REFUSED
RESEAL_MARGIN_SECONDS = 24 * 3600


def claim_due(node: Node, owner: str, limit: int) -> list[int]:
    """Lease up to ``limit`` due deliveries to ``owner``; returns their ids.

    Due means pending, its next attempt time reached, and not leased to anyone (or the lease has
    expired). Rows other workers are claiming at this moment are skipped, not waited for.
    """
    now = node.utcnow()
    until = now + timedelta(seconds=node.settings.delivery_lease_seconds)
    active = select(Partner.id).where(Partner.suspended_at.is_(None))
    due = (
        select(Delivery.id)
        .where(
            Delivery.partner_id.in_(active),
            Delivery.state.in_(PENDING),
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with node.db.write() as session:
        ids = list(session.scalars(due))
        if not ids:
            return []
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(ids),
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=until)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed.scalars())


def holds_lease(delivery: Delivery, owner: str, node: Node) -> bool:
    return (
        delivery.lease_owner == owner
        and delivery.lease_until is not None
        and delivery.lease_until > node.utcnow()
    )


def renew_lease(node: Node, delivery: Delivery) -> None:
    """Extend the holder's lease by ``delivery_lease_seconds`` from now (before each send)."""
    delivery.lease_until = node.utcnow() + timedelta(seconds=node.settings.delivery_lease_seconds)


def release(delivery: Delivery) -> None:
    delivery.lease_owner = None
    delivery.lease_until = None


def needs_sealing(node: Node, delivery: Delivery) -> bool:
    """True when there is no envelope yet, or the stored one would not do any more, so that it
    is sealed again, same message id, seq and report, new bytes (docs/protocol.md F3):

    * it expires within a day (or within a seventh of its lifetime, if shorter): the receiver
      would refuse it as stale;
    * it is sealed to an encryption key the partner no longer publishes (it was re-pinned, or
      dropped the key), or signed by a key that is not this node's signing key now.
    """
    if delivery.envelope is None:
        return True
    header, _ = parse_header(delivery.envelope, max_bytes=len(delivery.envelope))
    margin = min(RESEAL_MARGIN_SECONDS, (header.expires - header.created) // 7)
    if header.expires - margin <= node.now():
        return True
    if header.sender_key != node.identity.signing.public.key_id:
        return True
    published = node.keyring.partner_document(delivery.partner).encryption_keys
    return header.recipient_key not in {key.kid for key in published}


def seal_delivery(session: Session, node: Node, delivery: Delivery, key: PublishedKemKey) -> bool:
    """Seal the delivery's release to ``key`` and store the envelope, unless a fresh one exists.

    Returns False, sealing nothing, when the release is withheld instead: before the first
    sealing, a release decided under a policy that has changed since is decided again
    (``service.reports.still_released``).
    """
    if not needs_sealing(node, delivery):
        return True
    if delivery.envelope is None and not still_released(session, node, delivery):
        return False
    report = delivery.report
    assert delivery.seq is not None, "a held release has no sequence number and is never sealed"
    first = delivery.envelope is None
    body = released_body(node, delivery, own_body(node, report))
    sealed = seal(
        sender=node.identity,
        recipient_id=delivery.partner.node_id,
        recipient_key=key,
        body=body,
        content_type=STIX_MEDIA_TYPE,
        message_id=delivery.message_id,
        seq=delivery.seq,
        now=node.now(),
        lifetime=node.settings.envelope_lifetime,
    )
    delivery.envelope = sealed.data
    delivery.envelope_sha256 = sealed.digest
    if first:  # the released copy is fixed now: it is what the partner's "sent" collection holds
        collections.add_release(session, node, delivery, body)
    return True


def mark_sent(session: Session, node: Node, delivery: Delivery, via: str) -> None:
    """Count an attempt; the first one is recorded in the audit log as the send."""
    first = delivery.sent_at is None
    delivery.attempts += 1
    if delivery.state == QUEUED:
        delivery.state = SENT
    delivery.sent_at = delivery.sent_at or node.utcnow()
    if first:
        record(session, actor=Actor.system(), action="report.send", outcome=ALLOWED,
               at=node.utcnow(), object_type="delivery", object_id=delivery.message_id,
               reason=f"to {delivery.partner.node_id} by {via}")  # fmt: skip


def accept_receipt(
    session: Session, node: Node, delivery: Delivery, receipt: bytes, via: str
) -> VerifiedReceipt:
    """Verify a receipt for ``delivery`` (C1-C4) and mark it acknowledged.

    A receipt for a delivery that is already acknowledged is verified as well and then changes
    nothing: the first receipt is the one kept.

    Raises:
        CryptoError: the receipt does not verify or names another envelope.
    """
    assert delivery.envelope_sha256 is not None, "a receipt for an envelope never sealed"
    if delivery.partner.suspended_at is not None:
        suspended = delivery.partner.node_id
        raise UnknownKey(f"partner {suspended} is suspended: its receipts count for nothing")
    verified = verify_receipt(
        receipt,
        receiver_key=pinned_key(delivery.partner),
        expected_receiver=delivery.partner.node_id,
        expected_sender=node.node_id,
        expected_message_id=delivery.message_id,
        expected_envelope_sha256=delivery.envelope_sha256,
        now=node.now(),
        max_skew=node.settings.clock_skew,
    )
    if delivery.state != ACKNOWLEDGED:
        delivery.state = ACKNOWLEDGED
        delivery.receipt = verified.raw
        delivery.acknowledged_at = node.utcnow()
        delivery.acknowledged_via = via
        delivery.last_error = None
        release(delivery)
        record(session, actor=Actor.partner(delivery.partner.node_id), action="receipt.accept",
               outcome=ALLOWED, at=node.utcnow(), object_type="delivery",
               object_id=delivery.message_id, reason=f"via {via}")  # fmt: skip
    return verified


def mark_refused(session: Session, node: Node, delivery: Delivery, reason: str) -> None:
    delivery.state = REFUSED
    delivery.last_error = reason[:2000]
    release(delivery)
    record(session, actor=Actor.partner(delivery.partner.node_id), action="report.refused",
           outcome=DENIED, at=node.utcnow(), object_type="delivery",
           object_id=delivery.message_id, reason=reason)  # fmt: skip


def schedule_retry(node: Node, delivery: Delivery, reason: str) -> None:
    """Try again later: exponential backoff from ``retry_base_seconds`` up to
    ``retry_max_seconds``, with full jitter between half and all of the delay so that many
    deliveries failing together do not come back together."""
    settings = node.settings
    exponent = max(delivery.attempts - 1, 0)
    delay = min(settings.retry_base_seconds * 2 ** min(exponent, 30), settings.retry_max_seconds)
    delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
    delivery.last_error = reason[:2000]
    delivery.next_attempt_at = node.utcnow() + timedelta(seconds=delay)
    release(delivery)


def pullable(session: Session, partner_id: int, after_seq: int, limit: int) -> list[Delivery]:
    """Deliveries to a partner with a sequence number above ``after_seq``, lowest first: what a
    partner that pulls is given. Acknowledged ones are included (a partner restored from a backup
    has lost them); refused and withheld ones are not. The rows are locked, so that a worker
    pushing one of them at this moment cannot seal it a second time."""
    query = (
        select(Delivery)
        .where(
            Delivery.partner_id == partner_id,
            Delivery.seq > after_seq,
            Delivery.state.not_in(VOID),
        )
        .order_by(Delivery.seq)
        .limit(limit)
        .with_for_update(of=Delivery)
    )
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class ReceiptCounts:
    accepted: int
    unknown: int
    invalid: int


def accept_receipts(
    session: Session,
    node: Node,
    partner_id: int,
    encoded: list[object],
    *,
    via: str,
    actor: Actor,
) -> ReceiptCounts:
    """Check a batch of receipts from one partner (base64url strings), each against the envelope
    stored for the message id it names (C1-C4), in a savepoint of its own. Receipts for message
    ids we never sent to this partner are counted unknown; any that fail are counted invalid and
    audited; none of them aborts the batch."""
    accepted = unknown = invalid = 0
    for index, item in enumerate(encoded):
        try:
            raw = b64u_decode(item, field=f"receipt {index}")
            unverified, _ = load_signed(raw, "receipt", max_bytes=MAX_RECEIPT_BYTES)
            message_id = unverified.get("message_id")
            if not isinstance(message_id, str):
                raise MalformedInput("the receipt names no message id")
            delivery = session.scalar(
                select(Delivery)
                .where(Delivery.partner_id == partner_id, Delivery.message_id == message_id)
                .with_for_update(of=Delivery)
            )
            if delivery is None or delivery.envelope_sha256 is None:
                unknown += 1
                continue
            with session.begin_nested():
                accept_receipt(session, node, delivery, raw, via)
            accepted += 1
        except CryptoError as exc:
            invalid += 1
            record(session, actor=actor, action="receipt.refuse", outcome=DENIED,
                   at=node.utcnow(),
                   reason=f"{via} receipt {index}: {exc.diagnostics()}")  # fmt: skip
    return ReceiptCounts(accepted, unknown, invalid)


def refused_seqs(session: Session, partner_id: int, after_seq: int, limit: int) -> list[int]:
    """Sequence numbers above ``after_seq`` of deliveries to this partner that will never reach
    it: refused by it, or withheld before sending (``VOID``)."""
    query = (
        select(Delivery.seq)
        .where(Delivery.partner_id == partner_id, Delivery.seq > after_seq,
               Delivery.state.in_(VOID))
        .order_by(Delivery.seq)
        .limit(limit)
    )  # fmt: skip
    return list(session.scalars(query))
