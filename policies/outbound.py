"""Outbound: what a partner receives of a submitted report, and which rule decided it.

``decide_outbound`` applies the rules of one partner's policy in this order; a gate that fails
denies at once, a cut removes objects or properties and goes on:

1. ``outbound.tearline`` (cut, only with ``tearline`` set): only objects whose
   ``object_marking_refs`` hold the tearline marking are candidates, the rest is removed; no
   marked object at all denies. The gates below judge the candidates, so a GREEN tearline
   portion of an AMBER report is judged as GREEN.
2. ``outbound.third_party`` (gate): a report received from partner X goes to another partner P
   only under ``third_party = "originator-marking"``, and then only if X's marking allows it:
   X's REL TO names P, or X marked it TLP:CLEAR without a REL TO. X's TLP:RED never goes on.
   Returning a report to X itself is not a third-party release.
3. ``outbound.rel_to`` (gate): every REL TO marking on a candidate must name P (any REL TO that
   does not parse denies); under ``releasability = "require-rel-to"`` one must be present. A
   report returning to its originator passes: the originator wrote those markings.
4. ``outbound.red`` / ``outbound.max_tlp`` (gate): the effective TLP (the candidates' highest, at
   least the service's ``report_tlp`` when there is no tearline, at least the originator's TLP
   for a received report) must not exceed ``max_tlp``; TLP:RED needs P in ``red_recipients``.
5. ``outbound.allowed_types`` (cut): objects of other types are removed.
6. ``outbound.redact`` (cut): redacted object types and identity classes, then properties.
   After a cut, a release left without any substantive object (only identities, markings and
   the like) where the submission had some is denied by the rule of that cut.
7. ``outbound.two_person`` (hold): at or above ``two_person_min_tlp`` the release waits for a
   second officer with the releaser role; the released bundle is computed so that they see it.

The outcome is ``deny`` at a failed gate, else ``hold`` at step 7, else ``redact`` if anything was
removed, else ``allow``. Redaction does not lower the TLP (what remains was written under it);
only a tearline selects a portion with its own marking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.access import RELEASER_ROLE, AccessDecision
from policies.errors import ApprovalRequired, PolicyDenied
from policies.inbound import NO_POLICY_VERSION
from policies.markings import MarkingIndex, rel_to_of
from policies.model import ALWAYS_ALLOWED_TYPES, Policy
from policies.redaction import Cut, RemovalReport, bundle_diff
from policies.rules import (
    OUTBOUND_ALLOW,
    OUTBOUND_ALLOWED_TYPES,
    OUTBOUND_MAX_TLP,
    OUTBOUND_NO_POLICY,
    OUTBOUND_RED,
    OUTBOUND_REDACT,
    OUTBOUND_REL_TO,
    OUTBOUND_TEARLINE,
    OUTBOUND_THIRD_PARTY,
    OUTBOUND_TWO_PERSON,
)
from policies.tlp import TLP

__all__ = [
    "Origin",
    "OutboundDecision",
    "OutboundOutcome",
    "Step",
    "decide_outbound",
    "deny_without_policy",
    "may_approve",
]

OutboundOutcome = Literal["allow", "redact", "deny", "hold"]
Verdict = Literal["pass", "redact", "deny", "hold", "skip"]


@dataclass(frozen=True)
class Origin:
    """Where a report to be released comes from: authored on this node (``partner`` None), or
    received from ``partner`` with the TLP and REL TO list that partner gave it.

    For a received report, record the originator's markings from the copy as received (not from
    what an officer resubmits), so that relabelling cannot launder it.
    """

    partner: str | None = None
    tlp: TLP | None = None
    rel_to: frozenset[str] | None = None

    @classmethod
    def local(cls) -> Origin:
        """A report authored on this node."""
        return cls()

    @classmethod
    def received(cls, partner: str, *, tlp: TLP, rel_to: frozenset[str] | None) -> Origin:
        """A report received from ``partner``, which marked it ``tlp`` and REL TO ``rel_to``."""
        return cls(partner=partner, tlp=tlp, rel_to=rel_to)

    @classmethod
    def from_received_bundle(cls, partner: str, bundle: Mapping[str, Any], *, tlp: TLP) -> Origin:
        """The origin of ``bundle`` as received from ``partner`` (REL TO read from its markings).

        Raises:
            MarkingInvalid: a REL TO marking of the bundle does not parse.
        """
        return cls(partner=partner, tlp=tlp, rel_to=rel_to_of(bundle))

    def to_record(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "tlp": self.tlp.value if self.tlp else None,
            "rel_to": sorted(self.rel_to) if self.rel_to is not None else None,
        }


@dataclass(frozen=True)
class Step:
    """One rule as the engine applied it: ``verdict`` is pass, redact, deny, hold or skip (the
    rule is not configured), ``detail`` a human sentence."""

    rule: str
    verdict: Verdict
    detail: str


@dataclass(frozen=True)
class OutboundDecision:
    """What a partner would receive of a submitted report, and why.

    ``outcome``: ``allow`` (released unchanged), ``redact`` (released with removals), ``hold``
    (``released`` is computed but waits for a second officer; ``approved_outcome`` is what it
    becomes once approved) or ``deny`` (``released`` is None). ``rule`` is the rule that decided
    (for ``redact``, the first that removed something), ``reason`` a human sentence, ``tlp`` the
    effective TLP the gates judged, ``steps`` the trace of every rule in order and ``removed``
    every removal. ``submitted`` is the caller's bundle (not copied, never modified).
    """

    outcome: OutboundOutcome
    rule: str
    reason: str
    policy_version: str
    partner: str
    tlp: TLP
    released: dict[str, Any] | None
    removed: RemovalReport
    steps: tuple[Step, ...]
    submitted: Mapping[str, Any] = field(repr=False, compare=False)
    approved_outcome: Literal["allow", "redact"] | None = None

    def diff(self, context: int = 3) -> str:
        """A unified diff from the submitted bundle to what the partner would receive (JSON with
        sorted keys, two-space indent); empty when both are the same, everything removed on
        deny."""
        return bundle_diff(
            self.submitted, self.released, tofile=f"released to {self.partner}", context=context
        )

    def require_released(self) -> dict[str, Any]:
        """The bundle to send now.

        Raises:
            ApprovalRequired: the outcome is ``hold``.
            PolicyDenied: the outcome is ``deny``.
        """
        if self.outcome == "hold":
            raise ApprovalRequired(self.rule, self.reason, self.policy_version)
        if self.outcome == "deny" or self.released is None:
            raise PolicyDenied(self.rule, self.reason, self.policy_version)
        return self.released

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record for the audit log and the API: the decision, its trace and the
        removals (ids, property names, rules), but no report content."""
        return {
            "direction": "outbound",
            "partner": self.partner,
            "outcome": self.outcome,
            "rule": self.rule,
            "reason": self.reason,
            "policy_version": self.policy_version,
            "tlp": self.tlp.value,
            "approved_outcome": self.approved_outcome,
            "steps": [
                {"rule": s.rule, "verdict": s.verdict, "detail": s.detail} for s in self.steps
            ],
            "removed": self.removed.to_record(),
            "submitted_objects": _count(self.submitted),
            "released_objects": _count(self.released) if self.released is not None else 0,
        }


def decide_outbound(
    policy: Policy,
    bundle: Mapping[str, Any],
    *,
    report_tlp: TLP,
    origin: Origin,
) -> OutboundDecision:
    """Decide what ``policy.partner`` receives of ``bundle`` (rules in the module docstring).

    ``bundle`` is a parsed STIX bundle that ``service.stix.validate_report`` accepted, and
    ``report_tlp`` the TLP it computed; ``origin`` says whether the report was authored here or
    received from a partner. Never raises for a report: every refusal is a ``deny`` decision.
    """
    return _Evaluation(policy, bundle, report_tlp, origin).run()


def deny_without_policy(
    partner: str, bundle: Mapping[str, Any], *, report_tlp: TLP
) -> OutboundDecision:
    """The decision when no policy for ``partner`` is loaded: deny (rule ``outbound.no_policy``);
    a partner without a policy receives nothing."""
    reason = f"no sharing policy for {partner} is loaded, so nothing is released to it"
    return OutboundDecision(
        outcome="deny",
        rule=OUTBOUND_NO_POLICY,
        reason=reason,
        policy_version=NO_POLICY_VERSION,
        partner=partner,
        tlp=report_tlp,
        released=None,
        removed=RemovalReport(),
        steps=(Step(OUTBOUND_NO_POLICY, "deny", reason),),
        submitted=bundle,
    )


def may_approve(
    decision: OutboundDecision,
    *,
    submitter: str,
    approver: str,
    approver_roles: frozenset[str],
) -> AccessDecision:
    """Whether ``approver`` may approve a held release (rule ``outbound.two_person``): the
    decision must be a hold, the approver another person than the submitter, and a holder of the
    releaser role. The caller records approvals and refusals, and re-decides with the current
    policy before sending if its version changed."""

    def answer(allowed: bool, reason: str) -> AccessDecision:
        return AccessDecision(allowed, OUTBOUND_TWO_PERSON, reason, decision.policy_version)

    if decision.outcome != "hold":
        return answer(False, f"the release is {decision.outcome}, not waiting for approval")
    if approver == submitter:
        return answer(False, "the second officer must be another person than the submitter")
    if RELEASER_ROLE not in approver_roles:
        return answer(False, f"approving a held release needs the {RELEASER_ROLE} role")
    return answer(True, f"{approver} approves the release submitted by {submitter}")


# --- the evaluation -----------------------------------------------------------------------------


class _Denied(Exception):
    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class _Evaluation:
    """One run of the outbound rules over one bundle."""

    def __init__(
        self, policy: Policy, bundle: Mapping[str, Any], report_tlp: TLP, origin: Origin
    ) -> None:
        self.policy = policy
        self.rules = policy.outbound
        self.partner = policy.partner
        self.bundle = bundle
        self.origin = origin
        self.cut = Cut(bundle)
        self.index = MarkingIndex.of(self.cut.objects)
        self.substantive_before = self.cut.substantive()
        self.tlp = report_tlp
        self.steps: list[Step] = []

    def run(self) -> OutboundDecision:
        try:
            self.tearline()
            self.third_party()
            self.rel_to()
            self.max_tlp()
            self.allowed_types()
            self.redact()
        except _Denied as denied:
            self.steps.append(Step(denied.rule, "deny", denied.reason))
            return self.decision("deny", denied.rule, denied.reason, released=None)
        removed = self.cut.report()
        cut_outcome: Literal["allow", "redact"] = "redact" if removed else "allow"
        threshold = self.rules.two_person_min_tlp
        if threshold is not None and self.tlp >= threshold:
            reason = (
                f"{self.tlp.label} is at or above {threshold.label}: a second officer with the "
                f"{RELEASER_ROLE} role must approve the release"
            )
            self.steps.append(Step(OUTBOUND_TWO_PERSON, "hold", reason))
            cuts = [s.detail for s in self.steps if s.verdict == "redact"]
            reason += "; once approved it is released " + (
                "with removals: " + "; ".join(cuts) if cuts else "unchanged"
            )
            return self.decision(
                "hold", OUTBOUND_TWO_PERSON, reason, self.cut.bundle(), approved=cut_outcome
            )
        detail = "no two-person threshold" if threshold is None else f"below {threshold.label}"
        self.steps.append(Step(OUTBOUND_TWO_PERSON, "pass" if threshold else "skip", detail))
        if removed:
            reasons = [s.detail for s in self.steps if s.verdict == "redact"]
            return self.decision("redact", removed.rules[0], "; ".join(reasons), self.cut.bundle())
        reason = f"every rule passed: released unchanged to {self.partner} at {self.tlp.label}"
        return self.decision("allow", OUTBOUND_ALLOW, reason, self.cut.bundle())

    def decision(
        self,
        outcome: OutboundOutcome,
        rule: str,
        reason: str,
        released: dict[str, Any] | None,
        *,
        approved: Literal["allow", "redact"] | None = None,
    ) -> OutboundDecision:
        return OutboundDecision(
            outcome=outcome,
            rule=rule,
            reason=reason,
            policy_version=self.policy.version,
            partner=self.partner,
            tlp=self.tlp,
            released=released,
            removed=self.cut.report(),
            steps=tuple(self.steps),
            submitted=self.bundle,
            approved_outcome=approved,
        )

    def step(self, rule: str, verdict: Verdict, detail: str) -> None:
        self.steps.append(Step(rule, verdict, detail))

    def check_substance(self, rule: str) -> None:
        if self.substantive_before and not self.cut.substantive():
            raise _Denied(
                rule,
                "nothing substantive would remain for the partner (only identities, markings "
                "and the like)",
            )

    # --- 1. tearline ----------------------------------------------------------------------------

    def tearline(self) -> None:
        marking = self.rules.tearline
        candidates_tlp = self.index.tlp_of(self.cut.objects)
        if marking is None:
            self.tlp = max(self.tlp, candidates_tlp or self.tlp)
            self.step(OUTBOUND_TEARLINE, "skip", "no tearline: the whole report is a candidate")
        else:

            def outside(obj: dict[str, Any]) -> str | None:
                refs = obj.get("object_marking_refs")
                if obj.get("type") in ALWAYS_ALLOWED_TYPES or (
                    isinstance(refs, list) and marking in refs
                ):
                    return None
                return f"outside the tearline (not marked {marking})"

            if all(
                outside(obj)
                for obj in self.cut.objects
                if obj.get("type") not in ALWAYS_ALLOWED_TYPES
            ):
                raise _Denied(
                    OUTBOUND_TEARLINE, f"no object carries the tearline marking {marking}"
                )
            removed = self.cut.remove_objects(outside, OUTBOUND_TEARLINE)
            self.check_substance(OUTBOUND_TEARLINE)
            self.tlp = self.index.tlp_of(self.cut.objects) or self.tlp
            if removed:
                self.step(
                    OUTBOUND_TEARLINE,
                    "redact",
                    f"only the tearline portion is released ({removed} objects outside it "
                    f"removed); the portion is {self.tlp.label}",
                )
            else:
                self.step(OUTBOUND_TEARLINE, "pass", "every object is inside the tearline")
        if self.origin.tlp is not None and self.origin.tlp > self.tlp:
            self.tlp = self.origin.tlp

    # --- 2. third party -------------------------------------------------------------------------

    def third_party(self) -> None:
        origin = self.origin
        if origin.partner is None:
            self.step(OUTBOUND_THIRD_PARTY, "pass", "authored on this node")
            return
        if origin.partner == self.partner:
            self.step(OUTBOUND_THIRD_PARTY, "pass", f"returns to its originator {origin.partner}")
            return
        received = f"received from {origin.partner}"
        if self.rules.third_party == "never":
            raise _Denied(
                OUTBOUND_THIRD_PARTY,
                f"{received}; this policy passes nothing received from another partner to "
                f'{self.partner} (third_party = "never")',
            )
        if origin.tlp is TLP.RED:
            raise _Denied(OUTBOUND_THIRD_PARTY, f"{received} as TLP:RED, which is never passed on")
        if origin.rel_to is not None:
            if self.partner in origin.rel_to:
                self.step(
                    OUTBOUND_THIRD_PARTY,
                    "pass",
                    f"{received}, whose REL TO {_names(origin.rel_to)} names {self.partner}",
                )
                return
            raise _Denied(
                OUTBOUND_THIRD_PARTY,
                f"{received}, whose REL TO {_names(origin.rel_to)} does not name {self.partner}",
            )
        if origin.tlp is TLP.CLEAR:
            self.step(OUTBOUND_THIRD_PARTY, "pass", f"{received} as TLP:CLEAR")
            return
        level = origin.tlp.label if origin.tlp else "an unknown TLP"
        raise _Denied(
            OUTBOUND_THIRD_PARTY,
            f"{received} as {level} without a REL TO marking naming {self.partner}",
        )

    # --- 3. REL TO ------------------------------------------------------------------------------

    def rel_to(self) -> None:
        if self.index.invalid:
            raise _Denied(
                OUTBOUND_REL_TO, "a REL TO marking does not parse: " + "; ".join(self.index.invalid)
            )
        names = self.index.rel_to_of(self.cut.objects)
        if names is None:
            if self.rules.releasability == "require-rel-to":
                raise _Denied(
                    OUTBOUND_REL_TO,
                    f"the policy requires a REL TO marking naming {self.partner}, and the report "
                    "carries none",
                )
            self.step(OUTBOUND_REL_TO, "pass", "no REL TO marking")
            return
        if self.partner == self.origin.partner:
            self.step(
                OUTBOUND_REL_TO,
                "pass",
                f"marked REL TO {_names(names)} by {self.partner}, to whom it returns",
            )
            return
        if self.partner not in names:
            raise _Denied(
                OUTBOUND_REL_TO,
                f"marked REL TO {_names(names)}, which does not name {self.partner}",
            )
        self.step(OUTBOUND_REL_TO, "pass", f"marked REL TO {_names(names)}")

    # --- 4. TLP ---------------------------------------------------------------------------------

    def max_tlp(self) -> None:
        rules = self.rules
        if self.tlp is TLP.RED:
            if self.partner in rules.red_recipients and rules.max_tlp is TLP.RED:
                self.step(OUTBOUND_RED, "pass", f"TLP:RED, and {self.partner} is a named recipient")
                return
            raise _Denied(
                OUTBOUND_RED,
                f"the report is TLP:RED, which goes only to named recipients, and "
                f"{self.partner} is not one",
            )
        if self.tlp > rules.max_tlp:
            raise _Denied(
                OUTBOUND_MAX_TLP,
                f"the report is {self.tlp.label}, above {rules.max_tlp.label}, the highest "
                f"releasable to {self.partner}",
            )
        self.step(OUTBOUND_MAX_TLP, "pass", f"{self.tlp.label} is within {rules.max_tlp.label}")

    # --- 5. allowed types -----------------------------------------------------------------------

    def allowed_types(self) -> None:
        allowed = self.rules.allowed_types
        if allowed is None:
            self.step(OUTBOUND_ALLOWED_TYPES, "skip", "every type is allowed")
            return

        def disallowed(obj: dict[str, Any]) -> str | None:
            kind = obj.get("type")
            if kind in allowed or kind in ALWAYS_ALLOWED_TYPES:
                return None
            return f"type {kind} is not allowed for {self.partner}"

        types = sorted({str(o.get("type")) for o in self.cut.objects if disallowed(o)})
        removed = self.cut.remove_objects(disallowed, OUTBOUND_ALLOWED_TYPES)
        self.check_substance(OUTBOUND_ALLOWED_TYPES)
        if removed:
            self.step(
                OUTBOUND_ALLOWED_TYPES,
                "redact",
                f"{removed} objects removed: {', '.join(types)} not allowed for {self.partner}",
            )
        else:
            self.step(OUTBOUND_ALLOWED_TYPES, "pass", "every object's type is allowed")

    # --- 6. redaction ---------------------------------------------------------------------------

    def redact(self) -> None:
        redaction = self.rules.redact
        objects = self.cut.remove_objects(redaction.removes_object, OUTBOUND_REDACT)
        properties = self.cut.remove_properties(redaction, OUTBOUND_REDACT)
        self.check_substance(OUTBOUND_REDACT)
        if objects or properties:
            self.step(
                OUTBOUND_REDACT,
                "redact",
                f"redacted {objects} objects and {properties} properties",
            )
        else:
            self.step(OUTBOUND_REDACT, "pass", "nothing to redact")


def _names(names: frozenset[str]) -> str:
    return ", ".join(sorted(names)) if names else "(no common partner)"


def _count(bundle: Mapping[str, Any]) -> int:
    objects = bundle.get("objects")
    return len(objects) if isinstance(objects, list) else 0
