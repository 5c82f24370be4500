"""What the import normaliser changed, one :class:`Change` per change, for the officer to review.

``kind`` is a stable code (logs, audit records, the console's wording); ``detail`` one English line
naming the object, what it held and what it holds now. Details name properties and markings but
never a person's values (passport numbers, dates of birth): they may be written to logs, and the
values themselves stay in the bundle, where sharing policies can redact them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CHANGE_KINDS",
    "ENVELOPE_WRAPPED",
    "EXTENSION_DECLARED",
    "MARKED_BY_OFFICER",
    "MARKING_DEFINITION_DROPPED",
    "MISP_PERSON_FIELD",
    "MISP_PERSON_FIELD_KEPT",
    "MISP_TAG_MAPPED",
    "OPENCTI_TLP_MAPPED",
    "TLP1_MAPPED",
    "Change",
]

ENVELOPE_WRAPPED = "envelope_wrapped"
TLP1_MAPPED = "tlp1_mapped"
OPENCTI_TLP_MAPPED = "opencti_tlp_mapped"
MISP_TAG_MAPPED = "misp_tag_mapped"
MARKING_DEFINITION_DROPPED = "marking_definition_dropped"
MISP_PERSON_FIELD = "misp_person_field"
MISP_PERSON_FIELD_KEPT = "misp_person_field_kept"
EXTENSION_DECLARED = "extension_declared"
MARKED_BY_OFFICER = "marked_by_officer"

CHANGE_KINDS: Mapping[str, str] = {
    ENVELOPE_WRAPPED: "a TAXII 2.1 envelope was wrapped in a new bundle",
    TLP1_MAPPED: "a STIX 2.1 built-in TLP 1.0 marking was replaced by its TLP 2.0 id",
    OPENCTI_TLP_MAPPED: "an OpenCTI TLP marking definition was replaced by its TLP 2.0 id",
    MISP_TAG_MAPPED: "a MISP tlp: tag exported as a label became a TLP 2.0 marking",
    MARKING_DEFINITION_DROPPED: "a replaced marking definition nothing references was removed",
    MISP_PERSON_FIELD: "a MISP person field moved to its x_liaison_ property",
    MISP_PERSON_FIELD_KEPT: "a MISP person field could not be read and was kept as it was",
    EXTENSION_DECLARED: "the liaison property extension was declared on an object",
    MARKED_BY_OFFICER: "an object without a TLP marking was marked at the officer's choice",
}
"""Every ``Change.kind``, with what it means."""


@dataclass(frozen=True)
class Change:
    """One change the normaliser made.

    ``object_id`` is the STIX id of the object changed (for a dropped marking definition, its own
    id), or None for the bundle as a whole; ``kind`` one of :data:`CHANGE_KINDS`; ``detail`` one
    line for the officer.
    """

    object_id: str | None
    kind: str
    detail: str
