"""Sharing policies: what may leave for each partner, redacted how, and what is accepted.

A pure library (no web framework, no database, nothing from ``service`` or ``clients``): the
service loads the policies at start-up, asks the engine for a decision at each release, receipt
and read, and records each decision with the policy version it used. ``docs/policies.md`` is the
reference.

* ``load_policy_dir(path, node=...)`` reads ``<partner>.toml`` files into ``Policy`` values,
  refusing the whole set (``PolicyInvalid``, every problem with its file and line) if any is bad.
* ``decide_outbound(policy, bundle, report_tlp=..., origin=...)`` gives an ``OutboundDecision``:
  allow, redact, hold or deny, the rule that decided, the bundle the partner would receive and a
  diff against the submission. ``may_approve`` checks the second officer of a held release.
* ``decide_inbound(policy, bundle, size=..., report_tlp=...)`` gives accept or quarantine.
* ``may_read_content(role)`` and ``may_read(clearance, report_tlp, ...)`` decide local reads.
"""

from __future__ import annotations

from policies.access import (
    ACCESS_RULES_VERSION,
    RELEASER_ROLE,
    ROLE_MAY_READ_CONTENT,
    AccessDecision,
    may_read,
    may_read_content,
)
from policies.errors import (
    ApprovalRequired,
    MarkingInvalid,
    NoPolicy,
    PolicyDenied,
    PolicyError,
    PolicyInvalid,
    Problem,
)
from policies.inbound import (
    NO_POLICY_VERSION,
    Finding,
    InboundDecision,
    decide_inbound,
    quarantine_without_policy,
)
from policies.loader import (
    EXAMPLES_DIR,
    FORMAT,
    load_policy,
    load_policy_dir,
    parse_policy,
    policy_for,
)
from policies.markings import format_rel_to, parse_rel_to, rel_to_marking, rel_to_of
from policies.model import InboundRules, OutboundRules, Policy, Redaction
from policies.outbound import (
    Origin,
    OutboundDecision,
    Step,
    decide_outbound,
    deny_without_policy,
    may_approve,
)
from policies.redaction import (
    RemovalReport,
    RemovedObject,
    RemovedProperty,
    RemovedRef,
    bundle_diff,
)
from policies.rules import RULES
from policies.tlp import TLP

__all__ = [
    "ACCESS_RULES_VERSION",
    "EXAMPLES_DIR",
    "FORMAT",
    "NO_POLICY_VERSION",
    "RELEASER_ROLE",
    "ROLE_MAY_READ_CONTENT",
    "RULES",
    "TLP",
    "AccessDecision",
    "ApprovalRequired",
    "Finding",
    "InboundDecision",
    "InboundRules",
    "MarkingInvalid",
    "NoPolicy",
    "Origin",
    "OutboundDecision",
    "OutboundRules",
    "Policy",
    "PolicyDenied",
    "PolicyError",
    "PolicyInvalid",
    "Problem",
    "Redaction",
    "RemovalReport",
    "RemovedObject",
    "RemovedProperty",
    "RemovedRef",
    "Step",
    "bundle_diff",
    "decide_inbound",
    "decide_outbound",
    "deny_without_policy",
    "format_rel_to",
    "load_policy",
    "load_policy_dir",
    "may_approve",
    "may_read",
    "may_read_content",
    "parse_policy",
    "parse_rel_to",
    "policy_for",
    "quarantine_without_policy",
    "rel_to_marking",
    "rel_to_of",
]
