"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.models import Base
from tests.databases import fresh_database

pytestmark = pytest.mark.anyio


def test_upgrade_head_on_an_empty_database_matches_the_models(backend, tmp_path):
    with fresh_database(backend, tmp_path, "migrations") as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, Base.metadata) == []
                head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
                assert context.get_current_revision() == head
            assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
        finally:
            engine.dispose()


def test_upgrade_is_idempotent(tmp_path):
    with fresh_database("sqlite", tmp_path) as url:
        upgrade(url)
        upgrade(url)  # a node restarting migrates again: nothing to do, nothing breaks


def test_records_written_before_the_merkle_log_become_its_first_leaves(backend, tmp_path):
    """Revision 0004 sequences the audit records of a node that ran 0003, hashed exactly as
    the node hashes new ones: the node's own verification passes after the upgrade."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from crypto import merkle
    from service.audit import log as auditlog
    from service.bootstrap import open_database
    from service.models import AuditEvent

    with fresh_database(backend, tmp_path, "backfill") as url:
        upgrade(url, "0003")
        engine = make_engine(url)
        with engine.begin() as conn:
            for i in range(21):
                conn.execute(
                    text("INSERT INTO audit_events (at, actor_type, actor, role, action, "
                         "object_type, object_id, outcome, reason, remote_addr, policy_version) "
                         "VALUES (:at, 'user', 'officer', 'officer', 'report.read', 'report', "
                         ":o, 'allowed', NULL, '198.51.100.7', NULL)"),
                    {"at": datetime(2026, 11, 20, 8, 30, i, 123456, tzinfo=UTC), "o": f"r{i}"},
                )  # fmt: skip
        engine.dispose()
        upgrade(url)
        db = open_database(url)
        try:
            with db.write() as session:
                events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
                assert [e.seq for e in events] == list(range(21))
                leaves = [merkle.leaf_hash(auditlog.leaf_data(e)) for e in events]
                store = auditlog.TreeStore(session)
                rows = store.get_many(merkle.subtree_keys_for_root(21))
                assert merkle.root_from_subtrees(21, rows) == merkle.root(leaves)
                assert auditlog.size(session) == 21
        finally:
            db.dispose()


async def test_revision_0005_moves_a_database_in_use_down_and_up_again(pinned):
    """The CHECK constraints go onto tables that hold rows and that other tables refer to
    (SQLite rebuilds them): nothing is lost, every foreign key still holds, the log verifies."""
    from alembic import command
    from sqlalchemy import text

    from tests.service.test_sync import _submit
    from tests.twonode import verify_log

    iq, sy = pinned
    await _submit(iq, 2)
    await iq.deliver()
    tables = ("users", "reports", "deliveries", "inbound", "inbound_objects", "audit_events")

    def counts(node) -> dict[str, int]:
        with node.node.db.read() as s:
            return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}

    before = {node.node_id: counts(node) for node in (iq, sy)}
    for node in (iq, sy):
        node.node.db.dispose()
        config = alembic_config(node.node.db.url)
        command.downgrade(config, "0004")
        upgrade(node.node.db.url)
        assert counts(node) == before[node.node_id]
        if node.node.db.is_sqlite:
            with node.node.db.engine.connect() as conn:
                assert list(conn.execute(text("PRAGMA foreign_key_check"))) == []
        assert verify_log(node.node).ok
