"""Witnessing: each node cosigns its partner's audit checkpoints after checking consistency with
the last one it cosigned, and catches a log that was rolled back, truncated or rewritten."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3

import pytest
from sqlalchemy import select, text

from crypto import merkle
from service.audit import checkpoints
from service.audit import log as auditlog
from service.exchange import witness_all
from service.models import AuditAlert, AuditCosignature, AuditEvent, WitnessedCheckpoint
from tests.service.test_audit_log import size, sql
from tests.service.test_enforcement import amber_report, call, submit
from tests.twonode import verify_log

pytestmark = pytest.mark.anyio


async def _round(node) -> None:
    """One witness round of ``node`` over each partner (the delivery worker runs one every
    ``witness_interval_seconds``)."""
    await witness_all(node.node)


def _witnessed(node) -> list[WitnessedCheckpoint]:
    with node.node.db.write() as s:
        return list(s.scalars(select(WitnessedCheckpoint).order_by(WitnessedCheckpoint.size)))


def _alerts(node) -> list[AuditAlert]:
    with node.node.db.write() as s:
        return list(s.scalars(select(AuditAlert).order_by(AuditAlert.id)))


async def test_partners_cosign_each_others_checkpoints(pinned):
    iq, sy = pinned
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    await _round(sy)  # SY witnesses IQ
    await _round(iq)  # IQ witnesses SY
    [seen] = _witnessed(sy)
    with iq.node.db.write() as s:
        [cosigned] = s.scalars(select(AuditCosignature)).all()
    assert (cosigned.size, cosigned.witness) == (seen.size, "SY")
    report = verify_log(iq.node)
    assert report.ok and [c.cosigned_by for c in report.checkpoints] == [("SY",)]
    # More happens on IQ: the next checkpoint is checked against the last one (consistency).
    for _ in range(3):
        assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    await _round(sy)
    first, second = _witnessed(sy)
    assert first.size < second.size == checkpoints_size(iq)
    assert _alerts(sy) == []
    report = verify_log(iq.node)
    assert report.ok and all(c.cosigned_by == ("SY",) for c in report.checkpoints)


def checkpoints_size(node) -> int:
    with node.node.db.write() as s:
        return checkpoints.latest(s).size


async def test_a_rolled_back_log_is_caught_by_the_witness(pinned):
    iq, sy = pinned
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    await _round(sy)
    witnessed = _witnessed(sy)[-1].size
    # IQ's log is rolled back to fewer records than SY cosigned (as a restore of its audit
    # tables from an older backup would leave it): the tail and its checkpoints are gone.
    keep = witnessed - 5
    sql(iq, "DELETE FROM audit_cosignatures")
    sql(iq, "DELETE FROM audit_checkpoints")
    sql(iq, "DELETE FROM audit_events WHERE seq >= :k", k=keep)
    sql(iq, "DELETE FROM audit_tree")
    with iq.node.db.write() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        tree = merkle.complete_subtrees([merkle.leaf_hash(auditlog.leaf_data(e)) for e in events])
    sql(iq, "UPDATE node_state SET value = :v WHERE name = 'audit_size'", v=str(keep))
    for (level, index), value in tree.items():
        sql(iq, "INSERT INTO audit_tree (level, idx, hash) VALUES (:l, :i, :h)",
            l=level, i=index, h=value)  # fmt: skip
    assert verify_log(iq.node).ok  # consistent on its own: only the witness can tell
    await _round(sy)
    [alert] = _alerts(sy)
    assert alert.subject == "IQ" and alert.kind == "rollback"
    assert str(witnessed) in alert.detail and "liaison/IQ/audit" in (alert.evidence or "")
    await _round(sy)
    assert len(_alerts(sy)) == 1  # one alert per finding, not one per round
    for role in ("auditor", "admin"):
        r = await call(sy, "GET", "/api/v1/audit/alerts", role)
        assert r.status_code == 200 and r.json()[0]["kind"] == "rollback"
    r = await call(sy, "GET", "/api/v1/audit/alerts", "officer")
    assert r.status_code == 403
    with sy.node.db.write() as s:
        [record] = s.scalars(select(AuditEvent).where(AuditEvent.action == "witness.alert"))
        assert record.object_id == "IQ" and record.outcome == "error"


@pytest.mark.parametrize("backend", ["sqlite"])  # a file restore; the table-level test runs on both
async def test_a_restored_database_file_is_caught_by_the_witness(pinned):
    iq, sy = pinned
    db_file = iq.node.db.engine.url.database
    backup = db_file + ".backup"
    live, copy = sqlite3.connect(db_file), sqlite3.connect(backup)
    live.backup(copy)  # an administrator's online backup
    live.close()
    copy.close()
    for _ in range(2):
        assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    await _round(sy)
    iq.node.db.engine.dispose()
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(db_file + suffix)
    shutil.copyfile(backup, db_file)  # the old copy is restored
    await _round(sy)
    kinds = [a.kind for a in _alerts(sy)]
    assert kinds == ["rollback"]


async def test_a_rewritten_history_is_a_fork(pinned):
    """The operator of IQ, with its key, rewrites a record, rebuilds the tree and signs a new
    checkpoint: on its own the log verifies, but it does not extend what SY cosigned."""
    iq, sy = pinned
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    await _round(sy)
    witnessed = _witnessed(sy)[-1].size
    sql(iq, "UPDATE audit_events SET reason = 'rewritten' WHERE seq = 2")
    sql(iq, "DELETE FROM audit_cosignatures")
    sql(iq, "DELETE FROM audit_checkpoints")
    sql(iq, "DELETE FROM audit_tree")
    with iq.node.db.write() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        tree = merkle.complete_subtrees([merkle.leaf_hash(auditlog.leaf_data(e)) for e in events])
    for (level, index), value in tree.items():
        sql(iq, "INSERT INTO audit_tree (level, idx, hash) VALUES (:l, :i, :h)",
            l=level, i=index, h=value)  # fmt: skip
    assert size(iq) >= witnessed
    await _round(sy)
    [alert] = _alerts(sy)
    assert alert.kind == "fork" and alert.subject == "IQ"
    assert len(_witnessed(sy)) == 1  # nothing more was cosigned


async def test_a_cosignature_must_verify_under_the_partners_key(pinned):
    iq, sy = pinned
    await _round(sy)
    with iq.node.db.write() as s:
        [stored] = s.scalars(select(AuditCosignature)).all()
        line = stored.line
    sql(iq, "UPDATE audit_cosignatures SET line = :l", l=line.replace(line[-6:-2], "AAAA"))
    report = verify_log(iq.node)
    assert not report.ok and report.failure.step == "V6"
    with iq.node.db.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_cosignatures")).scalar() == 1
