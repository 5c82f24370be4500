"""Auditor endpoints: the access log (metadata and decisions, never report content), its
checkpoints and proofs, the node's own verification, alerts and reconciliation. Every one of
them reads in a read transaction (``service.audit.queries``): reading the log never holds up a
submission or a delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from crypto.encoding import b64u_encode
from service import audit, exchange
from service.api.deps import Auditor, AuditorOrAdmin, NodeDep, ReadSession, RemoteAddr
from service.api.schemas import (
    AlertOut,
    AuditEventOut,
    AuditKeys,
    CheckpointOut,
    ConsistencyOut,
    ExportOut,
    ProofOut,
    ReconciliationOut,
    VerificationOut,
)
from service.errors import Conflict

router = APIRouter(prefix="/api/v1/audit", tags=["auditor"])

Text = Annotated[str | None, Query(max_length=200)]


@router.get("/events", response_model=list[AuditEventOut])
def events(
    node: NodeDep,
    session: ReadSession,
    auditor: Auditor,
    addr: RemoteAddr,
    action: Annotated[
        str | None, Query(max_length=48, description="exact, or a prefix with *")
    ] = None,
    actor: Text = None,
    object_id: Text = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    outcome: Annotated[audit.Outcome | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before (ISO 8601)")] = None,
    after_seq: Annotated[int, Query(ge=-1)] = -1,
    limit: Annotated[int, Query(ge=1, le=audit.queries.MAX_EVENTS_PAGE)] = 200,
    include_unsequenced: bool = False,
) -> list[AuditEventOut]:
    """Records of the log in log order (``seq``), filtered; each with its leaf hash as stored
    in the Merkle tree, so that a client can check it against the record. With
    ``include_unsequenced``, records that have no place in the log (written outside it) follow."""
    wanted = audit.EventFilter(action=action, actor=actor, object_id=object_id,
                               object_type=object_type, outcome=outcome, since=since,
                               until=until, after_seq=after_seq, limit=limit,
                               include_unsequenced=include_unsequenced)  # fmt: skip
    rows = audit.queries.read_events(session, node, auditor.actor(addr), wanted)
    return [AuditEventOut.of(e, None if leaf is None else b64u_encode(leaf)) for e, leaf in rows]


@router.post("/exports", response_model=ExportOut, status_code=201)
def export(node: NodeDep, session: ReadSession, auditor: Auditor, addr: RemoteAddr) -> Any:
    """Start an export of the log (``liaison audit export``): recorded as ``audit.export``, and
    answers the checkpoints and keys the export is to be verified against; the records follow
    through ``GET /events``."""
    return audit.queries.export_manifest(session, node, auditor.actor(addr))


@router.get("/keys", response_model=AuditKeys)
def keys(node: NodeDep, session: ReadSession, user: AuditorOrAdmin) -> Any:
    """The node's checkpoint key and its partners' cosignature keys, with their identities."""
    return audit.queries.keys(session, node)


@router.get("/checkpoints", response_model=list[CheckpointOut])
def list_checkpoints(
    session: ReadSession,
    user: AuditorOrAdmin,
    limit: Annotated[int, Query(ge=1, le=100000)] = 1000,
    after_size: Annotated[int, Query(ge=-1)] = -1,
) -> Any:
    """The checkpoints this node signed, smallest first, each with its partners' cosignatures;
    page with ``after_size`` (the size of the last one received)."""
    return audit.queries.list_checkpoints(session, after_size=after_size, limit=limit)


@router.get("/checkpoints/latest", response_model=CheckpointOut)
def latest_checkpoint(session: ReadSession, user: AuditorOrAdmin) -> Any:
    return audit.queries.checkpoint(session, None)


@router.post("/checkpoints", response_model=CheckpointOut, status_code=201)
def sign_checkpoint(node: NodeDep, session: ReadSession, user: AuditorOrAdmin) -> Any:
    """Sign a checkpoint of the log as it is now (or return the latest, if it covers it).

    Raises:
        Conflict: the log no longer extends the last checkpoint signed (``log_tampered``): nothing
            was signed, and an alert was recorded.
    """
    signed = audit.checkpoints.sign(node)
    if signed.problem is not None:
        raise Conflict(f"no checkpoint signed: {signed.problem}", code="log_tampered")
    return audit.queries.checkpoint(session, signed.checkpoint.size)


@router.get("/proof/{seq}", response_model=ProofOut)
def inclusion_proof(
    seq: int,
    node: NodeDep,
    session: ReadSession,
    user: Auditor,
    addr: RemoteAddr,
    size: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    """An RFC 9162 inclusion proof of record ``seq`` in the checkpoint of ``size`` (default the
    latest), with everything needed to check it offline: the record, the signed and cosigned
    checkpoint and the keys."""
    return audit.queries.proof(session, node, user.actor(addr), seq, size)


@router.get("/consistency", response_model=ConsistencyOut)
def consistency_proof(
    session: ReadSession,
    user: AuditorOrAdmin,
    old: Annotated[int, Query(alias="from", ge=1)],
    new: Annotated[int, Query(alias="to", ge=1)],
) -> Any:
    """The RFC 9162 consistency proof between two of this node's checkpoints."""
    return audit.queries.consistency(session, old, new)


@router.get("/verify", response_model=VerificationOut)
def verify(node: NodeDep, session: ReadSession, user: AuditorOrAdmin, addr: RemoteAddr) -> Any:
    """The node's own full verification of its log (V1-V6 of crypto.logverify), in one snapshot
    that holds no lock. An auditor's ``liaison audit verify`` repeats it on their side rather
    than trusting this answer."""
    return audit.queries.verification(session, node, user.actor(addr))


@router.get("/alerts", response_model=list[AlertOut])
def alerts(session: ReadSession, user: AuditorOrAdmin) -> list[AlertOut]:
    """Evidence the node found that a partner's log was truncated, rolled back or forked."""
    return [AlertOut.of(a) for a in audit.list_alerts(session)]


@router.get("/reconcile", response_model=ReconciliationOut)
async def reconcile_with(
    node: NodeDep,
    user: Auditor,
    addr: RemoteAddr,
    partner: Annotated[str, Query(max_length=63)],
) -> Any:
    """What we sent ``partner`` against what it signed as received, and the reverse, by message
    id; every discrepancy listed (``service.exchange.reconcile``). Our side is read after the
    partner answered, so no transaction waits on the network."""
    result = await exchange.reconcile(node, partner, user.actor(addr))
    return result.to_json()
