"""Explaining a release before making it: what a partner would receive of a bundle, and why.

The decision is the one a submission would get (``service.reports.releases.decide``: the same
engine, the same policy, the same provenance of the objects), made without storing or sending
anything, and recorded in the audit log as a ``policy.check`` with the policy version it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from policies import NoPolicy, OutboundDecision
from service.audit import ALLOWED, record
from service.errors import NotFound
from service.identity import Principal
from service.node import Node
from service.reports import provenance, releases, stix


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: OutboundDecision
    record: dict[str, Any]
    diff: str


def explain_outbound(
    session: Session,
    node: Node,
    user: Principal,
    report: stix.ValidatedReport,
    partner: str,
    remote_addr: str | None = None,
) -> Explanation:
    """What ``partner`` would receive of ``report`` if it were submitted now, and why.

    Raises:
        NotFound: no sharing policy is loaded for ``partner`` (code ``no_policy``).
    """
    if partner not in node.sharing:
        raise NotFound(str(NoPolicy(partner)), code="no_policy")
    origins = provenance.origins_of(session, provenance.object_ids(report.bundle))
    decision = releases.decide(node, partner, report.bundle, report.tlp, origins)
    record(
        session,
        actor=user.actor(remote_addr),
        action="policy.check",
        outcome=ALLOWED,
        at=node.utcnow(),
        object_type="bundle",
        object_id=report.bundle_id,
        reason=f"{partner}: {decision.outcome} by {decision.rule}",
        policy_version=decision.policy_version,
    )
    return Explanation(decision, decision.to_record(), decision.diff())
