"""The reports domain: what officers submit and read, and what each partner may receive.

    stix         the one parser of submitted STIX 2.1 (bundle shape, validator, TLP 2.0)
    validator    stix2-validator with its schema validators built once per schema
    states       delivery, release and inbound states, as enums
    content      report content sealed at rest, titles, received bundles re-verified
    submissions  validating and storing a report with one release per partner
    releases     sharing-policy decisions per partner, the two-person rule
    explain      what a partner would receive, and why, before submitting
    inbox        what partners sent, as each user may see it
    quarantine   the inbound policy's verdict, and an officer's review
    provenance   where a report's objects come from (the third-party rule)
    access       who on this node reads which report (clearance, REL TO, role)
    compose      an officer's typed entries (persons, places, indicators...) as a STIX bundle
    readable     a bundle made readable for a person (no markup; the console labels it)
    collections  what each partner's TAXII collections hold (inbox, sent), object by object

The exchange with partners (sealing, sending, receiving) is ``service.exchange``'s.
"""

from service.reports import collections, stix
from service.reports.access import ReportMarking, may_list
from service.reports.compose import (
    RELATIONSHIP_TYPES,
    DocumentEntry,
    DraftInvalid,
    FacilityEntry,
    IndicatorEntry,
    LocationEntry,
    PersonEntry,
    RelationEntry,
    ReportDraft,
    compose,
)
from service.reports.content import (
    SEALED_COLUMNS as _CONTENT_COLUMNS,
)
from service.reports.content import (
    STIX_MEDIA_TYPE,
    open_title,
    own_body,
    released_body,
    seal_title,
    sender_key,
    signed_context,
    title_of,
)
from service.reports.explain import Explanation, explain_outbound
from service.reports.inbox import get_inbound, list_inbox, open_inbound, read_inbound
from service.reports.provenance import record_received
from service.reports.quarantine import (
    Judgement,
    judge,
    marking,
    quarantine_signed_since,
    record_quarantine,
    review,
)
from service.reports.readable import Readable, describe
from service.reports.releases import (
    PolicyRefused,
    Shown,
    approve,
    list_releases,
    refuse,
    show,
    still_released,
)
from service.reports.states import (
    PENDING,
    VOID,
    DeliveryState,
    InboundStatus,
    ReleaseOutcome,
    Route,
)
from service.reports.submissions import (
    DeliveryView,
    delivery_view,
    get_own,
    list_own,
    open_own,
    own_by_bundle,
    own_marking,
    read_own,
    submit,
    submit_bundle,
    validate,
)

SEALED_COLUMNS = (*_CONTENT_COLUMNS, *collections.SEALED_COLUMNS)
"""Every column this package seals with the data keys (``service.atrest.reseal``)."""

__all__ = [
    "PENDING",
    "RELATIONSHIP_TYPES",
    "SEALED_COLUMNS",
    "STIX_MEDIA_TYPE",
    "VOID",
    "DeliveryState",
    "DeliveryView",
    "DocumentEntry",
    "DraftInvalid",
    "Explanation",
    "FacilityEntry",
    "InboundStatus",
    "IndicatorEntry",
    "Judgement",
    "LocationEntry",
    "PersonEntry",
    "PolicyRefused",
    "Readable",
    "RelationEntry",
    "ReleaseOutcome",
    "ReportDraft",
    "ReportMarking",
    "Route",
    "Shown",
    "approve",
    "collections",
    "compose",
    "delivery_view",
    "describe",
    "explain_outbound",
    "get_inbound",
    "get_own",
    "judge",
    "list_inbox",
    "list_own",
    "list_releases",
    "marking",
    "may_list",
    "open_inbound",
    "open_own",
    "open_title",
    "own_body",
    "own_by_bundle",
    "own_marking",
    "quarantine_signed_since",
    "read_inbound",
    "read_own",
    "record_quarantine",
    "record_received",
    "refuse",
    "released_body",
    "review",
    "seal_title",
    "sender_key",
    "show",
    "signed_context",
    "still_released",
    "stix",
    "submit",
    "submit_bundle",
    "title_of",
    "validate",
]
