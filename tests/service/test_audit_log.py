"""The audit log as a Merkle tree, and an insider with full database access trying to edit it.

Each tampering is done the way such an insider would: plain SQL on the node's database (SQLite
and PostgreSQL), without the node's signing key. Verification must fail and name the place.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from crypto import merkle
from crypto.logverify import record_leaf
from service.audit import ALLOWED, Actor, checkpoints, record
from service.audit import log as auditlog
from service.models import AuditEvent, AuditNode, NodeState
from tests.service.test_enforcement import amber_report, submit
from tests.twonode import PASSWORD, verify_log

pytestmark = pytest.mark.anyio


async def _activity(iq, sy) -> None:
    """Logins, a refused login, a submission, a send: a few dozen records."""
    from tests.twonode import pin_each_other

    await pin_each_other(iq, sy)
    for _ in range(3):
        assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    async with iq.client() as c:
        await c.post("/api/v1/auth/login", json={"username": "officer", "password": "wrong!"})


def sql(node, statement: str, **params) -> None:
    with node.node.db.engine.begin() as conn:
        conn.execute(text(statement), params)


def size(node) -> int:
    with node.node.db.write() as s:
        return auditlog.size(s)


async def test_every_committed_record_is_a_leaf_in_commit_order(nodes):
    iq, sy = nodes
    await _activity(iq, sy)
    with iq.node.db.write() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        leaves = {n.idx: n.hash for n in s.scalars(select(AuditNode).where(AuditNode.level == 0))}
        n = auditlog.size(s)
        stored_root = checkpoints.root_of(s, n)
    assert n == len(events) > 20
    assert [e.seq for e in events] == list(range(n))
    recomputed = [merkle.leaf_hash(auditlog.leaf_data(e)) for e in events]
    assert [leaves[i] for i in range(n)] == recomputed
    assert stored_root == merkle.root(recomputed)
    report = verify_log(iq.node)
    assert report.ok and report.records == n


async def test_a_rolled_back_action_leaves_no_record_and_no_leaf(nodes):
    iq, _ = nodes
    before = size(iq)
    with pytest.raises(RuntimeError), iq.node.db.write() as s:
        record(s, actor=Actor.system(), action="test.action", outcome=ALLOWED, at=iq.node.utcnow())
        raise RuntimeError("the action fails after writing its record")
    assert size(iq) == before
    assert verify_log(iq.node).ok


async def test_a_savepoint_rolled_back_drops_its_records_only(nodes):
    iq, _ = nodes
    before = size(iq)
    with iq.node.db.write() as s:
        record(s, actor=Actor.system(), action="test.kept", outcome=ALLOWED, at=iq.node.utcnow())
        try:
            with s.begin_nested():
                record(s, actor=Actor.system(), action="test.dropped", outcome=ALLOWED,
                       at=iq.node.utcnow())  # fmt: skip
                raise RuntimeError
        except RuntimeError:
            pass
    assert size(iq) == before + 1
    report = verify_log(iq.node)
    assert report.ok, report.failure


async def test_if_the_record_cannot_be_written_the_action_fails(nodes):
    """A login that succeeds writes its record in its own transaction; one that fails carries
    its record and its failure count to the error mapper. With the log's head gone, neither can
    be written: the successful login gives no token, the failed one is an opaque 500, and the
    failure count stays unwritten."""
    iq, _ = nodes
    from service.models import User

    sql(iq, "DELETE FROM node_state WHERE name = 'audit_size'")  # the log's head is gone
    async with iq.client() as c:
        with pytest.raises(LookupError):  # the commit fails, so no answer carries a token
            await c.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        wrong = await c.post(
            "/api/v1/auth/login", json={"username": "admin", "password": "a wrong password"}
        )
    assert wrong.status_code == 500 and wrong.json()["code"] == "internal"
    with iq.node.db.read() as s:  # the failed login's count was not written either
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert admin.failed_logins == 0
        assert s.scalar(select(NodeState).where(NodeState.name == "audit_size")) is None


def test_concurrent_writers_get_distinct_dense_leaf_indices(nodes):
    iq, _ = nodes
    start = size(iq)

    def writer(k: int) -> None:
        for i in range(15):
            with iq.node.db.write() as s:
                record(s, actor=Actor("user", f"w{k}"), action="test.concurrent",
                       outcome=ALLOWED, at=iq.node.utcnow(), object_id=str(i))  # fmt: skip

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert size(iq) == start + 90
    report = verify_log(iq.node)
    assert report.ok and report.records == start + 90


# --- tampering by an insider with database access -----------------------------------------------


@pytest.fixture
async def logged(nodes):
    """IQ with activity in its log and a signed checkpoint covering all of it."""
    iq, sy = nodes
    await _activity(iq, sy)
    checkpoint = checkpoints.sign(iq.node).checkpoint
    assert checkpoint.size == size(iq)
    assert verify_log(iq.node).ok
    return iq


def _seq_of(node, action: str) -> int:
    with node.node.db.write() as s:
        return s.scalars(
            select(AuditEvent.seq).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).first()


def _failure(node):
    report = verify_log(node.node)
    assert not report.ok, "tampering went unnoticed"
    return report.failure


async def test_an_edited_record_is_named(logged):
    seq = _seq_of(logged, "report.submit")
    sql(logged, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = :s", s=seq)
    failure = _failure(logged)
    assert (failure.step, failure.seq) == ("V2", seq) and "edited" in failure.detail


async def test_a_deleted_record_is_named(logged):
    seq = _seq_of(logged, "auth.login")
    sql(logged, "DELETE FROM audit_events WHERE seq = :s", s=seq)
    failure = _failure(logged)
    assert (failure.step, failure.seq) == ("V1", seq) and "deleted" in failure.detail


async def test_an_inserted_record_is_named(logged):
    sql(logged, "INSERT INTO audit_events (at, actor_type, actor, action, outcome) "
        "VALUES (:at, 'user', 'officer', 'report.read', 'allowed')",
        at=logged.node.utcnow())  # fmt: skip
    failure = _failure(logged)
    assert failure.step == "V1" and "outside" in failure.detail


async def test_a_record_inserted_with_the_next_index_is_named(logged):
    n = size(logged)
    sql(logged, "INSERT INTO audit_events (seq, at, actor_type, actor, action, outcome) "
        "VALUES (:n, :at, 'user', 'officer', 'report.read', 'allowed')",
        n=n, at=logged.node.utcnow())  # fmt: skip
    failure = _failure(logged)
    assert (failure.step, failure.seq) == ("V2", n)


async def test_two_swapped_records_are_named(logged):
    first = _seq_of(logged, "auth.login")
    second = _seq_of(logged, "report.submit")
    sql(logged, "UPDATE audit_events SET seq = -1 WHERE seq = :a", a=first)
    sql(logged, "UPDATE audit_events SET seq = :a WHERE seq = :b", a=first, b=second)
    sql(logged, "UPDATE audit_events SET seq = :b WHERE seq = -1", b=second)
    failure = _failure(logged)
    assert (failure.step, failure.seq) == ("V2", min(first, second))


async def test_a_truncated_tail_is_detected_against_the_checkpoint(logged):
    n = size(logged)
    sql(logged, "DELETE FROM audit_events WHERE seq >= :k", k=n - 3)
    failure = _failure(logged)
    assert failure.step == "V4" and "truncated" in failure.detail


async def test_a_truncated_tail_with_its_tree_and_head_is_still_detected(logged):
    n = size(logged)
    sql(logged, "DELETE FROM audit_events WHERE seq >= :k", k=n - 3)
    sql(logged, "DELETE FROM audit_tree WHERE level = 0 AND idx >= :k", k=n - 3)
    sql(logged, "UPDATE node_state SET value = :v WHERE name = 'audit_size'", v=str(n - 3))
    failure = _failure(logged)
    assert failure.step == "V4"


async def test_a_record_rewritten_with_its_leaf_hash_fails_the_signed_root(logged):
    """The insider also recomputes the leaf hash (they know the format): the checkpoint the node
    signed, which they cannot re-sign, still gives the record away."""
    seq = _seq_of(logged, "report.submit")
    sql(logged, "UPDATE audit_events SET reason = 'nothing happened' WHERE seq = :s", s=seq)
    with logged.node.db.write() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.seq == seq))
        forged = merkle.leaf_hash(auditlog.leaf_data(event))
    sql(logged, "UPDATE audit_tree SET hash = :h WHERE level = 0 AND idx = :s", h=forged, s=seq)
    failure = _failure(logged)
    assert failure.step == "V5"


async def test_a_forged_checkpoint_is_refused(logged):
    with logged.node.db.write() as s:
        note = checkpoints.latest(s).note
    forged = note.replace("\n", "\n", 1).replace(note.splitlines()[1], "1", 1)
    sql(logged, "UPDATE audit_checkpoints SET note = :n", n=forged)
    assert _failure(logged).step == "V3"


def test_the_leaf_encoding_is_the_documented_one(nodes):
    iq, _ = nodes
    with iq.node.db.write() as s:
        event = record(s, actor=Actor("user", "officer", "officer", "198.51.100.7"),
                       action="report.read", outcome=ALLOWED, at=iq.node.utcnow(),
                       object_type="inbound", object_id="x")  # fmt: skip
    from service.audit.verify import record_fields

    assert auditlog.leaf_data(event) == record_leaf(record_fields(event, None))
    assert auditlog.leaf_data(event).startswith(b'{"action":"report.read","actor":"officer"')


async def test_reading_and_exporting_the_log_are_recorded_too(nodes):
    from tests.service.test_enforcement import call

    iq, _ = nodes
    r = await call(iq, "GET", "/api/v1/audit/events", "auditor", params={"action": "auth.*"})
    assert r.status_code == 200 and {e["action"] for e in r.json()} == {"auth.login"}
    assert all(e["leaf_hash"] and e["seq"] is not None for e in r.json())
    r = await call(iq, "POST", "/api/v1/audit/exports", "auditor")
    assert r.status_code == 201 and r.json()["keys"]["node_id"] == "IQ"
    with iq.node.db.write() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert "audit.read" in actions and actions[-1] == "audit.export"
    r = await call(iq, "GET", "/api/v1/audit/events", "officer")
    assert r.status_code == 403


async def test_the_node_refuses_to_sign_over_a_log_that_no_longer_extends_its_checkpoint(logged):
    from service.models import AuditAlert

    before = checkpoints.sign(logged.node).checkpoint
    seq = _seq_of(logged, "report.submit")
    sql(logged, "UPDATE audit_events SET reason = 'nothing' WHERE seq = :s", s=seq)
    with logged.node.db.write() as s:  # rebuild the whole tree over the edited record
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        tree = merkle.complete_subtrees([merkle.leaf_hash(auditlog.leaf_data(e)) for e in events])
    sql(logged, "DELETE FROM audit_tree")
    for (level, index), value in tree.items():
        sql(logged, "INSERT INTO audit_tree (level, idx, hash) VALUES (:l, :i, :h)",
            l=level, i=index, h=value)  # fmt: skip
    with logged.node.db.write() as s:  # something new happens, so a checkpoint is due
        record(s, actor=Actor.system(), action="test.after", outcome=ALLOWED,
               at=logged.node.utcnow())  # fmt: skip
    signed = checkpoints.sign(logged.node)
    after = signed.checkpoint
    assert signed.problem is not None and "rewritten" in signed.problem
    assert after.size == before.size  # not signed: the last good checkpoint stays
    with logged.node.db.write() as s:
        [alert] = s.scalars(select(AuditAlert)).all()
        assert alert.subject == "IQ" and alert.kind == "tampered" and "rewritten" in alert.detail
    checkpoints.sign(logged.node)
    with logged.node.db.write() as s:
        assert len(s.scalars(select(AuditAlert)).all()) == 1  # one alert, not one per attempt


async def test_edited_new_records_are_caught_before_they_are_signed(logged):
    from service.models import AuditAlert

    with logged.node.db.write() as s:
        event = record(s, actor=Actor.system(), action="test.new", outcome=ALLOWED,
                       at=logged.node.utcnow())  # fmt: skip
    sql(logged, "UPDATE audit_events SET reason = 'edited' WHERE id = :i", i=event.id)
    before = size(logged)
    checkpoint = checkpoints.sign(logged.node).checkpoint
    assert checkpoint.size < before
    with logged.node.db.write() as s:
        [alert] = s.scalars(select(AuditAlert)).all()
        assert "edited" in alert.detail


async def test_asking_for_a_checkpoint_over_a_tampered_log_is_refused_with_the_reason(logged):
    from tests.service.test_enforcement import call

    sql(logged, "UPDATE audit_events SET reason = 'edited' WHERE seq = :s",
        s=size(logged) - 1)  # fmt: skip
    sql(logged, "DELETE FROM audit_checkpoints")  # and the insider hides the last checkpoint...
    r = await call(logged, "POST", "/api/v1/audit/checkpoints", "auditor")
    # ...so nothing says the edited record was signed: a full verification must catch it.
    assert r.status_code == 201
    report = verify_log(logged.node)
    assert not report.ok and report.failure.step == "V2"


async def test_a_checkpoint_request_over_a_rewritten_log_is_a_conflict(logged):
    from tests.service.test_enforcement import call

    with logged.node.db.write() as s:
        record(s, actor=Actor.system(), action="test.after", outcome=ALLOWED,
               at=logged.node.utcnow())  # fmt: skip
    sql(logged, "UPDATE audit_events SET reason = 'edited' WHERE seq = :s",
        s=size(logged) - 1)  # fmt: skip
    r = await call(logged, "POST", "/api/v1/audit/checkpoints", "admin")
    assert r.status_code == 409 and r.json()["code"] == "log_tampered"
    assert "edited" in r.json()["detail"]


async def test_times_without_a_zone_are_utc(logged):
    from tests.service.test_enforcement import call

    r = await call(logged, "GET", "/api/v1/audit/events", "auditor",
                   params={"since": "2000-01-01T00:00:00", "action": "auth.login"})  # fmt: skip
    assert r.status_code == 200 and r.json()
