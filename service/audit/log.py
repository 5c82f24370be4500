"""The audit log as an RFC 9162 Merkle tree: every record is a leaf, in commit order.

``service.audit.record`` adds a record to the transaction of the action it describes. When that
transaction commits, :func:`sequence` (a ``before_commit`` hook on every write session of the
node, installed by :func:`install`) takes the log's head, gives each new record the next leaf
index (``audit_events.seq``), and stores the hashes of the leaf and of every subtree it
completes (``audit_tree``), all in the same transaction: a record that cannot be sequenced fails
its action. Records a read transaction made are moved into a write transaction when it ends
(``service.db.Database.read``) and sequenced there.

The head is one row (``node_state`` ``audit_size``), locked ``FOR UPDATE`` on PostgreSQL
(SQLite serialises writers already). It is taken last, just before COMMIT, so transactions
queue for it only for the time of their append and never wait for it while holding it, which
keeps the lock out of any deadlock cycle.

A leaf is ``SHA-256(0x00 || JCS(record))`` where the record is :func:`leaf_data`: every column
but the database id, the time as integer microseconds since the epoch. docs/protocol.md
section 9 defines it; ``crypto.logverify.record_leaf`` computes it, here and in the auditor's
tools alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, insert, or_, select, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from crypto import merkle
from crypto.logverify import record_leaf
from service.models import AuditEvent, AuditNode, NodeState

HEAD = "audit_size"
PENDING = "liaison.audit_pending"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(at: datetime) -> int:
    """``at`` as integer microseconds since the epoch (exact, no float rounding)."""
    return (at.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)


def leaf_fields(event: AuditEvent) -> dict[str, Any]:
    """A record's fields as ``crypto.logverify`` reads them (``at`` in microseconds)."""
    return {
        "id": event.id,
        "seq": event.seq,
        "at": micros(event.at),
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
    }


def leaf_data(event: AuditEvent) -> bytes:
    """The bytes a record's leaf hashes: JCS of its fields (docs/protocol.md section 9)."""
    assert event.seq is not None
    return record_leaf(leaf_fields(event))


def pend(session: Session, event: AuditEvent) -> None:
    """Queue a record added to ``session`` for sequencing at commit, in the order of the calls."""
    session.info.setdefault(PENDING, []).append(event)


def _unqueued(session: Session) -> list[AuditEvent]:
    """Records in ``session`` nobody queued (added by hand, or moved from a read transaction by
    ``service.db.Database.read``), oldest first."""
    queued = set(map(id, session.info.get(PENDING, ())))
    found = [o for o in session.new if isinstance(o, AuditEvent) and id(o) not in queued]
    return sorted(found, key=lambda e: e.at)


def _collect(session: Session, flush_context: object, instances: object) -> None:
    """``before_flush``: queue the records about to be written that nobody queued, so that no
    record reaches the table without a place in the log."""
    found = _unqueued(session)
    if found:
        session.info.setdefault(PENDING, []).extend(found)


class TreeStore:
    """Reads complete-subtree hashes from ``audit_tree``, with the ones this transaction adds."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.added: dict[tuple[int, int], bytes] = {}
        self.read: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes:
        found = self.get_many([(level, index)])
        return found[(level, index)]

    def get_many(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = list(dict.fromkeys(keys))
        found = {k: self.added.get(k) or self.read[k] for k in wanted
                 if k in self.added or k in self.read}  # fmt: skip
        missing = [k for k in wanted if k not in found]
        if missing:
            # One equality pair per key, OR-ed: both databases answer each from the primary key
            # index (SQLite does not use it for a row-value IN list, and scans instead).
            rows = self.session.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                    or_(*(and_(AuditNode.level == lv, AuditNode.idx == ix) for lv, ix in missing))
                )
            )
            for level, index, value in rows:
                found[(level, index)] = self.read[(level, index)] = value
        absent = [k for k in wanted if k not in found]
        if absent:
            raise LookupError(f"audit tree nodes missing: {absent[:5]}")
        return found

    def put(self, level: int, index: int, value: bytes) -> None:
        self.added[(level, index)] = value

    def write(self) -> None:
        """Insert the nodes added, in one statement."""
        if self.added:
            self.session.execute(
                insert(AuditNode),
                [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in self.added.items()],
            )


def read_head(session: Session, *, lock: bool) -> int:
    """The log's size; with ``lock``, the head row stays locked until the transaction ends.

    Raises:
        LookupError: the head row is missing (the database was not migrated, or was damaged).
    """
    query = select(NodeState.value).where(NodeState.name == HEAD)
    value = session.execute(query.with_for_update() if lock else query).scalar()
    if value is None:
        raise LookupError("the audit log has no head (node_state audit_size): not migrated?")
    return int(value)


def size(session: Session) -> int:
    """The number of records in the log."""
    return read_head(session, lock=False)


def append(session: Session, events: list[AuditEvent]) -> None:
    """Give ``events`` the next leaf indices and store their tree nodes (head locked).

    Core statements, not ORM objects: this runs at every commit that writes a record."""
    n = read_head(session, lock=True)
    store = TreeStore(session)
    # Appending leaf n needs exactly the complete subtrees that make up the root of the first n
    # leaves (the tree's right frontier), and those the appends before it add: one query.
    if n:
        store.get_many(merkle.subtree_keys_for_root(n))
    for item in events:
        item.seq = n
        leaf = merkle.leaf_hash(leaf_data(item))
        for level, index, value in merkle.append_updates(n, leaf, store.get):
            store.put(level, index, value)
        n += 1
    store.write()
    session.execute(update(NodeState).where(NodeState.name == HEAD).values(value=str(n)))


def sequence(session: Session) -> None:
    """``before_commit``: sequence the records this transaction wrote (see the module doc).

    Only the outermost commit sequences: a savepoint's release keeps its records pending (so the
    head is never taken mid-transaction), and records of a savepoint rolled back, no longer in
    the session, are dropped."""
    if session.in_nested_transaction():
        return
    pending: list[AuditEvent] = [*session.info.get(PENDING, ()), *_unqueued(session)]
    session.info.pop(PENDING, None)
    kept = [item for item in pending if item in session]
    if kept:
        append(session, kept)


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """When the outermost transaction ends (a rollback: a commit has sequenced and cleared them
    already), its records are gone, and so is their place in the queue."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def install(sessions: sessionmaker[Session]) -> None:
    """Sequence audit records on commit for every session ``sessions`` makes."""
    event.listen(sessions, "before_flush", _collect)
    event.listen(sessions, "before_commit", sequence)
    event.listen(sessions, "after_transaction_end", _forget)
