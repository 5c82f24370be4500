"""The audit log: its records, its Merkle tree, its signed checkpoints and cosignatures, the
partner checkpoints this node witnessed, and the alerts raised when a log misbehaves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import ACTOR_TYPES, AUDIT_OUTCOMES, Base, Timestamp, one_of


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
    # Set when the witness was suspended as compromised since before this cosignature: kept as
    # evidence, no longer counted (service.audit.checkpoints.distrust_cosignatures).
    distrusted_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


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
    # Set when the partner was suspended as compromised since before this was cosigned: it no
    # longer stands as what the partner's log must extend (service.exchange.witness).
    distrusted_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class AuditAlert(Base):
    """Evidence that a log was truncated, rolled back, forked or tampered with."""

    __tablename__ = "audit_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    subject: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
