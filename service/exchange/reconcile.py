"""Reconciling with a partner: what we sent against what it signed as received, and the reverse,
by message id (``liaison audit reconcile --partner SY``).

The partner answers ``POST /federation/v1/audit/reconcile`` (signed request, signed answer) with
two lists about us: the messages it stored from us (message id, seq, digest of the envelope as
received) and the messages it addressed to us (message id, seq, state). We compare them with our
deliveries to it (and the receipts it signed for them) and with what we stored from it. Every
difference is listed; none is resolved silently:

* ``receipt_but_not_received``: we hold the partner's signed receipt, it does not list the message
  (it lost or removed it; our receipt is the evidence);
* ``received_but_not_sent``: it lists a message from us that we never sent (a forgery, or a
  restore of our database);
* ``received_without_receipt``: it lists the message but we hold no receipt yet (in flight, or the
  receipt was lost: a pull round will bring it);
* ``acknowledged_but_not_held``: it holds our signed receipt for a message we no longer hold (we
  lost or removed it; its copy of our receipt is the evidence); a message it has sent but not had
  acknowledged yet is pending, not a discrepancy;
* ``received_but_not_listed``: we hold a message from it that it does not list as sent to us.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.canonical import canonicalize
from crypto.encoding import b64u_encode
from crypto.errors import CryptoError, MalformedInput
from service.audit import ALLOWED, ERROR, Actor, record
from service.errors import BadRequest, PartnerUnreachable, ServiceError
from service.federation import PartnerClient, PartnerContact, SignedAnswer, handle_signed
from service.identity import get_partner
from service.models import Delivery, Inbound, Partner
from service.node import Node
from service.reports import DeliveryState

MAX_ENTRIES = 100_000


def serve(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """What we hold from the calling partner, and what we addressed to it."""

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        if request.body.strip() != b"{}":
            raise BadRequest("the body is {}")
        received = [
            {"message_id": m, "seq": s, "envelope_sha256": b64u_encode(d)}
            for m, s, d in session.execute(
                select(Inbound.message_id, Inbound.seq, Inbound.envelope_sha256)
                .where(Inbound.partner_id == partner.id)
                .order_by(Inbound.seq)
                .limit(MAX_ENTRIES + 1)
            )
        ]
        sent = [
            {"message_id": m, "seq": s, "state": st}
            for m, s, st in session.execute(
                select(Delivery.message_id, Delivery.seq, Delivery.state)
                .where(Delivery.partner_id == partner.id, Delivery.seq.is_not(None))
                .order_by(Delivery.seq)
                .limit(MAX_ENTRIES + 1)
            )
        ]
        record(session, actor=Actor.partner(partner.node_id, remote_addr),
               action="audit.reconcile", outcome=ALLOWED, at=node.utcnow(),
               object_type="partner", object_id=partner.node_id,
               reason=f"{len(received)} received, {len(sent)} sent")  # fmt: skip
        return canonicalize(
            {
                "received_from_you": received[:MAX_ENTRIES],
                "sent_to_you": sent[:MAX_ENTRIES],
                "complete": len(received) <= MAX_ENTRIES and len(sent) <= MAX_ENTRIES,
            }
        )

    return handle_signed(session, node, request, remote_addr, work)


@dataclass
class Reconciliation:
    partner: str
    sent_matched: int = 0
    sent_pending: int = 0
    received_matched: int = 0
    received_pending: int = 0
    complete: bool = True
    discrepancies: list[dict[str, Any]] = field(default_factory=list)

    def add(self, direction: str, message_id: str, seq: int | None, kind: str, detail: str) -> None:
        self.discrepancies.append({"direction": direction, "message_id": message_id, "seq": seq,
                                   "kind": kind, "detail": detail})  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "sent": {"matched": self.sent_matched, "pending": self.sent_pending},
            "received": {"matched": self.received_matched, "pending": self.received_pending},
            "complete": self.complete,
            "discrepancies": self.discrepancies,
        }


def _entries(answer: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = answer.get(key)
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("message_id"), str) for i in items
    ):
        raise MalformedInput(f"a reconcile answer lists '{key}' with message ids")
    return items


def _last_seq(items: dict[str, dict[str, Any]]) -> int:
    seqs = [i["seq"] for i in items.values() if isinstance(i.get("seq"), int)]
    return max(seqs, default=0)


def compare(session: Session, partner: Partner, answer: dict[str, Any]) -> Reconciliation:
    """Our records against the partner's answer (the kinds in the module text)."""
    result = Reconciliation(partner.node_id)
    theirs_received = {i["message_id"]: i for i in _entries(answer, "received_from_you")}
    theirs_sent = {i["message_id"]: i for i in _entries(answer, "sent_to_you")}
    result.complete = answer.get("complete") is not False
    # With a truncated answer, only sequence numbers up to the last one listed can be compared.
    limit_received = _last_seq(theirs_received) if not result.complete else None
    limit_sent = _last_seq(theirs_sent) if not result.complete else None
    ours_sent = {
        d.message_id: d
        for d in session.scalars(
            select(Delivery).where(
                Delivery.partner_id == partner.id, Delivery.state != DeliveryState.HELD
            )
        )
    }
    for message_id, d in ours_sent.items():
        if limit_received is not None and (d.seq is None or d.seq > limit_received):
            continue
        listed = message_id in theirs_received
        if d.receipt is not None and not listed:
            result.add("sent", message_id, d.seq, "receipt_but_not_received",
                       f"{partner.node_id} signed a receipt for it (acknowledged "
                       f"{d.acknowledged_at}) but does not list it as received")  # fmt: skip
        elif d.receipt is None and listed:
            result.add(
                "sent",
                message_id,
                d.seq,
                "received_without_receipt",
                f"{partner.node_id} lists it as received; we hold no receipt yet",
            )
        elif listed:
            result.sent_matched += 1
        else:
            result.sent_pending += 1
    for message_id, item in theirs_received.items():
        if message_id not in ours_sent:
            result.add("sent", message_id, item.get("seq"), "received_but_not_sent",
                       f"{partner.node_id} lists a message from us that we never sent")  # fmt: skip
    ours_received = {
        m: s
        for m, s in session.execute(
            select(Inbound.message_id, Inbound.seq).where(Inbound.partner_id == partner.id)
        )
    }
    for message_id, item in theirs_sent.items():
        state = item.get("state")
        if message_id in ours_received:
            result.received_matched += 1
        elif state == DeliveryState.ACKNOWLEDGED:
            result.add(
                "received",
                message_id,
                item.get("seq"),
                "acknowledged_but_not_held",
                f"{partner.node_id} holds our receipt for it; we do not hold it",
            )
        elif state in (DeliveryState.QUEUED, DeliveryState.SENT):
            result.received_pending += 1
    for message_id, seq in ours_received.items():
        if limit_sent is not None and seq > limit_sent:
            continue
        if message_id not in theirs_sent:
            result.add(
                "received",
                message_id,
                seq,
                "received_but_not_listed",
                f"we hold it from {partner.node_id}, which does not list it as sent",
            )
    return result


async def reconcile(node: Node, partner_node_id: str, actor: Actor) -> Reconciliation:
    """Ask ``partner_node_id`` for its lists and compare them with ours (recorded). Our side is
    read in a read transaction after the partner answered; none is open while it is asked.

    Raises:
        NotFound: the partner is not pinned.
        PartnerUnreachable: the exchange failed (``reconcile_failed``).
    """

    # The database is reached from a worker thread, never from the event loop: a read's audit
    # record is appended in a write transaction, which may wait for SQLite's writer lock, and a
    # loop blocked there would stall the very request that holds the lock.
    def contact_of() -> PartnerContact:
        with node.db.read() as session:
            return PartnerContact.of(get_partner(session, partner_node_id), node.keyring)

    contact = await asyncio.to_thread(contact_of)
    try:
        async with PartnerClient.open(node) as client:
            answer = await client.reconcile(contact)
    except (httpx.HTTPError, CryptoError, ServiceError) as exc:
        reason = exc.diagnostics() if isinstance(exc, CryptoError | ServiceError) else repr(exc)
        raise PartnerUnreachable(
            f"asking {partner_node_id} for its records failed: {reason}", code="reconcile_failed"
        ) from exc

    def ours() -> Reconciliation:
        with node.db.read() as session:
            partner = get_partner(session, partner_node_id)
            result = compare(session, partner, answer)
            record(session, actor=actor, action="audit.reconcile",
                   outcome=ALLOWED if not result.discrepancies else ERROR,
                   at=node.utcnow(), object_type="partner", object_id=partner_node_id,
                   reason=f"{result.sent_matched} sent and {result.received_matched} received "
                   f"match, {len(result.discrepancies)} discrepancies")  # fmt: skip
            return result

    return await asyncio.to_thread(ours)
