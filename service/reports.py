"""Reports officers submit, and what they read: their own reports with delivery state, and the
reports partners sent them.

A submission validates the STIX bundle, asks each addressed partner's sharing policy what it may
receive (``service.releases``), stores the report encrypted at rest and creates one delivery job
per partner, all in one transaction with its audit records; the delivery worker does the sealing
and sending (``service.delivery``), never the officer's request. Reads go through the local
access rules (``service.access``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.canonical import parse_strict
from crypto.envelope import verify_signed_message
from service import access, audit, provenance, quarantine, releases, stix
from service.errors import BadRequest, NotFound, PayloadTooLarge, Unprocessable
from service.models import Delivery, Inbound, Partner, Report
from service.node import Node
from service.partners import pinned_key
from service.users import Principal

QUEUED, SENT, ACKNOWLEDGED, REFUSED = "queued", "sent", "acknowledged", "refused"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_TITLE_TYPES = ("report", "intrusion-set", "campaign", "threat-actor", "incident", "malware")


def body_context(report_id: str) -> str:
    return f"reports.body_ct/{report_id}"


def signed_context(inbound_id: str) -> str:
    return f"inbound.signed_ct/{inbound_id}"


def seal_title(node: Node, table: str, row_id: str, title: str) -> bytes:
    return node.data_key.seal(title.encode("utf-8"), f"{table}.title_ct/{row_id}")


def open_title(node: Node, table: str, row_id: str, sealed: bytes) -> str:
    return node.data_key.open(sealed, f"{table}.title_ct/{row_id}").decode("utf-8")


def title_of(bundle: dict[str, Any]) -> str:
    """A short label for listings: the name of the most telling object in the bundle."""
    objects = bundle.get("objects", [])
    for wanted in _TITLE_TYPES:
        for obj in objects:
            if obj.get("type") == wanted and isinstance(obj.get("name"), str):
                return str(obj["name"])[:300]
    return str(bundle.get("id", ""))[:300]


def validate(node: Node, data: bytes) -> stix.ValidatedReport:
    """Validate a submitted bundle, mapping STIX errors to service errors.

    Raises:
        PayloadTooLarge: over the node's report size limit.
        Unprocessable: invalid STIX, or no TLP marking (``errors`` lists the validator's messages).
    """
    try:
        return stix.validate_report(data, max_bytes=node.settings.max_report_bytes)
    except stix.StixTooLarge as exc:
        raise PayloadTooLarge(exc.detail, code=exc.code) from exc
    except stix.StixError as exc:
        raise Unprocessable(exc.detail, code=exc.code, errors=exc.messages) from exc


def submit(
    session: Session,
    node: Node,
    user: Principal,
    report: stix.ValidatedReport,
    to: list[str],
    remote_addr: str | None = None,
) -> Report:
    """Store a validated report and one release per partner in ``to``, as each partner's
    sharing policy decides (``service.releases``).

    Raises:
        BadRequest: no partner named, or a partner named twice.
        NotFound: a named partner is not pinned.
        PolicyRefused: a policy denies the release to a partner (nothing is stored).
    """
    if not to:
        raise BadRequest("name at least one partner to send the report to")
    if len(set(to)) != len(to):
        raise BadRequest("a partner is named more than once")
    # Lock the partner rows: their sequence counters are handed out in this transaction.
    partners = []
    for node_id in to:
        partner = session.scalar(
            select(Partner).where(Partner.node_id == node_id).with_for_update()
        )
        if partner is None:
            raise NotFound(f"no partner {node_id!r} is pinned on this node")
        partners.append(partner)
    decisions = releases.decide_all(session, node, report, to)
    # Read the time only now, under the locks: concurrent submissions then get due times in the
    # order of their sequence numbers, and the worker pushes them in order (no false gaps).
    now = node.utcnow()
    report_id = str(uuid.uuid4())
    row = Report(
        id=report_id,
        submitted_by=user.id,
        created_at=now,
        bundle_id=report.bundle_id,
        title_ct=seal_title(node, "reports", report_id, title_of(report.bundle)),
        tlp=report.tlp.label,
        object_count=report.object_count,
        object_types=",".join(report.object_types),
        body_sha256=hashlib.sha256(report.canonical).digest(),
        body_ct=node.data_key.seal(report.canonical, body_context(report_id)),
    )
    session.add(row)
    provenance.record_submitted(session, report_id, provenance.object_ids(report.bundle))
    for partner, decision in zip(partners, decisions, strict=True):
        held = decision.outcome == "hold"
        delivery = Delivery(
            report_id=report_id,
            partner_id=partner.id,
            message_id=str(uuid.uuid4()),
            seq=None if held else partner.next_seq,
            state=releases.HELD if held else QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        releases.apply(session, node, delivery, decision)
        session.add(delivery)
        releases.record_decision(session, node, user, delivery, decision, remote_addr)
        if not held:
            partner.next_seq += 1
    audit.record(
        session,
        actor=user.actor(remote_addr),
        action="report.submit",
        outcome=audit.ALLOWED,
        at=now,
        object_type="report",
        object_id=report_id,
        reason=f"{report.tlp.label}, {report.object_count} objects, to {', '.join(to)}",
    )
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class DeliveryView:
    partner: str
    message_id: str
    seq: int | None
    state: str
    outcome: str
    policy_version: str | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    acknowledged_at: datetime | None


def delivery_view(d: Delivery) -> DeliveryView:
    waiting = d.state in (QUEUED, SENT)
    return DeliveryView(
        partner=d.partner.node_id,
        message_id=d.message_id,
        seq=d.seq,
        state=d.state,
        outcome=d.outcome,
        policy_version=d.policy_version,
        attempts=d.attempts,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at if waiting else None,
        sent_at=d.sent_at,
        acknowledged_at=d.acknowledged_at,
    )


def list_own(session: Session, user: Principal, limit: int = 100, offset: int = 0) -> list[Report]:
    """Reports submitted on this node that ``user`` is cleared to read, newest first (the
    officers of a node share them)."""
    query = (
        select(Report)
        .where(Report.tlp.in_(access.readable_tlps(user)))
        .order_by(Report.created_at.desc(), Report.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def get_own(session: Session, report_id: str) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id!r}")
    return report


def own_marking(report: Report) -> access.ReportMarking:
    return access.ReportMarking.of(report.tlp, authored_here=True)


def read_own_body(node: Node, report: Report) -> dict[str, Any]:
    body: dict[str, Any] = parse_strict(node.data_key.open(report.body_ct, body_context(report.id)))
    return body


def list_inbox(
    session: Session,
    node: Node,
    user: Principal,
    status: str = "accepted",
    limit: int = 100,
    offset: int = 0,
) -> list[Inbound]:
    """Received reports in ``status`` (accepted: the inbox; quarantined; rejected) that ``user``
    may read, newest first. A page may hold fewer than ``limit`` rows where REL TO markings hide
    some."""
    query = (
        select(Inbound)
        .where(Inbound.status == status, Inbound.tlp.in_(access.readable_tlps(user)))
        .order_by(Inbound.received_at.desc(), Inbound.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        row
        for row in session.scalars(query)
        if access.may_list(node, user, quarantine.marking(row))
    ]


def get_inbound(session: Session, inbound_id: str) -> Inbound:
    row = session.get(Inbound, inbound_id)
    if row is None:
        raise NotFound(f"no received report {inbound_id!r}")
    return row


def read_inbound_body(node: Node, row: Inbound) -> dict[str, Any]:
    """Decrypt the stored signed message, re-verify the partner's signatures, return the bundle.

    Raises:
        AtRestCorrupted: the stored ciphertext was altered or moved.
        Unprocessable: the signature no longer verifies under the pinned keys (tampering).
    """
    signed = node.data_key.open(row.signed_ct, signed_context(row.id))
    try:
        _, body = verify_signed_message(signed, pinned_key(row.partner))
    except Exception as exc:
        raise Unprocessable(
            f"stored report {row.id} no longer verifies: {exc}", code="stored_report_invalid"
        ) from exc
    parsed: dict[str, Any] = parse_strict(body)
    return parsed


def record_read(
    session: Session,
    node: Node,
    user: Principal,
    object_type: str,
    object_id: str,
    remote_addr: str | None,
) -> None:
    audit.record(
        session,
        actor=user.actor(remote_addr),
        action="report.read",
        outcome=audit.ALLOWED,
        at=node.utcnow(),
        object_type=object_type,
        object_id=object_id,
    )
