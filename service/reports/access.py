"""Who on this node reads which report: the local access rules of ``policies.access``, applied.

Every read of report content (a submitted bundle, a received one, a held release shown to its
approver) passes :func:`check_read` first; a refusal is answered ``403 access_denied`` and carries
its audit record with the rule that decided. A read that is allowed is recorded too
(:func:`record_read`). Listings show only the reports the caller may read (:func:`readable_tlps`,
:func:`may_list`): a title is taken from inside the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from policies import TLP, AccessDecision, may_read, may_read_content
from service.audit import ALLOWED, denial, record
from service.errors import Forbidden
from service.identity import Principal
from service.node import Node


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


def check_read(
    node: Node,
    user: Principal,
    marking: ReportMarking,
    *,
    object_type: str,
    object_id: str,
    remote_addr: str | None,
) -> None:
    """Return if ``user`` may read the report.

    Raises:
        Forbidden: ``access_denied``, with the decision, carrying its ``report.read`` denial.
    """
    decision = decide_read(node, user, marking)
    if decision.allowed:
        return
    refusal = denial(user.actor(remote_addr), "report.read", node.utcnow(),
                     f"{decision.rule}: {decision.reason}", object_type=object_type,
                     object_id=object_id, policy_version=decision.policy_version)  # fmt: skip
    raise Forbidden(
        decision.reason, code="access_denied", extra={"decision": decision.to_record()}
    ).recording(refusal)


def record_read(
    session: Session,
    node: Node,
    user: Principal,
    object_type: str,
    object_id: str,
    remote_addr: str | None,
) -> None:
    """Record that ``user`` read the content of ``object_type`` ``object_id``."""
    record(session, actor=user.actor(remote_addr), action="report.read", outcome=ALLOWED,
           at=node.utcnow(), object_type=object_type, object_id=object_id)  # fmt: skip


def readable_tlps(user: Principal) -> list[str]:
    """The TLP labels of the reports ``user`` may list (up to the clearance; none for roles that
    read no content)."""
    if not may_read_content(user.role).allowed:
        return []
    return [level.label for level in TLP if level <= user.clearance]


def may_list(node: Node, user: Principal, marking: ReportMarking) -> bool:
    return decide_read(node, user, marking).allowed
