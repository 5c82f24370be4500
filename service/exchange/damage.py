"""The damage report after a partner's keys may have been copied at ``since``: what an attacker
holding them could read, and what they could have signed in the partner's name.

* **Sealed to the partner**: every envelope this node sealed to the partner's encryption keys,
  with the key it names (``recipient_key``) and when it was sealed (the header's ``created``).
  Those sealed from ``since`` on could be opened by whoever holds the copied keys, if they saw the
  traffic; those sealed before, only if their key was still in the copied file (KEM keys are kept
  until their window ends, then destroyed). Deliveries never sealed (held, withheld) exposed
  nothing.
* **Signed by the partner**: every report received from the partner from ``since`` on, with its
  state (a suspension with ``--compromised-since`` sent them back to quarantine).

Both are counted by TLP. Metadata only (ids, sequence numbers, TLP, times, key ids): no titles
or content, so an administrator may read it. Reading it is recorded (``partner.damage``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.envelope import parse_header
from service.audit import ALLOWED, Actor, record, refusal_recorded
from service.errors import BadRequest
from service.identity import get_partner
from service.models import Delivery, Inbound, Report
from service.node import Node


@dataclass(frozen=True, slots=True)
class SealedItem:
    report_id: str
    seq: int | None
    tlp: str
    state: str
    recipient_key: str
    sealed_at: datetime
    after_since: bool


@dataclass(frozen=True, slots=True)
class SignedItem:
    inbound_id: str
    seq: int
    tlp: str
    status: str
    sender_key: str
    received_at: datetime
    distrusted: bool = False
    """Signed by keys the partner no longer holds, after their compromise: never re-sent by the
    genuine partner since it was re-pinned (``service.exchange.repin``)."""


@dataclass(frozen=True, slots=True)
class DamageReport:
    partner: str
    since: datetime
    suspended_at: datetime | None
    sealed: list[SealedItem] = field(default_factory=list)
    signed: list[SignedItem] = field(default_factory=list)

    @property
    def sealed_after_by_tlp(self) -> dict[str, int]:
        return dict(Counter(item.tlp for item in self.sealed if item.after_since))

    @property
    def sealed_before_by_tlp(self) -> dict[str, int]:
        return dict(Counter(item.tlp for item in self.sealed if not item.after_since))

    @property
    def signed_by_tlp(self) -> dict[str, int]:
        return dict(Counter(item.tlp for item in self.signed))


def damage_report(
    session: Session, node: Node, node_id: str, since: datetime, actor: Actor
) -> DamageReport:
    """What the copied keys of partner ``node_id`` could expose or forge from ``since`` on; a
    refusal carries its ``partner.damage`` denial.

    Raises:
        NotFound: no such partner.
        BadRequest: ``since`` without a time zone, or in the future.
    """
    with refusal_recorded(actor, "partner.damage", node.utcnow, object_type="partner",
                          object_id=node_id[:63]):  # fmt: skip
        if since.tzinfo is None:
            raise BadRequest("give --since with its time zone, e.g. 2026-12-01T08:00Z")
        if since > node.utcnow():
            raise BadRequest("since is in the future")
        partner = get_partner(session, node_id)
    sealed = []
    deliveries = session.execute(
        select(Delivery, Report.tlp)
        .join(Report, Report.id == Delivery.report_id)
        .where(Delivery.partner_id == partner.id, Delivery.envelope.is_not(None))
        .order_by(Delivery.seq)
    )
    for delivery, tlp in deliveries:
        assert delivery.envelope is not None
        header, _ = parse_header(delivery.envelope, max_bytes=len(delivery.envelope))
        sealed_at = datetime.fromtimestamp(header.created, UTC)
        sealed.append(SealedItem(delivery.report_id, delivery.seq, tlp, delivery.state,
                                 header.recipient_key, sealed_at, sealed_at >= since))  # fmt: skip
    signed = []
    inbound = session.scalars(
        select(Inbound)
        .where(Inbound.partner_id == partner.id, Inbound.received_at >= since)
        .order_by(Inbound.seq)
    )
    for row in inbound:
        header, _ = parse_header(row.envelope, max_bytes=len(row.envelope))
        signed.append(SignedItem(row.id, row.seq, row.tlp, row.status, header.sender_key,
                                 row.received_at, row.distrusted_at is not None))  # fmt: skip
    report = DamageReport(partner.node_id, since, partner.suspended_at, sealed, signed)
    after = sum(report.sealed_after_by_tlp.values())
    record(session, actor=actor, action="partner.damage", outcome=ALLOWED, at=node.utcnow(),
           object_type="partner", object_id=partner.node_id,
           reason=f"since {since.isoformat()}: {after} of {len(sealed)} envelopes sealed after, "
                  f"{len(signed)} received reports signed in the window")  # fmt: skip
    return report
