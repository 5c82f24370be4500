"""The node's tables (SQLAlchemy 2, typed), one module per domain, all imported from here.
Every change is an Alembic revision in ``migrations/``.

Unique constraints are the guards against duplicates (message ids, request nonces, sequence
numbers), so a race between two workers is settled by the database, not by a check in Python.
Report content is never stored in clear: ``reports.body_ct``, ``inbound.signed_ct`` and the
titles taken from inside reports (``title_ct``) are encrypted with the node data key
(``service.atrest``); ``inbound.envelope`` is the envelope exactly as received (itself
HPKE-encrypted), kept so its signatures can be re-verified later.
"""

from __future__ import annotations

from service.models.audit import (
    AuditAlert,
    AuditCheckpoint,
    AuditCosignature,
    AuditEvent,
    AuditNode,
    WitnessedCheckpoint,
)
from service.models.base import (
    ACTOR_TYPES,
    AUDIT_OUTCOMES,
    CLEARANCES,
    DELIVERY_STATES,
    DRAFT_STATES,
    INBOUND_STATUSES,
    LANGUAGES,
    NAMING,
    RELEASE_OUTCOMES,
    ROLES,
    ROUTES,
    TAXII_COLLECTIONS,
    Base,
    NodeState,
    Timestamp,
    UTCDateTime,
    one_of,
)
from service.models.exchange import Delivery, Inbound, InboundObject, Report, ReportObject
from service.models.identity import (
    ConsoleSession,
    Integration,
    Nonce,
    Partner,
    PartnerKey,
    User,
)
from service.models.platforms import Draft, TaxiiCollection, TaxiiObject, TaxiiStatus

__all__ = [
    "ACTOR_TYPES",
    "AUDIT_OUTCOMES",
    "CLEARANCES",
    "DELIVERY_STATES",
    "DRAFT_STATES",
    "INBOUND_STATUSES",
    "LANGUAGES",
    "NAMING",
    "RELEASE_OUTCOMES",
    "ROLES",
    "ROUTES",
    "TAXII_COLLECTIONS",
    "AuditAlert",
    "AuditCheckpoint",
    "AuditCosignature",
    "AuditEvent",
    "AuditNode",
    "Base",
    "ConsoleSession",
    "Delivery",
    "Draft",
    "Inbound",
    "InboundObject",
    "Integration",
    "NodeState",
    "Nonce",
    "Partner",
    "PartnerKey",
    "Report",
    "ReportObject",
    "TaxiiCollection",
    "TaxiiObject",
    "TaxiiStatus",
    "Timestamp",
    "UTCDateTime",
    "User",
    "WitnessedCheckpoint",
    "one_of",
]
