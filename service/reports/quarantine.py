"""Inbound policy: received reports are accepted into the inbox or quarantined for review.

A report a partner delivers is always stored once and receipted (the receipt proves delivery,
not acceptance); the partner's inbound policy then decides its ``status`` (:func:`judge`):
``accepted``, or ``quarantined`` with the rule and reasons, never silently dropped and never
silently accepted. An officer reviews the quarantine (:func:`review`): accepting moves the
report into the inbox, rejecting keeps it out for good; both are recorded with the policy
version that quarantined it. A partner without a loaded policy has everything quarantined
(rule ``inbound.no_policy``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import (
    InboundDecision,
    MarkingInvalid,
    NoPolicy,
    decide_inbound,
    policy_for,
    quarantine_without_policy,
    rel_to_of,
)
from service.audit import ALLOWED, DENIED, Actor, denial, record
from service.errors import Conflict, NotFound, ServiceError
from service.identity import Principal
from service.models import Inbound
from service.node import Node
from service.reports import collections, provenance, stix
from service.reports.access import ReportMarking, check_read, rel_to_column
from service.reports.content import received_bundle
from service.reports.states import InboundStatus

ACCEPTED, QUARANTINED, REJECTED = (
    InboundStatus.ACCEPTED,
    InboundStatus.QUARANTINED,
    InboundStatus.REJECTED,
)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The inbound decision for a received report, with what the node keeps to apply the
    third-party and access rules later."""

    decision: InboundDecision
    object_ids: list[str]
    authored_here: bool
    rel_to: str | None

    @property
    def status(self) -> str:
        return ACCEPTED if self.decision.accepted else QUARANTINED

    def apply(self, row: Inbound) -> None:
        row.status = self.status
        row.rel_to = self.rel_to
        row.authored_here = self.authored_here
        row.policy_version = self.decision.policy_version
        row.decision = json.dumps(self.decision.to_record(), separators=(",", ":"), sort_keys=True)


def judge(
    session: Session, node: Node, partner: str, report: stix.ValidatedReport, size: int
) -> Judgement:
    """Decide on a report received from ``partner`` (``size``: its bytes as received)."""
    ids = provenance.object_ids(report.bundle)
    here = provenance.authored_here(session, ids)
    try:
        policy = policy_for(node.sharing, partner)
    except NoPolicy:
        decision = quarantine_without_policy(partner)
    else:
        decision = decide_inbound(
            policy, report.bundle, size=size, report_tlp=report.tlp, authored_here=here
        )
    try:
        names = rel_to_of(report.bundle)
    except MarkingInvalid:
        names = frozenset()  # a REL TO nobody can read names no node (inbound.rel_to quarantines)
    return Judgement(decision, ids, here, rel_to_column(names))


def record_quarantine(session: Session, node: Node, actor: Actor, row: Inbound) -> None:
    """The audit record of a quarantine, next to the ``report.receive`` record."""
    if row.status != QUARANTINED or row.decision is None:
        return
    decision = json.loads(row.decision)
    record(
        session,
        actor=actor,
        action="report.quarantine",
        outcome=DENIED,
        at=node.utcnow(),
        object_type="inbound",
        object_id=row.id,
        reason=f"{decision['rule']}: {decision['reason']}",
        policy_version=row.policy_version,
    )


def marking(row: Inbound) -> ReportMarking:
    return ReportMarking.of(row.tlp, row.rel_to, authored_here=row.authored_here)


def review(
    session: Session,
    node: Node,
    user: Principal,
    inbound_id: str,
    *,
    accept: bool,
    note: str | None,
    remote_addr: str | None,
) -> Inbound:
    """Accept a quarantined report into the inbox, or reject it; returns it as it now stands.

    Accepting needs read access to the report (an officer accepts what they have read);
    rejecting does not, so that a report nobody here may read can still be closed.

    Raises:
        NotFound: no such received report.
        Conflict: it is not quarantined (``not_quarantined``).
        Forbidden: accepting it needs read access the user lacks (``access_denied``).
        Each refusal carries its ``quarantine.accept|reject`` denial.
    """
    action = "quarantine.accept" if accept else "quarantine.reject"
    actor = user.actor(remote_addr)
    row = lock(session, inbound_id)
    if row is None:
        raise NotFound(f"no received report {inbound_id!r}")
    try:
        if row.status != QUARANTINED:
            raise Conflict(f"received report {row.id} is {row.status}, not quarantined",
                           code="not_quarantined")  # fmt: skip
        if accept:
            check_read(node, user, marking(row), object_type="inbound", object_id=row.id,
                       remote_addr=remote_addr)  # fmt: skip
    except ServiceError as exc:
        refusal = denial(actor, action, node.utcnow(), exc.detail, object_type="inbound",
                         object_id=row.id, policy_version=row.policy_version)  # fmt: skip
        raise exc.recording(refusal) from None
    row.status = ACCEPTED if accept else REJECTED
    row.reviewed_by = user.username
    row.reviewed_at = node.utcnow()
    row.review_note = (note or "")[:2000] or None
    if accept:  # into the inbox, and so into the partner's TAXII inbox collection
        collections.add_inbound(session, node, row, received_bundle(node, row))
    record(session, actor=actor, action=action, outcome=ALLOWED, at=node.utcnow(),
           object_type="inbound", object_id=row.id, reason=note or None,
           policy_version=row.policy_version)  # fmt: skip
    return row


COMPROMISED = "partner.compromised"


def quarantine_signed_since(
    session: Session, node: Node, partner_id: int, sender: str, since: datetime, actor: Actor
) -> list[str]:
    """Send back to quarantine every report ``sender`` signed that arrived from ``since`` on
    (its keys may have been in other hands then): out of the inbox and its TAXII collection,
    with rule ``partner.compromised`` and the earlier decision kept beside it, one
    ``report.quarantine`` record each. Returns their ids. Reports already quarantined or rejected
    stay as they are; an officer reviews each as any quarantined report."""
    rows = list(session.scalars(
        select(Inbound)
        .where(Inbound.partner_id == partner_id, Inbound.received_at >= since,
               Inbound.status == InboundStatus.ACCEPTED)
        .with_for_update(of=Inbound)
    ))  # fmt: skip
    reason = (f"{sender} reported compromised since {since.isoformat()}: signed by keys that "
              "may have been in other hands")  # fmt: skip
    for row in rows:
        earlier = json.loads(row.decision) if row.decision else None
        row.status = InboundStatus.QUARANTINED
        row.decision = json.dumps({"outcome": "quarantine", "rule": COMPROMISED,
                                   "reason": reason, "findings": [], "earlier": earlier},
                                  separators=(",", ":"), sort_keys=True)  # fmt: skip
        record(session, actor=actor, action="report.quarantine", outcome=DENIED,
               at=node.utcnow(), object_type="inbound", object_id=row.id,
               reason=f"{COMPROMISED}: {reason}", policy_version=row.policy_version)  # fmt: skip
    collections.remove_inbound(session, [row.id for row in rows])
    return [row.id for row in rows]


def lock(session: Session, inbound_id: str) -> Inbound | None:
    return session.scalar(
        select(Inbound).where(Inbound.id == inbound_id).with_for_update(of=Inbound)
    )
