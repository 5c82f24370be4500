"""What the home network's platforms see and send: TAXII collections and their objects, the
status of each TAXII POST, and drafts waiting for an officer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import DRAFT_STATES, TAXII_COLLECTIONS, Base, Timestamp, one_of

if TYPE_CHECKING:
    from service.models.identity import Partner


class TaxiiCollection(Base):
    """A readable TAXII collection (a partner's ``inbox`` or ``sent``) and the date_added of the
    last object added to it. Adding objects locks this row until the transaction commits, so
    objects become visible in the order of their ``date_added``: a client that polls with
    ``added_after`` set to the last date it saw never misses one (docs/integration.md)."""

    __tablename__ = "taxii_collections"
    __table_args__ = (one_of("kind", TAXII_COLLECTIONS),)

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_added_us: Mapped[int] = mapped_column(BigInteger, default=0)


class TaxiiObject(Base):
    """One version of one STIX object in a TAXII collection, sealed at rest.

    ``added_us`` (date_added, microseconds since the epoch) is unique and increasing within a
    collection: it is the paging key (keyset paging over ``ix_taxii_objects_partner_id_kind_
    added_us``). ``version_us`` is the object's ``modified`` (else ``created``, else its
    date_added); ``tlp_rank`` the rank of the report it came with (0 CLEAR to 3 AMBER+STRICT:
    TLP:RED reports are never added), compared with a credential's clearance.
    """

    __tablename__ = "taxii_objects"
    __table_args__ = (
        UniqueConstraint("partner_id", "kind", "object_id", "version_us"),
        Index("ix_taxii_objects_partner_id_kind_added_us", "partner_id", "kind", "added_us"),
        Index(
            "ix_taxii_objects_partner_id_kind_object_type_added_us",
            "partner_id",
            "kind",
            "object_type",
            "added_us",
        ),
        one_of("kind", TAXII_COLLECTIONS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(300))
    object_type: Mapped[str] = mapped_column(String(250))
    spec_version: Mapped[str] = mapped_column(String(8))
    version_us: Mapped[int] = mapped_column(BigInteger)
    added_us: Mapped[int] = mapped_column(BigInteger)
    tlp_rank: Mapped[int] = mapped_column(Integer)
    # Where it came from: an inbound report's id, or a delivery's message id.
    source: Mapped[str] = mapped_column(String(128))
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)


class TaxiiStatus(Base):
    """The TAXII status resource of one POST to a ``drafts`` collection (TAXII 2.1 section 4.3):
    what became of each object. ``detail`` is JSON: successes and failures, ids and messages."""

    __tablename__ = "taxii_statuses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    requested_at: Mapped[datetime] = mapped_column(Timestamp)
    total_count: Mapped[int] = mapped_column(Integer)
    success_count: Mapped[int] = mapped_column(Integer)
    failure_count: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)
    draft_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class Draft(Base):
    """A bundle that came in from outside an officer's hands (a TAXII ``drafts`` collection, an
    imported file), normalised and waiting for an officer to review and submit or discard it.
    Nothing in a draft leaves the node: submitting it is an officer's submission.

    ``body_ct`` is the normalised bundle and ``changes_ct`` the normaliser's changes (JSON; they
    quote content, so both are sealed at rest like report bodies).
    """

    __tablename__ = "drafts"
    __table_args__ = (one_of("state", DRAFT_STATES),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(140))
    source_format: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    title_ct: Mapped[bytes] = mapped_column(LargeBinary)
    # The highest TLP level its objects carry (None: none is marked yet); reading it needs it.
    tlp: Mapped[str | None] = mapped_column(String(20), nullable=True)
    object_count: Mapped[int] = mapped_column(Integer)
    unmarked_count: Mapped[int] = mapped_column(Integer)
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
    changes_ct: Mapped[bytes] = mapped_column(LargeBinary)
    report_id: Mapped[str | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)

    partner: Mapped[Partner | None] = relationship(lazy="joined")
