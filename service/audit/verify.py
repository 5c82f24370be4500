"""The node checking its own audit log: the same verification an auditor's tool runs
(``crypto.logverify``, steps V1-V6), fed from the node's tables.

Records are read in log order, then any record without a place in the log; each with the leaf
hash the tree holds for its index. Checkpoints come with the cosignatures partners gave them,
checked under the partners' pinned keys. It all runs in one read transaction: one snapshot of the
log, and no lock that would keep a submission or a delivery waiting, however large the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.logverify import LogReport, SignedCheckpoint, verify_log
from service.audit.checkpoints import node_verifier, own_verifier, witness_verifier
from service.audit.log import leaf_fields
from service.keyring import previous_verify_keys
from service.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditNode, Partner
from service.node import Node

_BATCH = 2000


def record_fields(event: AuditEvent, leaf_hash: bytes | None) -> dict[str, Any]:
    """A record as ``crypto.logverify`` reads it, with the leaf hash the tree holds for it."""
    return {**leaf_fields(event), "leaf_hash": leaf_hash}


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
    for row in session.scalars(
        select(AuditCosignature).where(AuditCosignature.distrusted_at.is_(None))
    ):
        cosigned.setdefault(row.size, []).append((row.witness, row.line))
    return [
        SignedCheckpoint(c.note, tuple(cosigned.get(c.size, ())))
        for c in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size))
    ]


def verify(session: Session, node: Node) -> LogReport:
    """Verify the whole log in ``session`` (a read transaction: one snapshot) against every
    checkpoint the node signed and every cosignature its partners gave."""
    witnesses = {
        p.node_id: [witness_verifier(p.node_id, key)
                    for key in (p.ed25519_key, *(old.ed25519_key for old in p.previous_keys))]
        for p in session.scalars(select(Partner))
    }  # fmt: skip
    return verify_log(
        records(session),
        node_id=node.node_id,
        node_key=[
            own_verifier(node),
            *(node_verifier(node.node_id, key.ed25519) for key in previous_verify_keys(session)),
        ],
        checkpoints=signed_checkpoints(session),
        witnesses=witnesses,
    )
