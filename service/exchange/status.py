"""How synchronisation with one partner stands, for administrators (``liaison partner status``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Delivery, Inbound, Partner
from service.reports import PENDING


@dataclass(frozen=True, slots=True)
class PartnerStatus:
    partner: str
    # What we send them.
    backlog: int
    by_state: dict[str, int]
    oldest_undelivered_at: datetime | None
    next_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    next_seq: int
    # What they send us.
    received: int
    received_through: int
    highest_seq_received: int
    missing_below_highest: int
    last_received_at: datetime | None
    last_pull_at: datetime | None
    last_pull_error: str | None


def partner_status(session: Session, partner: Partner) -> PartnerStatus:
    by_state = dict(
        session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.partner_id == partner.id)
            .group_by(Delivery.state)
        ).all()
    )
    pending = (Delivery.partner_id == partner.id) & Delivery.state.in_(PENDING)
    oldest, next_attempt = session.execute(
        select(func.min(Delivery.created_at), func.min(Delivery.next_attempt_at)).where(pending)
    ).one()
    last_success = session.scalar(
        select(func.max(Delivery.acknowledged_at)).where(Delivery.partner_id == partner.id)
    )
    last_error = session.scalar(
        select(Delivery.last_error)
        .where(pending, Delivery.last_error.is_not(None))
        .order_by(Delivery.next_attempt_at.desc())
        .limit(1)
    )
    received, highest, last_received = session.execute(
        select(func.count(), func.max(Inbound.seq), func.max(Inbound.received_at)).where(
            Inbound.partner_id == partner.id, Inbound.distrusted_at.is_(None)
        )
    ).one()
    above_cursor = session.scalar(
        select(func.count()).where(
            Inbound.partner_id == partner.id, Inbound.seq > partner.received_through,
            Inbound.distrusted_at.is_(None),
        )
    )  # fmt: skip
    highest = highest or 0
    missing = max(0, highest - partner.received_through - (above_cursor or 0))
    return PartnerStatus(
        partner=partner.node_id,
        backlog=sum(by_state.get(s, 0) for s in PENDING),
        by_state={str(k): int(v) for k, v in by_state.items()},
        oldest_undelivered_at=oldest,
        next_attempt_at=next_attempt,
        last_success_at=last_success,
        last_error=last_error,
        next_seq=partner.next_seq,
        received=int(received or 0),
        received_through=partner.received_through,
        highest_seq_received=int(highest),
        missing_below_highest=missing,
        last_received_at=last_received,
        last_pull_at=partner.last_pull_at,
        last_pull_error=partner.last_pull_error,
    )
