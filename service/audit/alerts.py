"""Alerts: evidence that an audit log was truncated, rolled back, forked or edited.

Two kinds of finding raise one: this node's own log failing its check before a checkpoint is
signed (``service.audit.checkpoints``), and a partner's log that no longer extends the checkpoint
this node cosigned as its witness (``service.exchange.witness``). Each finding is kept once,
however often it is seen again, with the signed evidence where there is some.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditAlert


def raise_alert(
    session: Session,
    *,
    at: datetime,
    subject: str,
    kind: str,
    detail: str,
    evidence: str | None = None,
    basis: str | None = None,
) -> bool:
    """Store an alert against ``subject`` unless the same finding is stored already; returns
    whether it is new. The same finding is one of the same kind with the same ``detail`` or,
    when ``basis`` is given, whose evidence starts with ``basis`` (the checkpoint cosigned
    before, against which the log is judged)."""
    same = select(AuditAlert.id).where(AuditAlert.subject == subject, AuditAlert.kind == kind)
    same = same.where(
        AuditAlert.evidence.startswith(basis, autoescape=True)
        if basis is not None
        else AuditAlert.detail == detail
    )
    if session.scalar(same.limit(1)) is not None:
        return False
    session.add(AuditAlert(at=at, subject=subject, kind=kind, detail=detail, evidence=evidence))
    return True


def list_alerts(session: Session) -> list[AuditAlert]:
    """Every alert, newest first."""
    return list(session.scalars(select(AuditAlert).order_by(AuditAlert.at.desc())))
