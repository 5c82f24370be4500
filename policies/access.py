"""Local access: who on this node may read a report's content.

Rules, in order (the first that refuses decides):

1. ``access.role``: only roles in ``ROLE_MAY_READ_CONTENT`` (officers and releasers) read report
   content; auditors and administrators see metadata and decisions, never content.
2. ``access.clearance``: an officer reads a report only if cleared to its TLP or higher.
3. ``access.rel_to``: a report received from a partner and marked REL TO is read only on a node it
   names (a partner that released it to us against its own marking does not make it ours to
   read; the inbound rules quarantine it first). A REL TO marking on a report authored here lists
   the partners it may go to, and does not restrict the authors' own service.

These rules are the same on every node and are versioned with the code as
``ACCESS_RULES_VERSION``, which each decision records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.rules import ACCESS_ALLOW, ACCESS_CLEARANCE, ACCESS_REL_TO, ACCESS_ROLE
from policies.tlp import TLP

__all__ = [
    "ACCESS_RULES_VERSION",
    "RELEASER_ROLE",
    "ROLE_MAY_READ_CONTENT",
    "AccessDecision",
    "may_read",
    "may_read_content",
]

ACCESS_RULES_VERSION = "liaison-access/1"
"""The version of the local access rules, recorded in every access decision."""

RELEASER_ROLE = "releaser"
"""The role a second officer needs to approve a held release (two-person rule)."""

ROLE_MAY_READ_CONTENT = frozenset({"officer", RELEASER_ROLE})
"""The roles that may read report content; every other role (auditor, admin) sees metadata."""


@dataclass(frozen=True)
class AccessDecision:
    """Whether an access is allowed, the rule that decided and why."""

    allowed: bool
    rule: str
    reason: str
    policy_version: str = ACCESS_RULES_VERSION

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record for the audit log."""
        return {
            "allowed": self.allowed,
            "rule": self.rule,
            "reason": self.reason,
            "policy_version": self.policy_version,
        }


def may_read_content(role: str) -> AccessDecision:
    """Whether a user with ``role`` may read report content at all (rule ``access.role``)."""
    if role in ROLE_MAY_READ_CONTENT:
        return AccessDecision(True, ACCESS_ROLE, f"role {role!r} reads report content")
    return AccessDecision(
        False,
        ACCESS_ROLE,
        f"role {role!r} sees metadata and decisions, not report content",
    )


def may_read(
    clearance: TLP,
    report_tlp: TLP,
    *,
    rel_to: frozenset[str] | None,
    node_id: str,
    authored_here: bool = False,
) -> AccessDecision:
    """Whether an officer cleared to ``clearance`` may read a report of ``report_tlp`` on node
    ``node_id`` (rules ``access.clearance`` then ``access.rel_to``).

    ``rel_to`` is the report's REL TO list (``policies.rel_to_of``), None if it has none;
    ``authored_here`` says the report was written on this node, whose officers its REL TO does not
    restrict. The role check is :func:`may_read_content`, made first by the caller.
    """
    if report_tlp > clearance:
        return AccessDecision(
            False,
            ACCESS_CLEARANCE,
            f"the report is {report_tlp.label}, above the officer's clearance {clearance.label}",
        )
    if not authored_here and rel_to is not None and node_id not in rel_to:
        names = ", ".join(sorted(rel_to)) or "no node"
        return AccessDecision(
            False,
            ACCESS_REL_TO,
            f"the report is releasable to {names}, not to {node_id}",
        )
    return AccessDecision(
        True,
        ACCESS_ALLOW,
        f"cleared to {clearance.label} for a {report_tlp.label} report",
    )
