"""Imports: another platform's STIX 2.1 export made ready for the strict validator.

    normalise    the entry point: size, JSON, envelope, source, then the steps below, in order
    markings     TLP 1.0, OpenCTI and MISP-tag markings mapped to TLP 2.0 ids; what stays unmarked
    opencti      OpenCTI's exports recognised, its TLP marking definitions read
    misp         misp-stix's exports recognised, its tlp: tags read
    misp_person  misp-stix's person fields moved to the x_liaison_ properties compose writes
    changes      Change, one per change made, and the stable codes of its kinds

Pure domain code: no web framework, no database, no network, no clock. Nothing here validates:
:func:`normalise` returns bytes for ``service.reports.stix.validate_report``, which stays the only
way submitted STIX enters the service, and objects without a TLP marking are never marked but at
the officer's explicit choice.
"""

from service.imports.changes import CHANGE_KINDS, Change
from service.imports.normaliser import (
    OFFICER_LEVELS,
    Normalised,
    Source,
    normalise,
    normalise_parsed,
)

__all__ = [
    "CHANGE_KINDS",
    "OFFICER_LEVELS",
    "Change",
    "Normalised",
    "Source",
    "normalise",
    "normalise_parsed",
]
