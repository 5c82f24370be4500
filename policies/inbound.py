"""Inbound: whether a report received from a partner is accepted or quarantined, and why.

``decide_inbound`` checks every rule and lists every finding; the first decides the rule named
in the decision. A report that breaks the policy is quarantined for an officer's review with the
reasons, never silently dropped and never silently accepted. Rules, in order:

1. ``inbound.max_bytes``: the report's size in bytes is at most ``max_bytes``.
2. ``inbound.accepted_types``: every object's type is in ``accepted_types`` (marking definitions
   always are).
3. ``inbound.required_markings``: with ``"tlp"``, every object except marking definitions carries
   a TLP marking; with ``"rel-to"``, the report carries a REL TO marking.
4. ``inbound.rel_to``: every REL TO marking parses and names this node (a partner sending us
   what its own marking does not release to us has made a mistake an officer should see), unless
   the report is one this node wrote, returning.
5. ``inbound.max_tlp``: the report's TLP is at most ``max_tlp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from policies.markings import MarkingIndex
from policies.model import ALWAYS_ALLOWED_TYPES, Policy
from policies.rules import (
    INBOUND_ACCEPT,
    INBOUND_ACCEPTED_TYPES,
    INBOUND_MAX_BYTES,
    INBOUND_MAX_TLP,
    INBOUND_NO_POLICY,
    INBOUND_REL_TO,
    INBOUND_REQUIRED_MARKINGS,
)
from policies.tlp import TLP

NO_POLICY_VERSION = "none"
"""The ``policy_version`` of a decision taken because no policy was loaded."""

__all__ = [
    "Finding",
    "InboundDecision",
    "InboundOutcome",
    "decide_inbound",
    "quarantine_without_policy",
]

InboundOutcome = Literal["accept", "quarantine"]
MAX_NAMED = 10
"""A finding names at most this many objects or types."""


@dataclass(frozen=True)
class Finding:
    """One inbound rule the report breaks."""

    rule: str
    message: str


@dataclass(frozen=True)
class InboundDecision:
    """``accept`` or ``quarantine``; ``rule`` is the first rule broken (``inbound.accept`` when
    none is), ``reason`` a human sentence and ``findings`` every rule broken, in rule order."""

    outcome: InboundOutcome
    rule: str
    reason: str
    policy_version: str
    partner: str
    findings: tuple[Finding, ...]

    @property
    def accepted(self) -> bool:
        return self.outcome == "accept"

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record for the audit log and the quarantine (no report content)."""
        return {
            "direction": "inbound",
            "partner": self.partner,
            "outcome": self.outcome,
            "rule": self.rule,
            "reason": self.reason,
            "policy_version": self.policy_version,
            "findings": [{"rule": f.rule, "message": f.message} for f in self.findings],
        }


def quarantine_without_policy(partner: str) -> InboundDecision:
    """The decision for a report from ``partner`` when no policy for it is loaded: quarantined
    (rule ``inbound.no_policy``), since nothing says what is accepted from it."""
    reason = f"no sharing policy for {partner} is loaded, so nothing says what is accepted from it"
    return InboundDecision(
        "quarantine",
        INBOUND_NO_POLICY,
        reason,
        NO_POLICY_VERSION,
        partner,
        (Finding(INBOUND_NO_POLICY, reason),),
    )


def decide_inbound(
    policy: Policy,
    bundle: Mapping[str, Any],
    *,
    size: int,
    report_tlp: TLP,
    authored_here: bool = False,
) -> InboundDecision:
    """Decide whether to accept ``bundle`` received from ``policy.partner`` (rules in the module
    docstring).

    ``bundle`` is the parsed STIX bundle that ``service.stix.validate_report`` accepted,
    ``size`` its size in bytes as received and ``report_tlp`` the TLP the service computed.
    ``authored_here`` says the partner is returning a report this node wrote (the service knows
    its ids): its REL TO markings are ours and do not have to name us. Never raises for a report:
    every problem is a finding.
    """
    rules = policy.inbound
    raw = bundle.get("objects")
    objects = [obj for obj in (raw if isinstance(raw, list) else []) if isinstance(obj, dict)]
    findings: list[Finding] = []

    if rules.max_bytes is not None and size > rules.max_bytes:
        findings.append(
            Finding(INBOUND_MAX_BYTES, f"{size} bytes, more than the {rules.max_bytes} accepted")
        )

    if rules.accepted_types is not None:
        accepted = rules.accepted_types | ALWAYS_ALLOWED_TYPES
        refused = sorted({str(o.get("type")) for o in objects} - accepted)
        if refused:
            findings.append(
                Finding(INBOUND_ACCEPTED_TYPES, f"types not accepted: {_listed(refused)}")
            )

    index = MarkingIndex.of(objects)
    if "tlp" in rules.required_markings:
        unmarked = [
            str(o.get("id"))
            for o in objects
            if o.get("type") != "marking-definition" and index.object_tlp(o) is None
        ]
        if unmarked:
            findings.append(
                Finding(INBOUND_REQUIRED_MARKINGS, f"objects without TLP: {_listed(unmarked)}")
            )
    names = None if index.invalid else index.rel_to_of(objects)
    if "rel-to" in rules.required_markings and not index.invalid and names is None:
        findings.append(
            Finding(
                INBOUND_REQUIRED_MARKINGS,
                f"no REL TO marking, and one naming {policy.node} is required",
            )
        )

    if index.invalid:
        findings.append(
            Finding(INBOUND_REL_TO, "a REL TO marking does not parse: " + "; ".join(index.invalid))
        )
    elif names is not None and policy.node not in names and not authored_here:
        listed = ", ".join(sorted(names)) or "(no common partner)"
        findings.append(
            Finding(INBOUND_REL_TO, f"marked REL TO {listed}, which does not name {policy.node}")
        )

    if rules.max_tlp is not None and report_tlp > rules.max_tlp:
        findings.append(
            Finding(
                INBOUND_MAX_TLP,
                f"the report is {report_tlp.label}, above {rules.max_tlp.label} accepted from "
                f"{policy.partner}",
            )
        )

    if findings:
        return InboundDecision(
            outcome="quarantine",
            rule=findings[0].rule,
            reason="; ".join(f.message for f in findings),
            policy_version=policy.version,
            partner=policy.partner,
            findings=tuple(findings),
        )
    return InboundDecision(
        outcome="accept",
        rule=INBOUND_ACCEPT,
        reason=f"every inbound rule of the policy for {policy.partner} passed",
        policy_version=policy.version,
        partner=policy.partner,
        findings=(),
    )


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    if len(items) > MAX_NAMED:
        shown += f" and {len(items) - MAX_NAMED} more"
    return shown
