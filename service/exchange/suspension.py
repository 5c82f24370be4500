"""Suspending a partner: when its keys may be in other hands (a copied key file), or while its
administrators recover.

While a partner is suspended the node trusts nothing its keys sign and sends it nothing:

* its signed requests are refused at F1 (``service.federation.server.authenticate_partner``),
  and envelopes from it at F2 whatever their route, courier files included
  (``service.exchange.ingest.ingest``), and so are its receipts (``outbox.accept_receipt``);
* the outbound queue is held, not dropped: no delivery to it is claimed, sealed or pushed
  (``outbox.claim_due``), no courier file is made for it, it is not pulled from or witnessed
  (``pull.pinned_partners``). Reports keep being submitted and queue up for it;
* with ``compromised_since``, every report it signed that arrived from then on goes back to
  quarantine for an officer's review (``reports.quarantine_signed_since``), out of the inbox
  and its TAXII collection; every cosignature it gave on this node's checkpoints from then on
  stops counting (kept as evidence: ``audit.checkpoints.distrust_cosignatures``); and its
  checkpoints this node cosigned from then on stop being what its log must extend
  (``witness.distrust_witnessed``), so that a size a thief pushed forward cannot make the
  genuine log look rolled back.

Resuming lets the held queue go out as it is. Each change is an audit record
(``partner.suspend``, ``partner.resume``) with what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.audit import ALLOWED, Actor, checkpoints, record, refusal_recorded
from service.errors import BadRequest, Conflict
from service.exchange.witness import distrust_witnessed
from service.identity import get_partner
from service.models import Delivery, Partner
from service.node import Node
from service.reports import PENDING, quarantine_signed_since


@dataclass(frozen=True, slots=True)
class Suspension:
    partner: Partner
    quarantined: list[str]
    held: int
    """Deliveries to the partner now held (pending, not sent)."""
    distrusted: int = 0
    """Cosignatures it gave on this node's checkpoints since the compromise, no longer counted."""
    rebased: int = 0
    """Its checkpoints this node cosigned since the compromise, no longer the baseline."""


def _held(session: Session, partner: Partner) -> int:
    pending = select(func.count()).select_from(Delivery)
    query = pending.where(Delivery.partner_id == partner.id, Delivery.state.in_(PENDING))
    return int(session.scalar(query) or 0)


def suspend_partner(
    session: Session,
    node: Node,
    node_id: str,
    *,
    actor: Actor,
    compromised_since: datetime | None = None,
    reason: str = "",
) -> Suspension:
    """Suspend a partner (see the module's docstring); a refusal carries its ``partner.suspend``
    denial.

    Raises:
        NotFound: no such partner.
        BadRequest: ``compromised_since`` in the future, or without a time zone.
        Conflict: already suspended (``already_suspended``).
    """
    with refusal_recorded(actor, "partner.suspend", node.utcnow, object_type="partner",
                          object_id=node_id[:63]):  # fmt: skip
        now = node.utcnow()
        if compromised_since is not None:
            if compromised_since.tzinfo is None:
                raise BadRequest(
                    "give --compromised-since with its time zone, e.g. 2026-12-01T08:00Z"
                )
            if compromised_since > now:
                raise BadRequest("compromised-since is in the future")
        partner = get_partner(session, node_id, lock=True)
        if partner.suspended_at is not None:
            began = partner.suspended_at.isoformat()
            raise Conflict(f"partner {node_id} is already suspended (since {began})",
                           code="already_suspended")  # fmt: skip
    partner.suspended_at = now
    partner.compromised_since = compromised_since
    partner.suspended_reason = reason.strip()[:2000] or None
    quarantined, distrusted, rebased = [], 0, 0
    if compromised_since is not None:
        quarantined = quarantine_signed_since(session, node, partner.id, partner.node_id,
                                              compromised_since, actor)  # fmt: skip
        distrusted = checkpoints.distrust_cosignatures(
            session, partner.node_id, int(compromised_since.timestamp()), now
        )
        rebased = distrust_witnessed(session, partner.id, compromised_since, now)
    held = _held(session, partner)
    since = f"compromised since {compromised_since.isoformat()}; " if compromised_since else ""
    why = f"; {partner.suspended_reason}" if partner.suspended_reason else ""
    record(session, actor=actor, action="partner.suspend", outcome=ALLOWED, at=now,
           object_type="partner", object_id=partner.node_id,
           reason=f"{since}{len(quarantined)} received reports back to quarantine; "
                  f"{distrusted} cosignatures and {rebased} witnessed checkpoints distrusted; "
                  f"{held} deliveries held{why}")  # fmt: skip
    return Suspension(partner, quarantined, held, distrusted, rebased)


def resume_partner(session: Session, node: Node, node_id: str, *, actor: Actor) -> Suspension:
    """End a suspension: the held queue goes out, the partner's signatures count again. The
    reports quarantined by the suspension stay quarantined for review. A refusal carries its
    ``partner.resume`` denial.

    Raises:
        NotFound: no such partner.
        Conflict: not suspended (``not_suspended``), or removed (``partner_removed``).
    """
    with refusal_recorded(actor, "partner.resume", node.utcnow, object_type="partner",
                          object_id=node_id[:63]):  # fmt: skip
        partner = get_partner(session, node_id, lock=True)
        if partner.removed_at is not None:
            raise Conflict(f"partner {node_id} was removed: partner repin {node_id} pins it "
                           "again first", code="partner_removed")  # fmt: skip
        if partner.suspended_at is None:
            raise Conflict(f"partner {node_id} is not suspended", code="not_suspended")
    began = partner.suspended_at
    partner.suspended_at = None
    partner.compromised_since = None
    partner.suspended_reason = None
    held = _held(session, partner)
    record(session, actor=actor, action="partner.resume", outcome=ALLOWED, at=node.utcnow(),
           object_type="partner", object_id=partner.node_id,
           reason=f"suspended since {began.isoformat()}; {held} deliveries go out")  # fmt: skip
    node.db.after_commit(session, node.wakeup.ring)  # the worker sends the held queue at once
    return Suspension(partner, [], held)
