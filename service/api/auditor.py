"""Auditor endpoints: the access log (metadata and decisions, never report content), its
checkpoints and proofs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from crypto.encoding import b64u_encode
from service.api.schemas import AuditEventOut
from service.deps import Auditor, NodeDep
from service.models import AuditEvent, AuditNode

router = APIRouter(prefix="/api/v1/audit", tags=["auditor"])

Text = Annotated[str | None, Query(max_length=200)]


@router.get("/events", response_model=list[AuditEventOut])
def events(
    node: NodeDep,
    auditor: Auditor,
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
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    sequenced = query.where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(limit)
    with node.db.transaction() as session:
        rows = list(session.execute(sequenced))
        if include_unsequenced and len(rows) < limit:
            stray = query.where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
            rows += list(session.execute(stray.limit(limit - len(rows))))
        return [
            AuditEventOut.of(e, b64u_encode(leaf) if leaf is not None else None) for e, leaf in rows
        ]
