"""Units of work: reads never block writes, and no transaction waits on the network.

``service.db`` gives every request and every job one of two transactions: a read, which never
takes SQLite's write lock (and is read-only and one snapshot on both databases), or a write.
``tests.twonode`` checks every request a node makes of its partner: none is made while a write
transaction is open on the sender's database. These tests try to break both rules.
"""

from __future__ import annotations

import contextlib
import sqlite3

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.audit import log as auditlog
from service.audit.verify import records
from service.bootstrap import open_node
from service.federation import PartnerClient
from service.keyfile import rotate_encryption_keys
from service.models import AuditEvent, Delivery, NodeState, User
from tests.service.test_sync import _deliveries, _submit
from tests.twonode import FAST_KDF, PASSPHRASE, WriteTransactionOpen, verify_log

pytestmark = pytest.mark.anyio
DAY = 24 * 3600


async def test_a_write_completes_while_a_long_read_is_open(pinned):
    """A full verification of the log reads it in one read transaction. While it is half way
    through, an officer submits a report: the submission commits (it would wait for the read to
    end, and then fail, if reads took the write lock), and the verification still sees the log
    exactly as it was when it began."""
    iq, _ = pinned
    await _submit(iq, 3)
    with iq.node.db.read() as session:
        reading = records(session)
        first = next(reading)
        size_then = auditlog.size(session)
        [submitted] = await _submit(iq, 1)  # a write, committed while the read is open
        rest = list(reading)
        assert [first, *rest][-1]["seq"] == size_then - 1  # the snapshot: nothing newer
        assert len(rest) + 1 == size_then
    with iq.node.db.read() as session:
        assert auditlog.size(session) > size_then
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.object_id == submitted))
    assert verify_log(iq.node).ok


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_reads_are_served_while_a_writer_holds_the_lock(pinned):
    """Another process (an admin command, a second replica) holds SQLite's write lock: officers
    can still list reports, follow deliveries and read the inbox."""
    iq, _ = pinned
    await _submit(iq, 2)
    headers = await iq.login("officer")
    path = iq.node.db.url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE node_state SET value = value WHERE name = 'audit_size'")
        async with iq.client() as c:
            listed = await c.get("/api/v1/reports", headers=headers)
            inbox = await c.get("/api/v1/inbox", headers=headers)
        assert listed.status_code == 200 and len(listed.json()) == 2
        assert inbox.status_code == 200
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_a_read_transaction_refuses_to_write(nodes):
    """The database itself refuses: SQLite's query_only, PostgreSQL's READ ONLY."""
    iq, _ = nodes
    with pytest.raises(DBAPIError), iq.node.db.read() as s:
        s.execute(text("UPDATE node_state SET value = 'x' WHERE name = 'audit_size'"))
    with pytest.raises(RuntimeError, match="read transaction changed User"):  # noqa: SIM117
        with iq.node.db.read() as s:
            s.scalars(select(User)).first().failed_logins = 99
    with iq.node.db.read() as s:
        assert all(u.failed_logins == 0 for u in s.scalars(select(User)))
    with iq.node.db.read() as s:  # and a write after reads sees what is committed
        assert s.get(NodeState, "audit_size") is not None


async def test_a_read_records_itself_in_the_log_when_it_ends(pinned):
    """Reading a report is a read transaction; its audit record is appended as it ends, with a
    place in the log like any other."""
    iq, _ = pinned
    [report_id] = await _submit(iq, 1)
    headers = await iq.login("officer")
    async with iq.client() as c:
        r = await c.get(f"/api/v1/reports/{report_id}/bundle", headers=headers)
    assert r.status_code == 200
    with iq.node.db.read() as s:
        read = s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "report.read", AuditEvent.object_id == report_id
            )
        )
    assert read is not None and read.seq is not None and read.outcome == "allowed"
    assert verify_log(iq.node).ok


async def test_the_partner_client_refuses_to_talk_inside_a_write_transaction(pinned):
    iq, sy = pinned
    async with PartnerClient.open(iq.node) as client:
        with pytest.raises(RuntimeError, match="inside a write transaction"):  # noqa: SIM117
            with iq.node.db.write() as s:
                s.execute(text("SELECT 1"))
                await client.fetch_key_document(sy.url)
        assert await client.fetch_key_document(sy.url)  # outside one, it does


async def test_the_network_check_catches_a_request_made_inside_a_write_transaction(pinned):
    """The check every two-node test relies on can fail: a request sent while the sender has a
    write transaction open (begun on another connection, here) is stopped."""
    iq, sy = pinned
    with iq.node.db.write() as s:
        s.execute(text("SELECT 1"))
        async with iq.node.http_client() as raw:  # bypassing the PartnerClient's own check
            with pytest.raises(WriteTransactionOpen):
                await raw.get(sy.url + "/federation/v1/key-document")


async def test_a_slow_partner_never_holds_the_database(pinned, clock):
    """IQ must fetch SY's new key document before it can seal: every encryption key of SY's it
    pinned has expired. SY answers slowly; while IQ waits, an officer submits another report and
    it commits, and IQ holds no write transaction. Then IQ seals to SY's new key and both reports
    arrive."""
    iq, sy = pinned
    clock.advance(80 * DAY)  # SY's admin rotates ten days before its first key expires
    rotate_encryption_keys(sy.node.settings, PASSPHRASE, now=sy.node.now(), kdf=FAST_KDF)
    restarted = open_node(sy.node.settings, PASSPHRASE, clock=clock,
                          http_client=sy.node.http_client)  # fmt: skip
    sy.node.identity = restarted.identity
    sy.node.__dict__.pop("key_document", None)
    restarted.db.dispose()
    clock.advance(11 * DAY)  # the key IQ pinned has expired
    await _submit(iq, 1)

    during: list[tuple[int, int]] = []

    async def slow_partner(request: httpx.Request) -> None:
        if request.url.host == "sy.test" and request.url.path.endswith("/key-document"):
            ids = await _submit(iq, 1)  # while IQ's worker waits for SY
            during.append((len(ids), iq.node.db.open_write_transactions()))

    iq.network.probes.append(slow_partner)
    await iq.deliver()
    assert during == [(1, 0)]
    iq.network.probes.clear()
    await iq.deliver()
    deliveries = _deliveries(iq)
    assert [d.state for d in deliveries] == ["acknowledged", "acknowledged"]
    with iq.node.db.read() as s:
        assert s.scalar(select(Delivery.last_error).where(Delivery.seq == 1)) is None


async def test_a_read_whose_record_cannot_be_written_shows_nothing(pinned):
    """The record of a read is appended as the read ends, before the answer is sent: if it
    cannot be written, the officer gets no content (the read did not happen)."""
    iq, _ = pinned
    [report_id] = await _submit(iq, 1)
    headers = await iq.login("officer")
    with iq.node.db.engine.begin() as conn:  # the log's head is gone: no record can be written
        conn.execute(text("DELETE FROM node_state WHERE name = 'audit_size'"))
    async with iq.client() as c:
        with pytest.raises(LookupError):
            await c.get(f"/api/v1/reports/{report_id}/bundle", headers=headers)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_writers_of_one_process_take_turns_and_all_commit(nodes):
    """Eight threads write at once: each waits its turn on the process's writer queue (not in
    SQLite's busy handler) and every write commits; none fails with "database is locked"."""
    import threading

    iq, _ = nodes
    db = iq.node.db
    with db.write() as s:
        s.execute(text("CREATE TABLE turns (n INTEGER)"))
        s.execute(text("INSERT INTO turns VALUES (0)"))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(10):
                with db.write() as s:
                    n = s.execute(text("SELECT n FROM turns")).scalar_one()
                    s.execute(text("UPDATE turns SET n = :n"), {"n": n + 1})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        assert s.execute(text("SELECT n FROM turns")).scalar_one() == 80  # no lost update


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_writer_whose_connection_dies_mid_transaction_frees_its_turn(nodes, monkeypatch):
    """A write transaction whose connection is invalidated (a broken connection) never reaches
    commit or rollback: its place in the writer queue is freed all the same, so the next writer
    goes ahead instead of waiting for the timeout."""
    from service import db as dbmodule

    monkeypatch.setattr(dbmodule, "SQLITE_BUSY_SECONDS", 2)
    iq, _ = nodes
    db = iq.node.db
    session = db.new_write_session()
    session.execute(text("UPDATE node_state SET value = value WHERE name = 'audit_size'"))
    session.connection().invalidate()
    with contextlib.suppress(Exception):  # what the request's unit of work does after an error
        session.rollback()
    session.close()
    with db.write() as s:  # would raise "database is locked" after 2 s if the turn were kept
        assert s.get(NodeState, "audit_size") is not None


def test_an_sqlite_without_returning_is_refused_at_start(monkeypatch, tmp_path):
    import sqlite3 as stdlib_sqlite

    from service.db import make_engine

    monkeypatch.setattr(stdlib_sqlite, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(stdlib_sqlite, "sqlite_version", "3.34.1")
    with pytest.raises(RuntimeError, match=r"SQLite 3\.34\.1 is too old: liaison needs 3\.35"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}")
