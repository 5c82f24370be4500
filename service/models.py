"""The node's tables (SQLAlchemy 2, typed). Every change is an Alembic revision in ``migrations/``.

Unique constraints are the guards against duplicates (message ids, request nonces, sequence
numbers), so a race between two workers is settled by the database, not by a check in Python.
Report content is never stored in clear: ``reports.body_ct``, ``inbound.signed_ct`` and the
titles taken from inside reports (``title_ct``) are encrypted with the node data key
(``service.atrest``); ``inbound.envelope`` is the envelope exactly as received (itself
HPKE-encrypted), kept so its signatures can be re-verified later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Timestamp = UTCDateTime()


def one_of(column: str, values: Iterable[str], *, name: str | None = None) -> CheckConstraint:
    """A named CHECK constraint: ``column`` holds one of ``values`` (named after the column).

    The allowed values are written out below rather than imported from the enums that define
    them (``service.reports.states``, ``service.auth.ROLES``, ``policies.TLP``, the audit
    outcomes), which sit above this module; ``tests/service/test_states.py`` ties them together.
    """
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or column)


DELIVERY_STATES = ("held", "queued", "sent", "acknowledged", "refused", "withheld")
RELEASE_OUTCOMES = ("allow", "redact", "hold", "deny")
ROUTES = ("push", "pull", "courier")
INBOUND_STATUSES = ("accepted", "quarantined", "rejected")
ROLES = ("officer", "releaser", "auditor", "admin")
CLEARANCES = ("clear", "green", "amber", "amber+strict", "red")
AUDIT_OUTCOMES = ("allowed", "denied", "error")
ACTOR_TYPES = ("user", "partner", "system", "anonymous", "integration")
LANGUAGES = ("en", "ar")
TAXII_COLLECTIONS = ("inbox", "sent")
DRAFT_STATES = ("open", "submitted", "discarded")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        one_of("role", ROLES),
        one_of("clearance", CLEARANCES),
        one_of("language", LANGUAGES),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # The highest TLP whose reports this user may read (officers and releasers; policies.access).
    clearance: Mapped[str] = mapped_column(
        String(20), default="amber+strict", server_default="amber+strict"
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The language of the web console for this user (service.console.i18n).
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")


class ConsoleSession(Base):
    """A web console session, held on the server: the browser holds only a random token, whose
    SHA-256 is the key here, so a copy of the table logs nobody in. Ending one deletes its row."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The CSRF token of every form of this session (compared in constant time).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Partner(Base):
    """A partner node, pinned by the fingerprint of its signing keys."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    endpoint: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(80))
    signing_key_id: Mapped[str] = mapped_column(String(40))
    ed25519_key: Mapped[bytes] = mapped_column(LargeBinary)
    ml_dsa_65_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_document: Mapped[bytes] = mapped_column(LargeBinary)
    key_serial: Mapped[int] = mapped_column(BigInteger)
    next_seq: Mapped[int] = mapped_column(BigInteger, default=1)
    added_at: Mapped[datetime] = mapped_column(Timestamp)
    keys_fetched_at: Mapped[datetime] = mapped_column(Timestamp)
    # Inbound stream from this partner: every seq up to received_through has arrived. It is the
    # pull cursor, and seqs received above it reveal gaps.
    received_through: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_pull_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    last_pull_error: Mapped[str | None] = mapped_column(Text, nullable=True)


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
        UniqueConstraint("partner_id", "seq"),
        one_of("status", INBOUND_STATUSES),
    )

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

    partner: Mapped[Partner] = relationship(lazy="joined")


class InboundObject(Base):
    """The STIX object ids of a received report: a submission holding one of them passes on
    the partner's report, which the third-party rule governs."""

    __tablename__ = "inbound_objects"

    inbound_id: Mapped[str] = mapped_column(ForeignKey("inbound.id"), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(300), primary_key=True, index=True)


class Nonce(Base):
    """RFC 9421 request nonces seen, kept until the request could no longer be fresh."""

    __tablename__ = "nonces"

    keyid: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class AuditEvent(Base):
    """Who did what to which object, when, from where, with what outcome. Never report content.

    ``seq`` is the record's leaf index in the audit log's Merkle tree, given when the
    transaction that wrote it commits (``service.auditlog``); every committed record has one.
    """

    __tablename__ = "audit_events"
    __table_args__ = (one_of("outcome", AUDIT_OUTCOMES), one_of("actor_type", ACTOR_TYPES))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_version: Mapped[str | None] = mapped_column(String(80), nullable=True)


class AuditNode(Base):
    """The hash of every complete subtree of the audit log's Merkle tree (RFC 9162): level
    ``level``, index ``idx`` covers leaves ``[idx * 2**level, (idx + 1) * 2**level)``; level 0
    holds the leaf hashes. Roots and proofs of any size are a few lookups here."""

    __tablename__ = "audit_tree"

    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(Base):
    """A checkpoint of this node's audit log, signed by the node (C2SP tlog-checkpoint)."""

    __tablename__ = "audit_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(Timestamp)


class AuditCosignature(Base):
    """A partner's cosignature (C2SP tlog-cosignature) on one of this node's checkpoints."""

    __tablename__ = "audit_cosignatures"

    size: Mapped[int] = mapped_column(ForeignKey("audit_checkpoints.size"), primary_key=True)
    witness: Mapped[str] = mapped_column(String(63), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class WitnessedCheckpoint(Base):
    """A partner's checkpoint this node verified (signature, consistency with the previous one)
    and cosigned: the partner's log may never shrink below it or fork from it."""

    __tablename__ = "witnessed_checkpoints"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    cosignature: Mapped[str] = mapped_column(Text)
    cosigned_at: Mapped[datetime] = mapped_column(Timestamp)


class AuditAlert(Base):
    """Evidence that a log was truncated, rolled back, forked or tampered with."""

    __tablename__ = "audit_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    subject: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)


class NodeState(Base):
    """Small named values the node keeps (e.g. the serial of its key document)."""

    __tablename__ = "node_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Integration(Base):
    """A credential of one of the home network's own platforms (OpenCTI, MISP, any TAXII
    client) for the TAXII surface (``service.taxii``): its own principal, never a partner.

    Only the SHA-256 of the secret is stored: the secret is 256 random bits, so a slow password
    hash would add nothing, and a copy of the table authenticates nobody. ``partners`` and
    ``collections`` are comma-separated (sorted); a revoked credential stays, for the audit
    trail, and authenticates nobody.
    """

    __tablename__ = "integrations"
    __table_args__ = (one_of("clearance", CLEARANCES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    partners: Mapped[str] = mapped_column(Text)
    collections: Mapped[str] = mapped_column(Text)
    can_read: Mapped[bool] = mapped_column(Boolean)
    can_write: Mapped[bool] = mapped_column(Boolean)
    clearance: Mapped[str] = mapped_column(String(20))
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


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
