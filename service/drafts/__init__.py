"""Drafts: bundles that arrived from outside an officer's hands, waiting for an officer.

A draft is made from an imported file (``liaison report import``, the console's upload) or from
objects a platform posted to a TAXII ``drafts`` collection. It holds the bundle as the import
normaliser left it (``service.imports``: marking dialects mapped to TLP 2.0, MISP's person fields
made structured) and every change the normaliser made, for the officer to confirm. Nothing in a
draft leaves the node: submitting it is an officer's submission, through the same validation,
sharing policies and audit records as any other (``service.reports.submit_bundle``).

    store    making, listing, opening, submitting and discarding drafts
"""

from service.drafts.store import (
    SEALED_COLUMNS,
    DraftView,
    OpenedDraft,
    create_draft,
    discard_draft,
    list_drafts,
    open_draft,
    prepared_bundle,
    submit_draft,
)

__all__ = [
    "SEALED_COLUMNS",
    "DraftView",
    "OpenedDraft",
    "create_draft",
    "discard_draft",
    "list_drafts",
    "open_draft",
    "prepared_bundle",
    "submit_draft",
]
