"""The access log: one record per login, submission, read, send, receipt, receive and denial.

A record is written in the same transaction as the action it describes, so an action whose record
cannot be written does not happen. Denials are written in a transaction of their own, since the
denied action is rolled back. Records never hold report content: ids, names, outcomes, reasons.
When the transaction commits, ``service.auditlog`` makes each record the next leaf of the log's
Merkle tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service import auditlog
from service.models import AuditEvent

ALLOWED, DENIED, ERROR = "allowed", "denied", "error"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user with a role, a partner node (with its key id), or the node itself."""

    type: str  # "user" | "partner" | "system" | "anonymous"
    name: str
    role: str | None = None
    remote_addr: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", "node")


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    at: datetime,
    object_type: str | None = None,
    object_id: str | None = None,
    reason: str | None = None,
    policy_version: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=at,
        actor_type=actor.type,
        actor=actor.name[:128],
        role=actor.role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        reason=(reason or None) and reason[:2000],
        remote_addr=actor.remote_addr,
        policy_version=policy_version,
    )
    session.add(event)
    auditlog.pend(session, event)
    return event
