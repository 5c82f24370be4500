"""Sharing-policy decisions made by the node: explaining what a partner would receive.

The decisions themselves come from the ``policies`` engine; this module feeds it what the node
knows (the validated bundle, its TLP, where the report comes from) and records every decision,
with the policy version it used, in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies import NoPolicy, Origin, OutboundDecision, decide_outbound, policy_for
from service import audit, stix
from service.errors import NotFound
from service.node import Node
from service.users import Principal


@dataclass(frozen=True, slots=True)
class Explanation:
    decision: OutboundDecision
    record: dict[str, Any]
    diff: str


def explain_outbound(
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
    try:
        policy = policy_for(node.sharing, partner)
    except NoPolicy as exc:
        raise NotFound(str(exc), code="no_policy") from exc
    decision = decide_outbound(policy, report.bundle, report_tlp=report.tlp, origin=Origin.local())
    with node.db.transaction() as session:
        audit.record(
            session,
            actor=user.actor(remote_addr),
            action="policy.check",
            outcome=audit.ALLOWED,
            at=node.utcnow(),
            object_type="bundle",
            object_id=report.bundle_id,
            reason=f"{partner}: {decision.outcome} by {decision.rule} "
            f"(policy {decision.policy_version})",
        )
    return Explanation(decision, decision.to_record(), decision.diff())
