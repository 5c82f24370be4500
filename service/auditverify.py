"""The node checking its own audit log: the same verification an auditor's tool runs
(``crypto.logverify``, steps V1-V6), fed from the node's tables.

Records are read in log order, then any record without a place in the log; each with the leaf
hash the tree holds for its index. Checkpoints come with the cosignatures partners gave them,
checked under the partners' pinned keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.logverify import LogReport, SignedCheckpoint, verify_log
from service import auditlog
from service.checkpoints import own_verifier, witness_verifier
from service.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditNode, Partner
from service.node import Node

_BATCH = 2000


def record_fields(event: AuditEvent, leaf_hash: bytes | None) -> dict[str, Any]:
    """A record as ``crypto.logverify`` reads it."""
    return {
        "id": event.id,
        "seq": event.seq,
        "at": auditlog.micros(event.at),
        "actor_type": event.actor_type,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "reason": event.reason,
        "remote_addr": event.remote_addr,
        "policy_version": event.policy_version,
        "leaf_hash": leaf_hash,
    }


def records(session: Session) -> Iterator[dict[str, Any]]:
    joined = select(AuditEvent, AuditNode.hash).outerjoin(
        AuditNode, (AuditNode.level == 0) & (AuditNode.idx == AuditEvent.seq)
    )
    sequenced = joined.where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    for event, leaf in session.execute(sequenced.execution_options(yield_per=_BATCH)):
        yield record_fields(event, leaf)
    stray = joined.where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id)
    for event, leaf in session.execute(stray):
        yield record_fields(event, leaf)


def signed_checkpoints(session: Session) -> list[SignedCheckpoint]:
    cosigned: dict[int, list[tuple[str, str]]] = {}
    for row in session.scalars(select(AuditCosignature)):
        cosigned.setdefault(row.size, []).append((row.witness, row.line))
    return [
        SignedCheckpoint(c.note, tuple(cosigned.get(c.size, ())))
        for c in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size))
    ]


def verify(node: Node) -> LogReport:
    """Verify the whole log against every checkpoint the node signed and every cosignature."""
    with node.db.transaction() as session:
        witnesses = {
            p.node_id: witness_verifier(p.node_id, p.ed25519_key)
            for p in session.scalars(select(Partner))
        }
        return verify_log(
            records(session),
            node_id=node.node_id,
            node_key=own_verifier(node),
            checkpoints=signed_checkpoints(session),
            witnesses=witnesses,
        )
