"""What auditors read of the log: records with their leaves, checkpoints with their
cosignatures, proofs, the keys to check them with, and the node's own verification.

Each reading is itself recorded (``audit.read``, ``audit.export``, ``audit.proof``,
``audit.verify``), in the transaction it reads in: a read transaction, whose record is appended
when it ends (``service.db.Database.read``). Answers are JSON-ready values in the shapes the
auditor's tools check offline (``liaison audit verify``, ``check-proof``, ``verify-export``);
``service.api.schemas`` documents them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from crypto.encoding import b64u_encode
from crypto.fingerprint import fingerprint
from crypto.note import add_signature
from service.audit import checkpoints
from service.audit import log as auditlog
from service.audit.records import ALLOWED, ERROR, Actor, record
from service.audit.verify import record_fields, verify
from service.errors import BadRequest
from service.keyring import previous_verify_keys
from service.models import AuditCheckpoint, AuditEvent, AuditNode, Partner
from service.node import Node

PROOF_FORMAT = "liaison-audit-proof/1"
MAX_EVENTS_PAGE = 5000


def _utc(value: datetime) -> datetime:
    """A time without a zone is UTC, as every time the node keeps."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which records to list: ``action`` exact or a prefix ending in ``*``; ``since`` at or
    after, ``until`` before; ``after_seq`` the last leaf index already read (-1: from the
    start)."""

    action: str | None = None
    actor: str | None = None
    object_id: str | None = None
    object_type: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = -1
    limit: int = 200
    include_unsequenced: bool = False

    def describe(self) -> str:
        named = ("action", "actor", "object_id", "object_type", "outcome", "since", "until")
        used = [f"{f.name}={getattr(self, f.name)}" for f in fields(self) if f.name in named]
        return ", ".join(u for u in used if not u.endswith("=None"))

    def query(self) -> Select[AuditEvent, bytes]:
        query = select(AuditEvent, AuditNode.hash).outerjoin(
            AuditNode, (AuditNode.level == 0) & (AuditNode.idx == AuditEvent.seq)
        )
        if self.action:
            if self.action.endswith("*"):
                query = query.where(AuditEvent.action.startswith(self.action[:-1], autoescape=True))
            else:
                query = query.where(AuditEvent.action == self.action)
        for column, value in (
            (AuditEvent.actor, self.actor),
            (AuditEvent.object_id, self.object_id),
            (AuditEvent.object_type, self.object_type),
            (AuditEvent.outcome, self.outcome),
        ):
            if value:
                query = query.where(column == value)
        if self.since is not None:
            query = query.where(AuditEvent.at >= _utc(self.since))
        if self.until is not None:
            query = query.where(AuditEvent.at < _utc(self.until))
        return query


def read_events(
    session: Session, node: Node, actor: Actor, wanted: EventFilter
) -> list[tuple[AuditEvent, bytes | None]]:
    """Records in log order (``seq``) matching ``wanted``, each with the leaf hash the tree holds
    for it; with ``include_unsequenced``, records that have no place in the log (written outside
    it) follow. Recorded as ``audit.read``."""
    limit = max(1, min(wanted.limit, MAX_EVENTS_PAGE))
    query = wanted.query()
    sequenced = query.where(AuditEvent.seq > wanted.after_seq).order_by(AuditEvent.seq)
    rows: list[tuple[AuditEvent, bytes | None]] = [
        (row[0], row[1]) for row in session.execute(sequenced.limit(limit))
    ]
    if wanted.include_unsequenced and len(rows) < limit:
        stray = query.where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
        rows += [(row[0], row[1]) for row in session.execute(stray.limit(limit - len(rows)))]
    used = wanted.describe()
    record(session, actor=actor, action="audit.read", outcome=ALLOWED, at=node.utcnow(),
           reason=f"after seq {wanted.after_seq}, {len(rows)} records"
           + (f"; {used}" if used else ""))  # fmt: skip
    return rows


def keys(session: Session, node: Node) -> dict[str, Any]:
    """The keys an auditor checks the log with, with the public keys behind the fingerprints
    (so that a client recomputes each fingerprint and compares it with the one it knows)."""
    public = node.identity.signing.public
    partners = list(session.scalars(select(Partner).order_by(Partner.node_id)))
    return {
        "node_id": node.node_id,
        "checkpoint_key": checkpoints.own_verifier(node).vkey,
        "identity": {"ed25519": b64u_encode(public.ed25519),
                     "ml_dsa_65": b64u_encode(public.ml_dsa_65)},
        "fingerprint": fingerprint(public),
        # The keys it signed checkpoints with before a new identity (liaison node new-identity).
        "previous": [
            {"checkpoint_key": checkpoints.node_verifier(node.node_id,
                                                         old.ed25519).vkey,
             "identity": {"ed25519": b64u_encode(old.ed25519),
                          "ml_dsa_65": b64u_encode(old.ml_dsa_65)},
             "fingerprint": fingerprint(old)}
            for old in previous_verify_keys(session)
        ],
        "witnesses": {
            p.node_id: {
                "cosignature_key": checkpoints.witness_verifier(p.node_id, p.ed25519_key).vkey,
                "identity": {"ed25519": b64u_encode(p.ed25519_key),
                             "ml_dsa_65": b64u_encode(p.ml_dsa_65_key)},
                "fingerprint": p.fingerprint,
                # Keys it was pinned to before a re-pin: its older cosignatures are by them.
                "previous": [
                    {"cosignature_key": checkpoints.witness_verifier(p.node_id,
                                                                     old.ed25519_key).vkey,
                     "identity": {"ed25519": b64u_encode(old.ed25519_key),
                                  "ml_dsa_65": b64u_encode(old.ml_dsa_65_key)},
                     "fingerprint": old.fingerprint}
                    for old in p.previous_keys
                ],
            }
            for p in partners
        },
    }  # fmt: skip


def checkpoint_view(session: Session, row: AuditCheckpoint) -> dict[str, Any]:
    """A signed checkpoint with its partners' cosignatures, and the note carrying them all."""
    cosigned = checkpoints.cosignatures(session, row.size)
    note = row.note
    for c in cosigned:
        note = add_signature(note, c.line)
    return {
        "size": row.size,
        "root": b64u_encode(row.root),
        "signed_at": row.signed_at.isoformat(),
        "note": row.note,
        "cosignatures": [{"witness": c.witness, "line": c.line} for c in cosigned],
        "cosigned_note": note,
    }


def list_checkpoints(session: Session, *, after_size: int, limit: int) -> list[dict[str, Any]]:
    """The checkpoints signed, smallest first, after ``after_size``."""
    rows = session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.size > after_size)
        .order_by(AuditCheckpoint.size)
        .limit(limit)
    )
    return [checkpoint_view(session, row) for row in rows]


def checkpoint(session: Session, size: int | None) -> dict[str, Any]:
    """The checkpoint of ``size``, or the latest.

    Raises:
        NotFound: none (yet).
    """
    return checkpoint_view(session, checkpoints.get(session, size))


def export_manifest(session: Session, node: Node, actor: Actor) -> dict[str, Any]:
    """What an export is verified against: the log's size, every checkpoint and the keys; the
    records follow through :func:`read_events`. Recorded as ``audit.export``."""
    size = auditlog.size(session)
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size))
    signed = [checkpoint_view(session, row) for row in rows]
    record(session, actor=actor, action="audit.export", outcome=ALLOWED, at=node.utcnow(),
           reason=f"{size} records, {len(signed)} checkpoints")  # fmt: skip
    return {"size": size, "checkpoints": signed, "keys": keys(session, node)}


def proof(session: Session, node: Node, actor: Actor, seq: int, size: int | None) -> dict[str, Any]:
    """The RFC 9162 inclusion proof of record ``seq`` in the checkpoint of ``size`` (default the
    latest that covers it), with everything to check it offline: the record, the signed and
    cosigned checkpoint, and the keys. Recorded as ``audit.proof``.

    Raises:
        NotFound: no such record, or no checkpoint covers it yet.
    """
    found = checkpoints.inclusion(session, seq, size)
    answer = {
        "format": PROOF_FORMAT,
        "record": {k: v for k, v in record_fields(found.record, None).items() if k != "leaf_hash"},
        "leaf_hash": b64u_encode(found.leaf_hash),
        "index": seq,
        "size": found.checkpoint.size,
        "proof": [b64u_encode(h) for h in found.proof],
        "checkpoint": checkpoint_view(session, found.checkpoint),
        "keys": keys(session, node),
    }
    record(session, actor=actor, action="audit.proof", outcome=ALLOWED, at=node.utcnow(),
           object_type="audit_record", object_id=str(seq))  # fmt: skip
    return answer


def consistency(session: Session, old: int, new: int) -> dict[str, Any]:
    """The RFC 9162 consistency proof between two of this node's checkpoints.

    Raises:
        NotFound: either checkpoint is unknown.
        BadRequest: ``old`` is larger than ``new``.
    """
    first, second = checkpoints.get(session, old), checkpoints.get(session, new)
    if first.size > second.size:
        raise BadRequest("'from' must not be larger than 'to'")
    return {
        "from": checkpoint_view(session, first),
        "to": checkpoint_view(session, second),
        "proof": [b64u_encode(h) for h in checkpoints.consistency(session, old, new)],
    }


def verification(session: Session, node: Node, actor: Actor) -> dict[str, Any]:
    """The node's own full verification of its log (V1-V6 of ``crypto.logverify``), in one
    snapshot. An auditor's ``liaison audit verify`` repeats it on their side rather than trusting
    this answer. Recorded as ``audit.verify``."""
    report = verify(session, node)
    record(session, actor=actor, action="audit.verify",
           outcome=ALLOWED if report.ok else ERROR, at=node.utcnow(),
           reason=str(report.failure) if report.failure else
           f"{report.records} records verified")  # fmt: skip
    return {
        "ok": report.ok,
        "records": report.records,
        "root": b64u_encode(report.root),
        "checkpoints": [
            {"size": c.size, "cosigned_by": list(c.cosigned_by)} for c in report.checkpoints
        ],
        "failure": None if report.failure is None else {
            "step": report.failure.step, "seq": report.failure.seq,
            "detail": report.failure.detail,
        },
        "notes": list(report.notes),
    }  # fmt: skip
