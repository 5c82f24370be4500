"""Who on this node reads which report: the local access rules of ``policies.access``, applied.

Every read of report content (a submitted bundle, a received one, a held release shown to its
approver) asks :func:`read_refusal` first; a refusal is recorded in the audit log with the rule
that decided and answered ``403 access_denied``. Listings show only the reports the caller may
read (:func:`readable_tlps`, :func:`may_list`): a title is taken from inside the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from policies import TLP, AccessDecision, may_read, may_read_content
from service import audit
from service.errors import Forbidden
from service.node import Node
from service.users import Principal


@dataclass(frozen=True, slots=True)
class ReportMarking:
    """What the access rules need to know of a stored report."""

    tlp: TLP
    rel_to: frozenset[str] | None = None
    authored_here: bool = True

    @classmethod
    def of(cls, tlp_label: str, rel_to: str | None = None, *, authored_here: bool) -> ReportMarking:
        return cls(TLP.from_label(tlp_label), parse_rel_to_column(rel_to), authored_here)


def rel_to_column(names: frozenset[str] | None) -> str | None:
    """A REL TO list as stored (``inbound.rel_to``): sorted, comma-separated; None for none."""
    return None if names is None else ",".join(sorted(names))


def parse_rel_to_column(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(name for name in value.split(",") if name)


def decide_read(node: Node, user: Principal, marking: ReportMarking) -> AccessDecision:
    """The local access decision for ``user`` reading a report marked ``marking``."""
    decision = may_read_content(user.role)
    if not decision.allowed:
        return decision
    return may_read(
        user.clearance,
        marking.tlp,
        rel_to=marking.rel_to,
        node_id=node.node_id,
        authored_here=marking.authored_here,
    )


def read_refusal(
    session: Session,
    node: Node,
    user: Principal,
    marking: ReportMarking,
    *,
    object_type: str,
    object_id: str,
    remote_addr: str | None,
) -> Forbidden | None:
    """None if ``user`` may read the report; else record the refusal in ``session`` and return
    the error to raise once the transaction has committed (so that the record persists).
    """
    decision = decide_read(node, user, marking)
    if decision.allowed:
        return None
    audit.record(
        session,
        actor=user.actor(remote_addr),
        action="report.read",
        outcome=audit.DENIED,
        at=node.utcnow(),
        object_type=object_type,
        object_id=object_id,
        reason=f"{decision.rule}: {decision.reason}",
        policy_version=decision.policy_version,
    )
    return Forbidden(
        decision.reason, code="access_denied", extra={"decision": decision.to_record()}
    )


def readable_tlps(user: Principal) -> list[str]:
    """The TLP labels of the reports ``user`` may list (up to the clearance; none for roles that
    read no content)."""
    if not may_read_content(user.role).allowed:
        return []
    return [level.label for level in TLP if level <= user.clearance]


def may_list(node: Node, user: Principal, marking: ReportMarking) -> bool:
    return decide_read(node, user, marking).allowed
