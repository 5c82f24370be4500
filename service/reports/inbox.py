"""What partners sent: the inbox (accepted reports), the quarantine and the rejected ones, as the
local access rules let each user see them (``service.reports.access``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import NotFound
from service.identity import Principal
from service.models import Inbound
from service.node import Node
from service.reports.access import check_read, may_list, readable_tlps, record_read
from service.reports.content import received_bundle
from service.reports.quarantine import marking
from service.reports.states import InboundStatus


def list_inbox(
    session: Session,
    node: Node,
    user: Principal,
    status: str = InboundStatus.ACCEPTED,
    limit: int = 100,
    offset: int = 0,
) -> list[Inbound]:
    """Received reports in ``status`` (accepted: the inbox; quarantined; rejected) that ``user``
    may read, newest first. A page may hold fewer than ``limit`` rows where REL TO markings hide
    some."""
    query = (
        select(Inbound)
        .where(Inbound.status == status, Inbound.tlp.in_(readable_tlps(user)))
        .order_by(Inbound.received_at.desc(), Inbound.id)
        .limit(limit)
        .offset(offset)
    )
    return [row for row in session.scalars(query) if may_list(node, user, marking(row))]


def get_inbound(
    session: Session, node: Node, user: Principal, inbound_id: str, remote_addr: str | None
) -> Inbound:
    """A received report's row, for a user cleared to see it (metadata and the inbound decision;
    the title needs clearance).

    Raises:
        NotFound: no such received report.
        Forbidden: the user may not read it (``access_denied``, with its denial).
    """
    row = session.get(Inbound, inbound_id)
    if row is None:
        raise NotFound(f"no received report {inbound_id!r}")
    check_read(node, user, marking(row), object_type="inbound", object_id=row.id,
               remote_addr=remote_addr)  # fmt: skip
    return row


def read_inbound(
    session: Session, node: Node, user: Principal, inbound_id: str, remote_addr: str | None
) -> dict[str, Any]:
    """A received STIX bundle, after re-verifying the partner's signatures over the stored signed
    message; recorded as a read. Quarantined reports are read this way too, for review.

    Raises:
        NotFound, Forbidden: see :func:`get_inbound`.
        AtRestCorrupted, Unprocessable: the stored copy was tampered with.
    """
    return open_inbound(session, node, user, inbound_id, remote_addr)[1]


def open_inbound(
    session: Session, node: Node, user: Principal, inbound_id: str, remote_addr: str | None
) -> tuple[Inbound, dict[str, Any]]:
    """:func:`read_inbound`, with the received report itself (from one lookup).

    Raises:
        See :func:`read_inbound`.
    """
    row = get_inbound(session, node, user, inbound_id, remote_addr)
    bundle = received_bundle(node, row)
    record_read(session, node, user, "inbound", row.id, remote_addr)
    return row, bundle
