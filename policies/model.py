"""A loaded sharing policy: what this node releases to one partner and accepts from it.

These are plain frozen values. ``policies.loader`` builds them from policy files and checks every
invariant documented on the fields (with errors that point at the line); tests may build them
directly. ``docs/policies.md`` is the file-format reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.tlp import TLP

__all__ = [
    "ALWAYS_ALLOWED_TYPES",
    "PROTECTED_PROPERTIES",
    "InboundRules",
    "OutboundRules",
    "Policy",
    "Redaction",
    "Releasability",
    "RequiredMarking",
    "ThirdParty",
]

Releasability = Literal["honour", "require-rel-to"]
ThirdParty = Literal["never", "originator-marking"]
RequiredMarking = Literal["tlp", "rel-to"]

ALWAYS_ALLOWED_TYPES = frozenset({"marking-definition"})
"""Types that ``allowed_types`` and ``accepted_types`` never exclude and redaction never removes:
markings are kept exactly when a released object still references them."""

PROTECTED_PROPERTIES = frozenset(
    {
        # common properties the project or STIX 2.1 requires
        "type",
        "id",
        "spec_version",
        "created",
        "modified",
        "object_marking_refs",
        "granular_markings",
        "marking_ref",
        "selectors",
        "extensions",
        "extension_type",
        "tlp_2_0",
        # required properties of STIX 2.1 objects and of their nested types
        "name",
        "pattern",
        "pattern_type",
        "valid_from",
        "relationship_type",
        "source_ref",
        "target_ref",
        "sighting_of_ref",
        "object_refs",
        "object_ref",
        "object_modified",
        "contents",
        "content",
        "opinion",
        "published",
        "context",
        "first_observed",
        "last_observed",
        "number_observed",
        "is_family",
        "product",
        "identity_class",
        "source_name",
        "kill_chain_name",
        "phase_name",
        "value",
        "hashes",
        "definition_type",
        "definition",
        "statement",
    }
)
"""Property names redaction may not remove, by name or by prefix, at any depth: removing them
would leave an object that STIX 2.1 or this project refuses (or change what a marking means)."""


@dataclass(frozen=True)
class Redaction:
    """What is removed from every report released to the partner (``[outbound.redact]``).

    ``properties`` are exact property names and ``property_prefixes`` name prefixes; both are
    removed at any depth of every object except marking definitions. ``object_types`` are removed
    whole, and so are ``identity`` objects whose ``identity_class`` is in ``identity_classes``
    (the convention for sources: a source is a person, ``"individual"``).
    """

    properties: frozenset[str] = frozenset()
    property_prefixes: tuple[str, ...] = ()
    object_types: frozenset[str] = frozenset()
    identity_classes: frozenset[str] = frozenset()

    def removes_property(self, name: str) -> bool:
        """Whether a property (or nested key) called ``name`` is redacted."""
        return name in self.properties or name.startswith(self.property_prefixes)

    def removes_object(self, obj: Mapping[str, Any]) -> str | None:
        """Why ``obj`` is redacted as a whole, or None if it is not."""
        kind = obj.get("type")
        if kind in ALWAYS_ALLOWED_TYPES:
            return None
        if kind in self.object_types:
            return f"objects of type {kind} are redacted"
        if kind == "identity" and obj.get("identity_class") in self.identity_classes:
            return f"identities of class {obj.get('identity_class')} are redacted (sources)"
        return None


@dataclass(frozen=True)
class OutboundRules:
    """What may be released to the partner (``[outbound]``).

    ``max_tlp`` is the highest TLP released; it is RED only when ``red_recipients`` names the
    partner (the only id it may name). ``allowed_types`` None means every type. ``tearline`` is
    None or the id of the marking definition whose objects alone are released.
    ``two_person_min_tlp`` None means no report waits for a second officer.
    """

    max_tlp: TLP
    red_recipients: frozenset[str] = frozenset()
    allowed_types: frozenset[str] | None = None
    releasability: Releasability = "honour"
    tearline: str | None = None
    two_person_min_tlp: TLP | None = None
    third_party: ThirdParty = "never"
    redact: Redaction = field(default_factory=Redaction)


@dataclass(frozen=True)
class InboundRules:
    """What is accepted from the partner (``[inbound]``); anything else is quarantined.

    ``accepted_types`` None means every type; ``max_bytes`` None means no limit beyond the
    node's own; ``max_tlp`` None means any level.
    """

    accepted_types: frozenset[str] | None = None
    max_bytes: int | None = None
    required_markings: frozenset[RequiredMarking] = frozenset({"tlp"})
    max_tlp: TLP | None = None


@dataclass(frozen=True)
class Policy:
    """The sharing policy of ``node`` (this node) towards ``partner``.

    ``version`` is ``"sha256:"`` and the hex SHA-256 of the file's bytes: any edit, even of a
    comment, gives a new version, and every decision records the version it used. ``source`` is
    the path the policy was loaded from.
    """

    node: str
    partner: str
    outbound: OutboundRules
    inbound: InboundRules
    version: str
    source: str
    description: str = ""

    @property
    def short_version(self) -> str:
        """The version shortened for display: ``"sha256:"`` and 16 hex digits."""
        return self.version[: len("sha256:") + 16]
