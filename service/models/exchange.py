"""Reports and their journeys: what officers submitted, each delivery to a partner, and what
partners sent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import (
    DELIVERY_STATES,
    INBOUND_STATUSES,
    RELEASE_OUTCOMES,
    ROUTES,
    Base,
    Timestamp,
    one_of,
)

if TYPE_CHECKING:
    from service.models.identity import Partner, User


class Report(Base):
    """A report an officer of this node submitted."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    bundle_id: Mapped[str] = mapped_column(String(100), index=True)
    # The title comes from inside the report (e.g. a cell's name): sealed like the body.
    title_ct: Mapped[bytes] = mapped_column(LargeBinary)
    tlp: Mapped[str] = mapped_column(String(20))
    object_count: Mapped[int] = mapped_column(Integer)
    object_types: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="report", order_by="Delivery.id", lazy="selectin"
    )
    submitter: Mapped[User] = relationship(lazy="joined")


class ReportObject(Base):
    """The STIX object ids of a report submitted here: a partner returning one of them is
    returning our own report (``authored_here`` in the inbound and access rules)."""

    __tablename__ = "report_objects"

    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(300), primary_key=True, index=True)


class Delivery(Base):
    """One report addressed to one partner: the release decision, the durable delivery job and
    its outcome.

    A release the policy holds for a second officer (state ``held``) has no sequence number yet:
    it gets the partner's next one when approved, so the partner never sees a gap for it.
    ``body_ct`` is the released bundle when the policy redacted it (None: the report as
    submitted), sealed at rest; ``decision`` the decision record (no content).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("partner_id", "seq"),
        UniqueConstraint("report_id", "partner_id"),
        Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        one_of("state", DELIVERY_STATES),
        one_of("outcome", RELEASE_OUTCOMES),
        one_of("acknowledged_via", ROUTES),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp)
    envelope: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    envelope_sha256: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    acknowledged_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Lease: the worker that claimed this delivery owns it until lease_until (then others may).
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # The sharing-policy decision that released (or holds) it.
    outcome: Mapped[str] = mapped_column(String(16), default="allow", server_default="allow")
    policy_version: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Two-person release: who approved or refused a held release, when and why.
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    report: Mapped[Report] = relationship(back_populates="deliveries")
    partner: Mapped[Partner] = relationship(lazy="joined")


class Inbound(Base):
    """A report received from a partner, stored once per (sender, message id).

    ``status`` is the inbound policy's verdict: ``accepted`` into the inbox, or ``quarantined``
    for an officer's review (who then accepts or rejects it). ``rel_to`` is the REL TO list the
    sender gave it (comma-separated; None: no REL TO marking), kept as the originator's marking
    for the third-party rule.
    """

    __tablename__ = "inbound"
    __table_args__ = (
        UniqueConstraint("partner_id", "message_id"),
        # A sequence number is taken only by what the partner's pinned keys vouch for: one that a
        # thief's signature took (distrusted on re-pinning) is free for the genuine message.
        Index("uq_inbound_partner_id_seq_trusted", "partner_id", "seq", unique=True,
              sqlite_where=text("distrusted_at IS NULL"),
              postgresql_where=text("distrusted_at IS NULL")),
        one_of("status", INBOUND_STATUSES),
    )  # fmt: skip

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    message_id: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    content_type: Mapped[str] = mapped_column(String(200))
    bundle_id: Mapped[str] = mapped_column(String(100))
    title_ct: Mapped[bytes] = mapped_column(LargeBinary)
    tlp: Mapped[str] = mapped_column(String(20))
    object_count: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    envelope_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    signed_ct: Mapped[bytes] = mapped_column(LargeBinary)
    receipt: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="accepted", server_default="accepted")
    rel_to: Mapped[str | None] = mapped_column(Text, nullable=True)
    authored_here: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    policy_version: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set when the partner was re-pinned and this was signed, after its keys were compromised,
    # by keys it no longer holds (``service.exchange.repin``): kept, named in the damage report,
    # its sequence number free; cleared if the genuine keys send the same report again.
    distrusted_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)

    partner: Mapped[Partner] = relationship(lazy="joined")


class InboundObject(Base):
    """The STIX object ids of a received report: a submission holding one of them passes on
    the partner's report, which the third-party rule governs."""

    __tablename__ = "inbound_objects"

    inbound_id: Mapped[str] = mapped_column(ForeignKey("inbound.id"), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(300), primary_key=True, index=True)
