"""Auditor endpoints: the access log (metadata and decisions, never report content), its
checkpoints and proofs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.encoding import b64u_encode
from crypto.fingerprint import fingerprint
from crypto.note import add_signature
from service import audit, auditlog, auditverify, checkpoints, reconcile
from service.api.schemas import AuditEventOut
from service.auditverify import record_fields
from service.deps import Auditor, AuditorOrAdmin, NodeDep, RemoteAddr
from service.errors import BadRequest, Conflict
from service.models import AuditAlert, AuditCheckpoint, AuditEvent, AuditNode, Partner

router = APIRouter(prefix="/api/v1/audit", tags=["auditor"])

Text = Annotated[str | None, Query(max_length=200)]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.get("/events", response_model=list[AuditEventOut])
def events(
    node: NodeDep,
    auditor: Auditor,
    addr: RemoteAddr,
    action: Annotated[
        str | None, Query(max_length=48, description="exact, or a prefix with *")
    ] = None,
    actor: Text = None,
    object_id: Text = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    outcome: Annotated[str | None, Query(pattern="^(allowed|denied|error)$")] = None,
    since: Annotated[datetime | None, Query(description="at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before (ISO 8601)")] = None,
    after_seq: Annotated[int, Query(ge=-1)] = -1,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    include_unsequenced: bool = False,
) -> list[AuditEventOut]:
    """Records of the log in log order (``seq``), filtered; each with its leaf hash as stored
    in the Merkle tree, so that a client can check it against the record. With
    ``include_unsequenced``, records that have no place in the log (written outside it) follow."""
    query = select(AuditEvent, AuditNode.hash).outerjoin(
        AuditNode, (AuditNode.level == 0) & (AuditNode.idx == AuditEvent.seq)
    )
    if action:
        if action.endswith("*"):
            query = query.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    for column, value in (
        (AuditEvent.actor, actor),
        (AuditEvent.object_id, object_id),
        (AuditEvent.object_type, object_type),
        (AuditEvent.outcome, outcome),
    ):
        if value:
            query = query.where(column == value)
    if since is not None:  # a time without a zone is UTC, as every time the node keeps
        query = query.where(AuditEvent.at >= _utc(since))
    if until is not None:
        query = query.where(AuditEvent.at < _utc(until))
    sequenced = query.where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(limit)
    with node.db.transaction() as session:
        rows = list(session.execute(sequenced))
        if include_unsequenced and len(rows) < limit:
            stray = query.where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
            rows += list(session.execute(stray.limit(limit - len(rows))))
        answer = [
            AuditEventOut.of(e, b64u_encode(leaf) if leaf is not None else None) for e, leaf in rows
        ]
        filters = {"action": action, "actor": actor, "object_id": object_id,
                   "object_type": object_type, "outcome": outcome, "since": since,
                   "until": until}  # fmt: skip
        used = ", ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        audit.record(session, actor=auditor.actor(addr), action="audit.read",
                     outcome=audit.ALLOWED, at=node.utcnow(),
                     reason=f"after seq {after_seq}, {len(answer)} records"
                     + (f"; {used}" if used else ""))  # fmt: skip
        return answer


@router.post("/exports", status_code=201)
def export(node: NodeDep, auditor: Auditor, addr: RemoteAddr) -> dict[str, Any]:
    """Start an export of the log (``liaison audit export``): recorded as ``audit.export``, and
    answers the checkpoints and keys the export is to be verified against; the records follow
    through ``GET /events``."""
    with node.db.transaction() as session:
        size = auditlog.size(session)
        rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size))
        signed = [_checkpoint(session, row) for row in rows]
        answer = {"size": size, "checkpoints": signed, "keys": _keys(node, session)}
        audit.record(
            session,
            actor=auditor.actor(addr),
            action="audit.export",
            outcome=audit.ALLOWED,
            at=node.utcnow(),
            reason=f"{size} records, {len(signed)} checkpoints",
        )
        return answer


def _keys(node: NodeDep, session: Session) -> dict[str, Any]:
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
        "witnesses": {
            p.node_id: {
                "cosignature_key": checkpoints.witness_verifier(p.node_id, p.ed25519_key).vkey,
                "identity": {"ed25519": b64u_encode(p.ed25519_key),
                             "ml_dsa_65": b64u_encode(p.ml_dsa_65_key)},
                "fingerprint": p.fingerprint,
            }
            for p in partners
        },
    }  # fmt: skip


def _checkpoint(session: Session, row: AuditCheckpoint) -> dict[str, Any]:
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


@router.get("/keys")
def keys(node: NodeDep, user: AuditorOrAdmin) -> dict[str, Any]:
    """The node's checkpoint key and its partners' cosignature keys, with their identities."""
    with node.db.transaction() as session:
        return _keys(node, session)


@router.get("/checkpoints")
def list_checkpoints(
    node: NodeDep,
    user: AuditorOrAdmin,
    limit: Annotated[int, Query(ge=1, le=100000)] = 1000,
    after_size: Annotated[int, Query(ge=-1)] = -1,
) -> list[dict[str, Any]]:
    """The checkpoints this node signed, smallest first, each with its partners' cosignatures;
    page with ``after_size`` (the size of the last one received)."""
    with node.db.transaction() as session:
        rows = session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.size > after_size)
            .order_by(AuditCheckpoint.size)
            .limit(limit)
        )
        return [_checkpoint(session, row) for row in rows]


@router.get("/checkpoints/latest")
def latest_checkpoint(node: NodeDep, user: AuditorOrAdmin) -> dict[str, Any]:
    with node.db.transaction() as session:
        return _checkpoint(session, checkpoints.get(session, None))


@router.post("/checkpoints", status_code=201)
def sign_checkpoint(node: NodeDep, user: AuditorOrAdmin) -> dict[str, Any]:
    """Sign a checkpoint of the log as it is now (or return the latest, if it covers it).

    Raises:
        Conflict: the log no longer extends the last checkpoint signed (``log_tampered``): nothing
            was signed, and an alert was recorded.
    """
    signed = checkpoints.sign(node)
    if signed.problem is not None:
        raise Conflict(f"no checkpoint signed: {signed.problem}", code="log_tampered")
    with node.db.transaction() as session:
        return _checkpoint(session, checkpoints.get(session, signed.checkpoint.size))


@router.get("/proof/{seq}")
def inclusion_proof(
    seq: int,
    node: NodeDep,
    user: Auditor,
    addr: RemoteAddr,
    size: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """An RFC 9162 inclusion proof of record ``seq`` in the checkpoint of ``size`` (default the
    latest), with everything needed to check it offline: the record, the signed and cosigned
    checkpoint and the keys."""
    with node.db.transaction() as session:
        proof = checkpoints.inclusion(session, seq, size)
        answer = {
            "format": "liaison-audit-proof/1",
            "record": {
                k: v for k, v in record_fields(proof.record, None).items() if k != "leaf_hash"
            },
            "leaf_hash": b64u_encode(proof.leaf_hash),
            "index": seq,
            "size": proof.checkpoint.size,
            "proof": [b64u_encode(h) for h in proof.proof],
            "checkpoint": _checkpoint(session, proof.checkpoint),
            "keys": _keys(node, session),
        }
        audit.record(session, actor=user.actor(addr), action="audit.proof",
                     outcome=audit.ALLOWED, at=node.utcnow(), object_type="audit_record",
                     object_id=str(seq))  # fmt: skip
        return answer


@router.get("/consistency")
def consistency_proof(
    node: NodeDep,
    user: AuditorOrAdmin,
    old: Annotated[int, Query(alias="from", ge=1)],
    new: Annotated[int, Query(alias="to", ge=1)],
) -> dict[str, Any]:
    """The RFC 9162 consistency proof between two of this node's checkpoints."""
    with node.db.transaction() as session:
        first, second = checkpoints.get(session, old), checkpoints.get(session, new)
        if first.size > second.size:
            raise BadRequest("'from' must not be larger than 'to'")
        return {
            "from": _checkpoint(session, first),
            "to": _checkpoint(session, second),
            "proof": [b64u_encode(h) for h in checkpoints.consistency(session, old, new)],
        }


@router.get("/verify")
def verify(node: NodeDep, user: AuditorOrAdmin, addr: RemoteAddr) -> dict[str, Any]:
    """The node's own full verification of its log (V1-V6 of crypto.logverify). An auditor's
    ``liaison audit verify`` repeats it on their side rather than trusting this answer."""
    report = auditverify.verify(node)
    with node.db.transaction() as session:
        audit.record(session, actor=user.actor(addr), action="audit.verify",
                     outcome=audit.ALLOWED if report.ok else audit.ERROR, at=node.utcnow(),
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


@router.get("/alerts")
def alerts(node: NodeDep, user: AuditorOrAdmin) -> list[dict[str, Any]]:
    """Evidence the node found that a partner's log was truncated, rolled back or forked."""
    with node.db.transaction() as session:
        rows = session.scalars(select(AuditAlert).order_by(AuditAlert.at.desc()))
        return [
            {"id": a.id, "at": a.at.isoformat(), "subject": a.subject, "kind": a.kind,
             "detail": a.detail, "evidence": a.evidence}
            for a in rows
        ]  # fmt: skip


@router.get("/reconcile")
async def reconcile_with(
    node: NodeDep,
    user: Auditor,
    addr: RemoteAddr,
    partner: Annotated[str, Query(max_length=63)],
) -> dict[str, Any]:
    """What we sent ``partner`` against what it signed as received, and the reverse, by message
    id; every discrepancy listed (service.reconcile)."""
    result = await reconcile.reconcile(node, partner, user.actor(addr))
    return result.to_json()
