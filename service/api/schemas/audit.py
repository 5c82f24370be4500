"""Bodies of the auditor API: records, checkpoints, proofs, keys, verification, alerts.

The shapes are those the auditor's offline tools check (``liaison audit verify``,
``check-proof``, ``verify-export``; proof files are ``liaison-audit-proof/1``): hashes, keys
and roots base64url, times of records in microseconds since the epoch.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from service.audit import micros
from service.models import AuditAlert, AuditEvent


class AuditEventOut(BaseModel):
    id: int
    seq: int | None = Field(description="the record's leaf index in the log; None: not in it")
    leaf_hash: str | None = Field(description="the leaf hash the Merkle tree holds (base64url)")
    at: datetime
    at_us: int = Field(description="``at`` in microseconds since the epoch, as the leaf has it")
    actor_type: str
    actor: str
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    reason: str | None
    remote_addr: str | None
    policy_version: str | None

    @classmethod
    def of(cls, e: AuditEvent, leaf_hash: str | None = None) -> AuditEventOut:
        return cls(
            id=e.id,
            seq=e.seq,
            leaf_hash=leaf_hash,
            at=e.at,
            at_us=micros(e.at),
            actor_type=e.actor_type,
            actor=e.actor,
            role=e.role,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            outcome=e.outcome,
            reason=e.reason,
            remote_addr=e.remote_addr,
            policy_version=e.policy_version,
        )


class PublicKeys(BaseModel):
    ed25519: str
    ml_dsa_65: str


class PreviousWitnessKey(BaseModel):
    cosignature_key: str = Field(description="the C2SP verifier key of its older cosignatures")
    identity: PublicKeys
    fingerprint: str


class WitnessKeys(BaseModel):
    cosignature_key: str = Field(description="the C2SP verifier key of its cosignatures")
    identity: PublicKeys
    fingerprint: str
    previous: list[PreviousWitnessKey] = Field(
        default_factory=list, description="keys it was pinned to before a re-pin, oldest first"
    )


class PreviousNodeKey(BaseModel):
    checkpoint_key: str = Field(description="the C2SP verifier key of its older checkpoints")
    identity: PublicKeys
    fingerprint: str


class AuditKeys(BaseModel):
    """The keys the log is checked with, with the identity keys behind each fingerprint (a
    client recomputes the fingerprint and compares it with the one it knows)."""

    node_id: str
    checkpoint_key: str = Field(description="the C2SP verifier key of this node's checkpoints")
    identity: PublicKeys
    fingerprint: str
    previous: list[PreviousNodeKey] = Field(
        default_factory=list,
        description="the keys it signed checkpoints with before a new identity, oldest first",
    )
    witnesses: dict[str, WitnessKeys] = Field(description="by partner node id")


class CosignatureOut(BaseModel):
    witness: str
    line: str


class CheckpointOut(BaseModel):
    size: int
    root: str
    signed_at: str = Field(description="ISO 8601")
    note: str = Field(description="the signed note (C2SP tlog-checkpoint)")
    cosignatures: list[CosignatureOut]
    cosigned_note: str = Field(description="the note with every cosignature line added")


class ExportOut(BaseModel):
    size: int = Field(description="records in the log when the export began")
    checkpoints: list[CheckpointOut]
    keys: AuditKeys


class ProofRecord(BaseModel):
    """A record as its leaf covers it (``at`` in microseconds)."""

    id: int
    seq: int | None
    at: int
    actor_type: str
    actor: str
    role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    reason: str | None
    remote_addr: str | None
    policy_version: str | None


class ProofOut(BaseModel):
    """An RFC 9162 inclusion proof, with everything needed to check it offline."""

    format: str = Field(description="liaison-audit-proof/1")
    record: ProofRecord
    leaf_hash: str
    index: int
    size: int
    proof: list[str]
    checkpoint: CheckpointOut
    keys: AuditKeys


class ConsistencyOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: CheckpointOut = Field(alias="from")
    to: CheckpointOut
    proof: list[str]


class VerifiedCheckpoint(BaseModel):
    size: int
    cosigned_by: list[str]


class VerifyFailure(BaseModel):
    step: str = Field(description="V1-V6 of crypto.logverify")
    seq: int | None
    detail: str


class VerificationOut(BaseModel):
    ok: bool
    records: int
    root: str
    checkpoints: list[VerifiedCheckpoint]
    failure: VerifyFailure | None
    notes: list[str]


class AlertOut(BaseModel):
    id: int
    at: str = Field(description="ISO 8601")
    subject: str = Field(description="whose log: a partner's node id, or this node's")
    kind: str = Field(description="rollback, fork or tampered")
    detail: str
    evidence: str | None = Field(description="the signed checkpoints that show it")

    @classmethod
    def of(cls, a: AuditAlert) -> AlertOut:
        return cls(id=a.id, at=a.at.isoformat(), subject=a.subject, kind=a.kind,
                   detail=a.detail, evidence=a.evidence)  # fmt: skip


class Counts(BaseModel):
    matched: int
    pending: int


class Discrepancy(BaseModel):
    direction: str = Field(description="sent or received")
    message_id: str
    seq: int | None
    kind: str
    detail: str


class ReconciliationOut(BaseModel):
    partner: str
    sent: Counts
    received: Counts
    complete: bool = Field(description="false when a list was cut at 100,000 messages")
    discrepancies: list[Discrepancy]
