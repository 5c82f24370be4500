"""Auditor endpoints: the access log (metadata and decisions, never report content)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from service.api.schemas import AuditEventOut
from service.deps import Auditor, NodeDep
from service.models import AuditEvent

router = APIRouter(prefix="/api/v1/audit", tags=["auditor"])


@router.get("/events", response_model=list[AuditEventOut])
def events(
    node: NodeDep,
    auditor: Auditor,
    action: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEventOut]:
    query = select(AuditEvent).where(AuditEvent.id > after_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    with node.db.transaction() as session:
        rows = session.scalars(query.order_by(AuditEvent.id).limit(limit))
        return [AuditEventOut.of(e) for e in rows]
