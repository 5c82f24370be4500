"""Releases: what each partner receives of a submitted report, decided by its sharing policy.

Every submission is judged by the ``policies`` engine once per addressed partner, before anything
is stored (:func:`decide_all`):

* ``deny`` for any partner refuses the whole submission (nothing is stored, nothing leaves), with
  every partner's decision in the answer and a ``release.deny`` record per denying partner;
* ``allow`` queues the report as submitted; ``redact`` queues the released bundle the engine
  computed, sealed at rest on the delivery (``deliveries.body_ct``);
* ``hold`` stores the release in state ``held``, without a sequence number, until a second
  officer with the releaser role approves it (:func:`approve`) or refuses it (:func:`refuse`).
  Approval decides again with the policy loaded now, so a policy tightened meanwhile applies.

Each decision is recorded in the audit log (``release.allow|redact|hold|deny``, then
``release.approve|refuse``) with the policy version it used, and kept on the delivery
(``deliveries.decision``: rule, reason, trace and removals, never content).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.canonical import canonicalize, parse_strict
from policies import (
    NO_POLICY_VERSION,
    RELEASER_ROLE,
    TLP,
    NoPolicy,
    OutboundDecision,
    decide_outbound,
    deny_without_policy,
    may_approve,
    policy_for,
)
from service.audit import ALLOWED, DENIED, Actor, Entry, denial, record
from service.errors import Conflict, Forbidden, NotFound, ServiceError
from service.identity import Principal
from service.models import Delivery, Partner, Report
from service.node import Node
from service.reports import provenance, stix
from service.reports.access import ReportMarking, check_read, record_read
from service.reports.content import delivery_body_context, own_bundle, released_body
from service.reports.states import DeliveryState, ReleaseOutcome

HELD, QUEUED, WITHHELD = DeliveryState.HELD, DeliveryState.QUEUED, DeliveryState.WITHHELD
_SEVERITY: dict[str, int] = {"deny": 0, "hold": 1, "redact": 2, "allow": 3}


class PolicyRefused(Forbidden):
    """A sharing policy denies the release to at least one addressed partner."""

    code = "policy_denied"

    def __init__(
        self, decisions: list[OutboundDecision], outcome: str = "nothing was submitted"
    ) -> None:
        denied = [d for d in decisions if d.outcome == "deny"]
        detail = "; ".join(f"{d.partner}: {d.reason} ({d.rule})" for d in denied)
        super().__init__(
            f"the sharing policy denies the release, {outcome}: {detail}",
            extra={"decisions": [d.to_record() for d in decisions]},
        )
        self.decisions = decisions


def decide(
    node: Node, partner: str, bundle: dict[str, Any], tlp: TLP, origins: list[Any]
) -> OutboundDecision:
    """The decision for one partner: the most restrictive over the report's origins (a report
    drawing on several partners' reports must satisfy the third-party rule for each)."""
    try:
        policy = policy_for(node.sharing, partner)
    except NoPolicy:
        return deny_without_policy(partner, bundle, report_tlp=tlp)
    decisions = [
        decide_outbound(policy, bundle, report_tlp=tlp, origin=origin) for origin in origins
    ]
    return min(decisions, key=lambda d: _SEVERITY[d.outcome])


def decide_all(
    session: Session, node: Node, report: stix.ValidatedReport, partners: list[str]
) -> list[OutboundDecision]:
    """Every addressed partner's decision for ``report``.

    Raises:
        PolicyRefused: any of them is a deny.
    """
    origins = provenance.origins_of(session, provenance.object_ids(report.bundle))
    decisions = [decide(node, p, report.bundle, report.tlp, origins) for p in partners]
    if any(d.outcome == "deny" for d in decisions):
        raise PolicyRefused(decisions)
    return decisions


def denials(
    user: Principal, exc: PolicyRefused, remote_addr: str | None, at: datetime
) -> list[Entry]:
    """The ``release.deny`` records of a refused submission, one per denying partner."""
    return [
        denial(user.actor(remote_addr), "release.deny", at, f"to {d.partner}: {d.rule}: {d.reason}",
               object_type="bundle", object_id=_bundle_id(d), policy_version=d.policy_version)
        for d in exc.decisions
        if d.outcome == "deny"
    ]  # fmt: skip


def _bundle_id(decision: OutboundDecision) -> str | None:
    ident = decision.submitted.get("id")
    return ident if isinstance(ident, str) else None


def apply(
    session: Session,
    node: Node,
    delivery: Delivery,
    decision: OutboundDecision,
) -> None:
    """Store a non-deny decision on its delivery: the outcome, the record, and the released
    bundle when it differs from the submission."""
    assert decision.outcome != "deny" and decision.released is not None
    delivery.outcome = decision.outcome
    delivery.policy_version = decision.policy_version
    delivery.decision = json.dumps(decision.to_record(), separators=(",", ":"), sort_keys=True)
    changed = decision.outcome == "redact" or decision.approved_outcome == "redact"
    delivery.body_ct = (
        node.data_key.seal(
            canonicalize(decision.released), delivery_body_context(delivery.message_id)
        )
        if changed
        else None
    )


def record_decision(
    session: Session,
    node: Node,
    user: Principal,
    delivery: Delivery,
    decision: OutboundDecision,
    remote_addr: str | None,
) -> None:
    record(
        session,
        actor=user.actor(remote_addr),
        action=f"release.{decision.outcome}",
        outcome=ALLOWED,
        at=node.utcnow(),
        object_type="delivery",
        object_id=delivery.message_id,
        reason=f"to {decision.partner}: {decision.rule}: {decision.reason}",
        policy_version=decision.policy_version,
    )


def still_released(session: Session, node: Node, delivery: Delivery) -> bool:
    """Before a release is sealed for the first time: if the partner's policy changed since it
    was decided, decide again with the policy loaded now. A release the new policy still allows
    goes with what it releases now; one it denies or would hold is withheld (its sequence
    number is then declared void to the partner, like a refused one). Returns whether it may be
    sealed. A release already sealed may have reached the partner and is not re-decided."""
    partner = delivery.partner.node_id
    policy = node.sharing.get(partner)
    current = policy.version if policy is not None else NO_POLICY_VERSION
    if delivery.policy_version is None or delivery.policy_version == current:
        return True
    report = delivery.report
    bundle = own_bundle(node, report)
    origins = provenance.origins_of(session, provenance.object_ids(bundle))
    decision = decide(node, partner, bundle, TLP.from_label(report.tlp), origins)
    now = node.utcnow()
    system = Actor.system()
    if decision.outcome in ("allow", "redact"):
        apply(session, node, delivery, decision)
        record(session, actor=system, action=f"release.{decision.outcome}", outcome=ALLOWED,
               at=now, object_type="delivery", object_id=delivery.message_id,
               reason=f"decided again before sending, the policy having changed: to "
               f"{partner}: {decision.rule}: {decision.reason}",
               policy_version=decision.policy_version)  # fmt: skip
        return True
    delivery.state = WITHHELD
    delivery.outcome = decision.outcome
    delivery.policy_version = decision.policy_version
    delivery.decision = json.dumps(decision.to_record(), separators=(",", ":"), sort_keys=True)
    delivery.body_ct = None
    delivery.review_note = f"the policy changed before it was sent: {decision.reason}"[:2000]
    delivery.lease_owner = delivery.lease_until = None
    record(session, actor=system, action="release.deny", outcome=DENIED, at=now,
           object_type="delivery", object_id=delivery.message_id,
           reason=f"withheld before sending, the policy having changed: to {partner}: "
           f"{decision.rule}: {decision.reason}",
           policy_version=decision.policy_version)  # fmt: skip
    return False


# --- two-person release ---------------------------------------------------------------------


def find_release(session: Session, report_id: str, partner: str, *, lock: bool) -> Delivery:
    """The release of ``report_id`` to ``partner``; with ``lock``, the partner row (whose
    sequence counter an approval takes from) and then the delivery are locked, in the order
    submissions lock them.

    Raises:
        NotFound: no such release.
    """
    partner_row = session.scalar(
        select(Partner).where(Partner.node_id == partner).with_for_update()
        if lock
        else select(Partner).where(Partner.node_id == partner)
    )
    query = select(Delivery).where(Delivery.report_id == report_id)
    if partner_row is not None:
        query = query.where(Delivery.partner_id == partner_row.id)
    delivery = session.scalar(query.with_for_update(of=Delivery) if lock else query)
    if partner_row is None or delivery is None:
        raise NotFound(f"report {report_id!r} has no release to {partner!r}")
    return delivery


def _review_error(
    user: Principal, delivery: Delivery, decision: OutboundDecision | None
) -> ServiceError | None:
    """Why ``user`` may not approve or refuse this release now, or None.

    ``decision`` is the one taken now (None for a refusal). While the policy still holds the
    release, the engine's two-person rule decides (:func:`policies.may_approve`); if the policy
    loaded now no longer holds it, or denies it, acting on the held release still takes a second
    officer with the releaser role.
    """
    report = delivery.report
    submitter = report.submitter.username
    if delivery.state != HELD:
        return Conflict(
            f"the release of report {report.id} to {delivery.partner.node_id} is "
            f"{delivery.state}, not held for approval",
            code="not_held",
        )
    if decision is not None and decision.outcome == "hold":
        verdict = may_approve(
            decision, submitter=submitter, approver=user.username,
            approver_roles=frozenset({user.role}),
        )  # fmt: skip
        if verdict.allowed:
            return None
        return Forbidden(verdict.reason, code="two_person", extra={"decision": verdict.to_record()})
    if user.role != RELEASER_ROLE:
        return Forbidden(f"acting on a held release needs the {RELEASER_ROLE} role",
                         code="two_person")  # fmt: skip
    if user.username == submitter:
        return Forbidden("the second officer must be another person than the submitter",
                         code="two_person")  # fmt: skip
    return None


def _marking(report: Report) -> ReportMarking:
    return ReportMarking.of(report.tlp, authored_here=True)


@dataclass(frozen=True, slots=True)
class Withhold:
    """An approval the policy loaded now denies: the held release is withheld for good, although
    the approval itself is refused (written by whoever handles the refusal)."""

    delivery_id: int
    reviewer: str
    at: datetime
    note: str | None
    decision: OutboundDecision

    def write(self, session: Session) -> None:
        delivery = session.get(Delivery, self.delivery_id, with_for_update={"of": Delivery})
        if delivery is None or delivery.state != HELD:
            return  # another releaser acted on it meanwhile: their decision stands
        delivery.reviewed_by = self.reviewer
        delivery.reviewed_at = self.at
        delivery.review_note = (self.note or "")[:2000] or None
        _withhold(delivery, self.decision)


def _withhold(delivery: Delivery, decision: OutboundDecision) -> None:
    delivery.state = WITHHELD
    delivery.outcome = ReleaseOutcome.DENY
    delivery.policy_version = decision.policy_version
    delivery.decision = json.dumps(decision.to_record(), separators=(",", ":"), sort_keys=True)
    delivery.body_ct = None


def approve(
    session: Session,
    node: Node,
    user: Principal,
    report_id: str,
    partner: str,
    note: str | None,
    remote_addr: str | None,
) -> Delivery:
    """Approve a held release: decide again with the policy loaded now, then queue it with the
    partner's next sequence number; returns it as it now stands.

    Raises:
        NotFound: no such release.
        Forbidden: the approver may not read the report (``access_denied``), or the two-person
            rule refuses them (``two_person``); each carries its denial.
        Conflict: the release is not held (``not_held``).
        PolicyRefused: the policy loaded now denies the release: it is withheld for good
            (the error carries the withholding and its ``release.deny`` record).
    """
    delivery = find_release(session, report_id, partner, lock=True)
    report = delivery.report
    check_read(node, user, _marking(report), object_type="report", object_id=report.id,
               remote_addr=remote_addr)  # fmt: skip
    bundle = own_bundle(node, report)
    ids = provenance.object_ids(bundle)
    decision = decide(
        node, partner, bundle, TLP.from_label(report.tlp), provenance.origins_of(session, ids)
    )
    now = node.utcnow()
    actor = user.actor(remote_addr)
    refusal = _review_error(user, delivery, decision)
    if refusal is not None:
        raise refusal.recording(
            denial(actor, "release.approve", now, refusal.detail, object_type="delivery",
                   object_id=delivery.message_id, policy_version=decision.policy_version)
        )  # fmt: skip
    if decision.outcome == "deny":
        raise PolicyRefused([decision], "so the held release is now withheld").recording(
            Withhold(delivery.id, user.username, now, note, decision),
            denial(actor, "release.deny", now,
                   f"on approval, to {partner}: {decision.rule}: {decision.reason}",
                   object_type="delivery", object_id=delivery.message_id,
                   policy_version=decision.policy_version),
        )  # fmt: skip
    delivery.reviewed_by = user.username
    delivery.reviewed_at = now
    delivery.review_note = (note or "")[:2000] or None
    apply(session, node, delivery, decision)
    delivery.outcome = decision.approved_outcome or decision.outcome
    partner_row = delivery.partner
    delivery.seq = partner_row.next_seq
    partner_row.next_seq += 1
    delivery.state = QUEUED
    delivery.next_attempt_at = now
    record(session, actor=actor, action="release.approve", outcome=ALLOWED, at=now,
           object_type="delivery", object_id=delivery.message_id,
           reason=f"to {partner}, submitted by {report.submitter.username}: "
           f"{decision.rule}: {decision.reason}",
           policy_version=decision.policy_version)  # fmt: skip
    return delivery


def refuse(
    session: Session,
    node: Node,
    user: Principal,
    report_id: str,
    partner: str,
    note: str | None,
    remote_addr: str | None,
) -> Delivery:
    """Refuse a held release: it is withheld for good (the report stays, and can be submitted
    again). Needs the releaser role and another person than the submitter, like approval.

    Raises:
        NotFound: no such release.
        Forbidden, Conflict: the two-person rule refuses the user, or the release is not held
            (each carries its ``release.refuse`` denial).
    """
    delivery = find_release(session, report_id, partner, lock=True)
    report = delivery.report
    now = node.utcnow()
    actor = user.actor(remote_addr)
    error = _review_error(user, delivery, None)
    if error is not None:
        raise error.recording(
            denial(actor, "release.refuse", now, error.detail, object_type="delivery",
                   object_id=delivery.message_id)
        )  # fmt: skip
    delivery.state = WITHHELD
    delivery.reviewed_by = user.username
    delivery.reviewed_at = now
    delivery.review_note = (note or "")[:2000] or None
    delivery.body_ct = None
    record(session, actor=actor, action="release.refuse", outcome=ALLOWED, at=now,
           object_type="delivery", object_id=delivery.message_id,
           reason=f"to {partner}, submitted by {report.submitter.username}"
           + (f": {note}" if note else ""),
           policy_version=delivery.policy_version)  # fmt: skip
    return delivery


def list_releases(
    session: Session,
    *,
    state: str | None = None,
    partner: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Delivery]:
    """Releases (deliveries with their decisions), newest first, optionally filtered."""
    query = select(Delivery).join(Report, Report.id == Delivery.report_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    if partner is not None:
        query = query.join(Partner, Partner.id == Delivery.partner_id).where(
            Partner.node_id == partner
        )
    query = query.order_by(Report.created_at.desc(), Delivery.id).limit(limit).offset(offset)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class Shown:
    """A release as its reviewer sees it: the submitted bundle and what the partner receives."""

    delivery: Delivery
    submitted: dict[str, Any]
    released: dict[str, Any] | None


def show(
    session: Session,
    node: Node,
    user: Principal,
    report_id: str,
    partner: str,
    remote_addr: str | None,
) -> Shown:
    """The release of ``report_id`` to ``partner`` with its content, for an officer or releaser
    cleared to read it (recorded as a read).

    Raises:
        NotFound: no such release.
        Forbidden: the user may not read the report (``access_denied``, with its denial).
    """
    delivery = find_release(session, report_id, partner, lock=False)
    report = delivery.report
    check_read(node, user, _marking(report), object_type="report", object_id=report.id,
               remote_addr=remote_addr)  # fmt: skip
    submitted = own_bundle(node, report)
    released: dict[str, Any] | None = None
    if delivery.state != WITHHELD and delivery.outcome != ReleaseOutcome.DENY:
        body = released_body(node, delivery, report_body=canonicalize(submitted))
        released = parse_strict(body)
    record_read(session, node, user, "delivery", delivery.message_id, remote_addr)
    return Shown(delivery, submitted, released)
