"""Reports officers submit: validation, storage with one release per partner, and what officers
read back (their reports, with each release's decision and delivery state).

A submission validates the STIX bundle, asks each addressed partner's sharing policy what it may
receive (``service.reports.releases``), stores the report encrypted at rest and creates one
delivery job per partner, all in one transaction with its audit records; the delivery worker does
the sealing and sending (``service.exchange``), never the officer's request. Reads go through the
local access rules (``service.reports.access``).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import ALLOWED, denial, record
from service.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    Unprocessable,
)
from service.identity import Principal
from service.models import Delivery, Partner, Report, User
from service.node import Node
from service.reports import provenance, releases, stix
from service.reports.access import ReportMarking, check_read, readable_tlps, record_read
from service.reports.content import body_context, own_bundle, seal_title, title_of
from service.reports.states import PENDING, DeliveryState


def validate(node: Node, data: bytes) -> stix.ValidatedReport:
    """Validate a submitted bundle, mapping STIX errors to service errors.

    Raises:
        PayloadTooLarge: over the node's report size limit.
        Unprocessable: invalid STIX, or no TLP marking (``errors`` lists the validator's messages).
    """
    try:
        return stix.validate_report(
            data,
            max_bytes=node.settings.max_report_bytes,
            max_objects=node.settings.max_report_objects,
        )
    except stix.StixTooLarge as exc:
        raise PayloadTooLarge(exc.detail, code=exc.code) from exc
    except stix.StixError as exc:
        raise Unprocessable(exc.detail, code=exc.code, errors=exc.messages) from exc


def submit_bundle(
    session: Session,
    node: Node,
    user: Principal,
    data: bytes,
    to: list[str],
    remote_addr: str | None = None,
) -> tuple[Report, stix.ValidatedReport]:
    """Validate ``data`` and :func:`submit` it; returns the stored report and the validation
    (its warnings are for the officer).

    Raises:
        ServiceError: see :func:`validate` and :func:`submit`; every refusal carries a
            ``report.submit`` denial (and a policy refusal its ``release.deny`` records).
    """
    try:
        validated = validate(node, data)
        return submit(session, node, user, validated, to, remote_addr), validated
    except ServiceError as exc:
        raise exc.recording(
            denial(user.actor(remote_addr), "report.submit", node.utcnow(), exc.diagnostics())
        ) from None


def submit(
    session: Session,
    node: Node,
    user: Principal,
    report: stix.ValidatedReport,
    to: list[str],
    remote_addr: str | None = None,
) -> Report:
    """Store a validated report and one release per partner in ``to``, as each partner's
    sharing policy decides (``service.reports.releases``).

    Raises:
        BadRequest: no partner named, or a partner named twice.
        NotFound: a named partner is not pinned.
        PolicyRefused: a policy denies the release to a partner (nothing is stored; the error
            carries a ``release.deny`` record per denying partner).
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
        if partner.removed_at is not None:
            raise Conflict(f"partner {node_id!r} was removed: nothing is sent to it",
                           code="partner_removed")  # fmt: skip
        partners.append(partner)
    try:
        decisions = releases.decide_all(session, node, report, to)
    except releases.PolicyRefused as exc:
        raise exc.recording(*releases.denials(user, exc, remote_addr, node.utcnow())) from None
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
    row.submitter = session.get_one(User, user.id)  # in the identity map: no query
    session.add(row)
    provenance.record_submitted(session, report_id, provenance.object_ids(report.bundle))
    for partner, decision in zip(partners, decisions, strict=True):
        held = decision.outcome == "hold"
        delivery = Delivery(
            report_id=report_id,
            partner_id=partner.id,
            message_id=str(uuid.uuid4()),
            seq=None if held else partner.next_seq,
            state=DeliveryState.HELD if held else DeliveryState.QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        releases.apply(session, node, delivery, decision)
        row.deliveries.append(delivery)  # a pending row's collection: the summary reads no rows
        releases.record_decision(session, node, user, delivery, decision, remote_addr)
        if not held:
            partner.next_seq += 1
    record(
        session,
        actor=user.actor(remote_addr),
        action="report.submit",
        outcome=ALLOWED,
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
    waiting = d.state in PENDING
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
        .where(Report.tlp.in_(readable_tlps(user)))
        .order_by(Report.created_at.desc(), Report.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def own_marking(report: Report) -> ReportMarking:
    return ReportMarking.of(report.tlp, authored_here=True)


def own_by_bundle(session: Session, bundle_id: str) -> Report | None:
    """The report already submitted here from the bundle ``bundle_id``, if any (the console's
    guard against a form posted twice; the bundle's ids come from the form's draft id)."""
    return session.scalars(
        select(Report).where(Report.bundle_id == bundle_id).order_by(Report.created_at)
    ).first()


def get_own(
    session: Session, node: Node, user: Principal, report_id: str, remote_addr: str | None
) -> Report:
    """A report submitted here, for a user cleared to see it (its metadata: following delivery
    is not reading the report, so it is not recorded as a read; its title still needs
    clearance).

    Raises:
        NotFound: no such report.
        Forbidden: the user may not read it (``access_denied``, with its denial).
    """
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(f"no report {report_id!r}")
    check_read(node, user, own_marking(report), object_type="report", object_id=report.id,
               remote_addr=remote_addr)  # fmt: skip
    return report


def read_own(
    session: Session, node: Node, user: Principal, report_id: str, remote_addr: str | None
) -> dict[str, Any]:
    """The submitted STIX bundle itself, recorded as a read.

    Raises:
        NotFound, Forbidden: see :func:`get_own`.
    """
    return open_own(session, node, user, report_id, remote_addr)[1]


def open_own(
    session: Session, node: Node, user: Principal, report_id: str, remote_addr: str | None
) -> tuple[Report, dict[str, Any]]:
    """:func:`read_own`, with the report itself (a page shows both, from one lookup).

    Raises:
        NotFound, Forbidden: see :func:`get_own`.
    """
    report = get_own(session, node, user, report_id, remote_addr)
    bundle = own_bundle(node, report)
    record_read(session, node, user, "report", report.id, remote_addr)
    return report, bundle
