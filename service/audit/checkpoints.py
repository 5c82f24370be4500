"""Signed checkpoints of this node's audit log, and what the log can prove from them.

A checkpoint (docs/protocol.md section 9) is a C2SP tlog-checkpoint, signed as a note with the
Ed25519 half of the node's identity key under the name ``liaison/<node id>/audit``. The node
signs one every ``checkpoint_interval_seconds`` when the log has grown (the notary of
``service.exchange.worker``), when a witnessing partner asks, and on demand. Proofs are computed
from the stored complete subtrees (``service.audit.log``): a few indexed lookups whatever the
size of the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto import merkle
from crypto.logverify import origin_of, witness_name
from crypto.note import SIG_COSIGNATURE_V1, Checkpoint, NoteVerifier, sign_note
from service.audit import log as auditlog
from service.audit.alerts import raise_alert
from service.audit.records import ERROR, Actor, record
from service.errors import NotFound
from service.models import AuditCheckpoint, AuditCosignature, AuditEvent, AuditNode
from service.node import Node

log = logging.getLogger("liaison.checkpoints")


def node_verifier(node_id: str, ed25519: bytes) -> NoteVerifier:
    """The key that signs ``node_id``'s checkpoints."""
    return NoteVerifier(origin_of(node_id), ed25519)


def witness_verifier(node_id: str, ed25519: bytes) -> NoteVerifier:
    """The key ``node_id`` cosigns its partners' checkpoints with (cosignature/v1)."""
    return NoteVerifier(witness_name(node_id), ed25519, SIG_COSIGNATURE_V1)


def own_verifier(node: Node) -> NoteVerifier:
    return node_verifier(node.node_id, node.identity.signing.public.ed25519)


def root_of(session: Session, size: int) -> bytes:
    """The root of the first ``size`` records, from at most log2(size) + 1 stored subtrees."""
    store = auditlog.TreeStore(session)
    return merkle.root_from_subtrees(size, store.get_many(merkle.subtree_keys_for_root(size)))


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1))


@dataclass(frozen=True, slots=True)
class Signed:
    """The checkpoint that covers the log now, or, when the log fails its check (``problem``),
    the last good one, with nothing new signed."""

    checkpoint: AuditCheckpoint
    problem: str | None = None


def sign(node: Node, *, force: bool = False) -> Signed:
    """Sign a checkpoint of the log as it is now, unless the latest one already covers it (then
    that one is returned). ``force`` signs even an empty log.

    Raises:
        NotFound: the log is empty (and not ``force``), or fails its check with no checkpoint
            signed before.
    """
    with node.db.write() as session:
        return sign_in(session, node, force=force)


def sign_in(session: Session, node: Node, *, force: bool = False) -> Signed:
    """:func:`sign` in ``session``: the checkpoint covers the records committed before it (the
    transaction's own records are sequenced after, at its commit)."""
    size = auditlog.read_head(session, lock=True)
    previous = latest(session)
    if previous is not None and previous.size == size:
        return Signed(previous)
    problem = self_check(session, previous, size)
    if problem is not None and previous is not None:
        # Signing now would vouch for a log that no longer extends what we signed: refuse,
        # keep showing the last good checkpoint, and raise the alarm.
        _own_alert(session, node, problem)
        return Signed(previous, problem)
    if size == 0 and not force:
        raise NotFound("the audit log is empty: nothing to checkpoint", code="empty_log")
    root = root_of(session, size)
    origin = origin_of(node.node_id)
    text = Checkpoint(origin, size, root).to_text()
    row = AuditCheckpoint(
        size=size,
        root=root,
        note=sign_note(text, name=origin, key=node.identity.signing),
        signed_at=node.utcnow(),
    )
    session.add(row)
    return Signed(row)


def self_check(session: Session, previous: AuditCheckpoint | None, size: int) -> str | None:
    """Before signing a checkpoint of ``size``: does the log still extend the last one signed?

    Checked with a few lookups: the log is not smaller than the last checkpoint; the stored tree
    still gives its signed root; and every record written since hashes to the leaf stored for it.
    (A full verification, ``service.audit.verify``, also re-hashes the older records.)
    """
    if previous is None:
        return None
    if size < previous.size:
        return (f"the log holds {size} records, fewer than the {previous.size} of the last "
                "checkpoint signed: truncated")  # fmt: skip
    if root_of(session, previous.size) != previous.root:
        return (f"the stored tree no longer gives the root signed at size {previous.size}: "
                "rewritten")  # fmt: skip
    rows = session.execute(
        select(AuditEvent, AuditNode.hash)
        .outerjoin(AuditNode, (AuditNode.level == 0) & (AuditNode.idx == AuditEvent.seq))
        .where(AuditEvent.seq >= previous.size)
        .order_by(AuditEvent.seq)
    )
    expected = previous.size
    for event, leaf in rows:
        if event.seq != expected:
            return f"record {expected} is missing"
        if leaf is None or merkle.leaf_hash(auditlog.leaf_data(event)) != leaf:
            return f"record {event.seq} does not match its leaf: edited"
        expected += 1
    if expected != size:
        return f"records {expected}..{size - 1} are missing"
    return None


def _own_alert(session: Session, node: Node, problem: str) -> None:
    """Record that this node's own log fails its check (once per finding)."""
    if not raise_alert(session, at=node.utcnow(), subject=node.node_id, kind="tampered",
                       detail=problem):  # fmt: skip
        return
    record(session, actor=Actor.system(), action="audit.tampered", outcome=ERROR,
           at=node.utcnow(), object_type="audit_log", object_id=node.node_id,
           reason=f"no checkpoint signed: {problem}")  # fmt: skip
    log.error("the audit log fails its check, no checkpoint signed: %s", problem)


def get(session: Session, size: int | None) -> AuditCheckpoint:
    """The checkpoint of ``size``, or the latest.

    Raises:
        NotFound: none (yet).
    """
    query = select(AuditCheckpoint)
    row = session.scalar(
        query.where(AuditCheckpoint.size == size)
        if size is not None
        else query.order_by(AuditCheckpoint.size.desc()).limit(1)
    )
    if row is None:
        raise NotFound("no such checkpoint" if size is not None else "no checkpoint signed yet",
                       code="no_checkpoint")  # fmt: skip
    return row


def cosignatures(session: Session, size: int) -> list[AuditCosignature]:
    """The cosignatures that count for a checkpoint (not those distrusted)."""
    return list(
        session.scalars(
            select(AuditCosignature)
            .where(AuditCosignature.size == size, AuditCosignature.distrusted_at.is_(None))
            .order_by(AuditCosignature.witness)
        )
    )


def distrust_cosignatures(session: Session, witness: str, since: int, at: datetime) -> int:
    """Stop counting every cosignature ``witness`` gave at or after ``since`` (Unix seconds, its
    own timestamp): its keys may have been in other hands then. Returns how many."""
    changed = session.execute(
        update(AuditCosignature)
        .where(AuditCosignature.witness == witness, AuditCosignature.timestamp >= since,
               AuditCosignature.distrusted_at.is_(None))
        .values(distrusted_at=at)
    )  # fmt: skip
    return int(changed.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    record: AuditEvent
    leaf_hash: bytes
    checkpoint: AuditCheckpoint
    proof: list[bytes]
    cosignatures: list[AuditCosignature]


def inclusion(session: Session, seq: int, size: int | None) -> InclusionProof:
    """The proof that record ``seq`` is in the log of the checkpoint of ``size`` (or the
    latest checkpoint that covers it).

    Raises:
        NotFound: no such record, or no checkpoint covers it yet.
    """
    record = session.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
    if record is None:
        raise NotFound(f"no audit record {seq}", code="no_record")
    checkpoint = get(session, size)
    if seq >= checkpoint.size:
        raise NotFound(f"record {seq} is not covered by a checkpoint yet; sign one first",
                       code="not_checkpointed")  # fmt: skip
    store = auditlog.TreeStore(session)
    rows = store.get_many([(0, seq), *merkle.inclusion_proof_keys(seq, checkpoint.size)])
    proof = merkle.inclusion_proof(seq, checkpoint.size, rows)
    return InclusionProof(record, rows[(0, seq)], checkpoint, proof,
                          cosignatures(session, checkpoint.size))  # fmt: skip


def consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the log at ``old_size`` to ``new_size``."""
    if old_size == 0 or old_size == new_size:
        return []
    store = auditlog.TreeStore(session)
    keys = merkle.consistency_proof_keys(old_size, new_size)
    return merkle.consistency_proof(old_size, new_size, store.get_many(keys))
