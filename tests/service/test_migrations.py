"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from service.db import make_engine
from service.migrate import alembic_config, upgrade
from service.models import Base
from tests.databases import fresh_database


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
