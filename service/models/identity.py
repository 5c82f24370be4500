"""People and nodes this node knows: users, console sessions, partners and the request nonces they
used, and the credentials of the home network's own platforms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import CLEARANCES, LANGUAGES, ROLES, Base, Timestamp, one_of


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
    # Written into each token issued (claim gen); raised to end every token issued before
    # (a disabled account, a changed password or role: service.identity.accounts).
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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
    # Suspended (service.exchange.suspension): nothing is sealed or sent to it, nothing it signs
    # is accepted; what it signed from compromised_since on was quarantined.
    suspended_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    compromised_since: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    suspended_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the signing key now pinned replaced another (``partner repin``); None: since added_at.
    repinned_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # Removed (``partner remove``): suspended for good, its queue withdrawn, its records kept.
    removed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)

    previous_keys: Mapped[list[PartnerKey]] = relationship(
        order_by="PartnerKey.id", lazy="selectin", back_populates="partner"
    )


class PartnerKey(Base):
    """A signing key a partner was pinned to before it was re-pinned (``partner repin``): still
    what verifies what it signed then (stored reports, receipts, cosignatures)."""

    __tablename__ = "partner_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    signing_key_id: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(80))
    ed25519_key: Mapped[bytes] = mapped_column(LargeBinary)
    ml_dsa_65_key: Mapped[bytes] = mapped_column(LargeBinary)
    pinned_at: Mapped[datetime] = mapped_column(Timestamp)
    unpinned_at: Mapped[datetime] = mapped_column(Timestamp)
    compromised_since: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    """When the key may first have been in other hands, if it was re-pinned after a compromise."""

    partner: Mapped[Partner] = relationship(back_populates="previous_keys")


class Nonce(Base):
    """RFC 9421 request nonces seen, kept until the request could no longer be fresh."""

    __tablename__ = "nonces"

    keyid: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


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
