"""The stable ids of the rules the engine applies, in the order it applies them.

Every decision names one of these ids as the rule that decided it; audit records, API answers and
tests refer to rules by id, so an id never changes meaning. ``docs/policies.md`` describes each.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ACCESS_ALLOW",
    "ACCESS_CLEARANCE",
    "ACCESS_REL_TO",
    "ACCESS_ROLE",
    "INBOUND_ACCEPT",
    "INBOUND_ACCEPTED_TYPES",
    "INBOUND_MAX_BYTES",
    "INBOUND_MAX_TLP",
    "INBOUND_NO_POLICY",
    "INBOUND_REL_TO",
    "INBOUND_REQUIRED_MARKINGS",
    "OUTBOUND_ALLOW",
    "OUTBOUND_ALLOWED_TYPES",
    "OUTBOUND_MAX_TLP",
    "OUTBOUND_NO_POLICY",
    "OUTBOUND_RED",
    "OUTBOUND_REDACT",
    "OUTBOUND_REL_TO",
    "OUTBOUND_TEARLINE",
    "OUTBOUND_THIRD_PARTY",
    "OUTBOUND_TWO_PERSON",
    "RULES",
]

OUTBOUND_NO_POLICY = "outbound.no_policy"
OUTBOUND_TEARLINE = "outbound.tearline"
OUTBOUND_THIRD_PARTY = "outbound.third_party"
OUTBOUND_REL_TO = "outbound.rel_to"
OUTBOUND_MAX_TLP = "outbound.max_tlp"
OUTBOUND_RED = "outbound.red"
OUTBOUND_ALLOWED_TYPES = "outbound.allowed_types"
OUTBOUND_REDACT = "outbound.redact"
OUTBOUND_TWO_PERSON = "outbound.two_person"
OUTBOUND_ALLOW = "outbound.allow"

INBOUND_NO_POLICY = "inbound.no_policy"
INBOUND_MAX_BYTES = "inbound.max_bytes"
INBOUND_ACCEPTED_TYPES = "inbound.accepted_types"
INBOUND_REQUIRED_MARKINGS = "inbound.required_markings"
INBOUND_REL_TO = "inbound.rel_to"
INBOUND_MAX_TLP = "inbound.max_tlp"
INBOUND_ACCEPT = "inbound.accept"

ACCESS_ROLE = "access.role"
ACCESS_CLEARANCE = "access.clearance"
ACCESS_REL_TO = "access.rel_to"
ACCESS_ALLOW = "access.allow"

RULES: Mapping[str, str] = {
    OUTBOUND_NO_POLICY: "nothing is released to a partner without a sharing policy",
    OUTBOUND_TEARLINE: "with a tearline, only objects carrying the tearline marking are candidates",
    OUTBOUND_THIRD_PARTY: "a report received from a partner goes to another partner only if the "
    "originator's marking allows it",
    OUTBOUND_REL_TO: "a REL TO marking must name the partner (and must be present in "
    "require-rel-to mode)",
    OUTBOUND_MAX_TLP: "the report's TLP must not exceed the partner's max_tlp",
    OUTBOUND_RED: "TLP:RED goes only to a partner named in red_recipients",
    OUTBOUND_ALLOWED_TYPES: "objects of types the partner may not receive are removed",
    OUTBOUND_REDACT: "named properties, object types and source identities are removed",
    OUTBOUND_TWO_PERSON: "at or above two_person_min_tlp a second officer with the releaser role "
    "must approve",
    OUTBOUND_ALLOW: "every rule passed and nothing was removed",
    INBOUND_NO_POLICY: "a report from a partner without a sharing policy is quarantined",
    INBOUND_MAX_BYTES: "a report larger than max_bytes is quarantined",
    INBOUND_ACCEPTED_TYPES: "a report holding a type outside accepted_types is quarantined",
    INBOUND_REQUIRED_MARKINGS: "a report without a required marking (TLP, REL TO naming us) is "
    "quarantined",
    INBOUND_REL_TO: "a report whose REL TO marking does not name us, or does not parse, is "
    "quarantined",
    INBOUND_MAX_TLP: "a report above the inbound max_tlp is quarantined",
    INBOUND_ACCEPT: "every inbound rule passed",
    ACCESS_ROLE: "only officers and releasers read report content; auditors see metadata and "
    "decisions",
    ACCESS_CLEARANCE: "an officer reads a report only if cleared to its TLP",
    ACCESS_REL_TO: "a received report with a REL TO marking is read only on a node it names",
    ACCESS_ALLOW: "every access rule passed",
}
"""Every rule id with a one-line description, in the order the engine applies them."""
