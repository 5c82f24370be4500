"""Removing a partner: the partnership ends, the records stay.

``liaison partner remove SY --yes`` suspends the partner for good (everything a suspension
refuses stays refused: ``service.exchange.suspension``) and withdraws every delivery to it that
has not been acknowledged: held, queued and sent ones become ``withheld`` with the reason, so
officers see that they will not arrive. Nothing is deleted: received reports, receipts, the keys
it was pinned to and the audit log stay, as evidence and for the auditors. It no longer shows
among the partners an officer can send to, and ``resume`` refuses it; ``partner repin`` pins it
again (with the fingerprint check of ``partner add``), still suspended. Recorded as
``partner.remove``, and so is a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import ALLOWED, Actor, record, refusal_recorded
from service.errors import Conflict
from service.exchange import outbox
from service.identity import get_partner
from service.models import Delivery, Partner
from service.node import Node
from service.reports import PENDING, DeliveryState


@dataclass(frozen=True, slots=True)
class Removal:
    partner: Partner
    withdrawn: int
    """Deliveries to it that will not be sent now (held, queued or sent without a receipt)."""


def remove_partner(session: Session, node: Node, node_id: str, *, actor: Actor) -> Removal:
    """Remove ``node_id`` (see the module's docstring).

    Raises:
        NotFound: no such partner.
        Conflict: already removed (``already_removed``).
    """
    with refusal_recorded(actor, "partner.remove", node.utcnow, object_type="partner",
                          object_id=node_id[:63]):  # fmt: skip
        partner = get_partner(session, node_id, lock=True)
        if partner.removed_at is not None:
            raise Conflict(f"partner {node_id} was already removed on "
                           f"{partner.removed_at.isoformat()}", code="already_removed")  # fmt: skip
    now = node.utcnow()
    partner.suspended_at = partner.suspended_at or now
    partner.removed_at = now
    open_states = (*PENDING, DeliveryState.HELD)
    withdrawn = list(session.scalars(
        select(Delivery)
        .where(Delivery.partner_id == partner.id, Delivery.state.in_(open_states))
        .with_for_update(of=Delivery)
    ))  # fmt: skip
    for delivery in withdrawn:
        sent = delivery.state == DeliveryState.SENT
        delivery.state = DeliveryState.WITHHELD
        maybe = " (it may have received it: no receipt came)" if sent else ""
        delivery.last_error = f"partner {node_id} was removed{maybe}"
        outbox.release(delivery)
    record(session, actor=actor, action="partner.remove", outcome=ALLOWED, at=now,
           object_type="partner", object_id=partner.node_id,
           reason=f"{len(withdrawn)} deliveries withdrawn; records kept")  # fmt: skip
    return Removal(partner, len(withdrawn))
