"""Test databases: a fresh SQLite file or a fresh PostgreSQL schema per test.

PostgreSQL runs at 127.0.0.1:5432 with trust authentication on every machine here, CI included.
Where it cannot be reached the PostgreSQL variants skip with the reason, except under CI=true,
where they fail: CI must prove both databases.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

PG_ADMIN_URL = os.environ.get(
    "LIAISON_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]

_pg_error: str | None = None
_pg_checked = False


def _postgres_unavailable() -> str | None:
    global _pg_checked, _pg_error
    if not _pg_checked:
        _pg_checked = True
        try:
            engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
        except Exception as exc:  # any reason at all: report it
            _pg_error = f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    return _pg_error


def require_postgres() -> None:
    reason = _postgres_unavailable()
    if reason is None:
        return
    message = f"PostgreSQL at 127.0.0.1:5432 is not reachable ({reason})"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must run the PostgreSQL tests")
    pytest.skip(message)


TEST_DATABASE = "liaison_tests"
_test_database_ready = False


def _ensure_test_database() -> None:
    """The one PostgreSQL database the tests make their schemas in (created once if missing)."""
    global _test_database_ready
    if _test_database_ready:
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": TEST_DATABASE}
            ).scalar()
            if not exists:
                # Another test process may create it at the same moment: that is fine too.
                with contextlib.suppress(Exception):
                    conn.execute(text(f'CREATE DATABASE "{TEST_DATABASE}"'))
    finally:
        admin.dispose()
    _test_database_ready = True


_migrated_sqlite: list[Path] = []


def _sqlite_template() -> Path:
    """A SQLite database migrated to head by the real migrations, once per test process."""
    if not _migrated_sqlite:
        from service.migrate import upgrade

        template = Path(tempfile.mkdtemp(prefix="liaison-schema-")) / "head.db"
        upgrade(f"sqlite:///{template}")  # its connection closes: WAL checkpointed into the file
        _migrated_sqlite.append(template)
    return _migrated_sqlite[0]


_migrated_postgres: list[str] = []
_TEMPLATE_SCHEMA = "liaison_schema_template"


def _postgres_template(base: str) -> str | None:
    """The SQL that rebuilds a schema migrated to head by the real migrations (``pg_dump`` of one
    migrated once in this process), with the schema's name as a placeholder; None without
    ``pg_dump``, and each node then migrates its own."""
    if _migrated_postgres:
        return _migrated_postgres[0]
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    from service.migrate import upgrade

    schema = f"liaison_template_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            upgrade(f"{base}?options=-csearch_path%3D{schema}")
            url = make_url(base)
            dumped = subprocess.run(
                [pg_dump, "--host", url.host or "127.0.0.1", "--port", str(url.port or 5432),
                 "--username", url.username or "postgres", "--dbname", TEST_DATABASE,
                 "--schema", schema, "--inserts", "--no-owner", "--no-privileges"],
                capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
    # psql meta-commands (\restrict, since pg_dump 15.14) are not SQL: the rest is.
    sql = "\n".join(line for line in dumped.stdout.splitlines() if not line.startswith("\\"))
    assert _TEMPLATE_SCHEMA not in sql
    _migrated_postgres.append(sql.replace(schema, _TEMPLATE_SCHEMA))
    return _migrated_postgres[0]


@contextmanager
def fresh_database(
    backend: str, tmp_path: Path, name: str = "node", *, migrated: bool = False
) -> Iterator[str]:
    """Yield the URL of an empty database of ``backend``.

    On PostgreSQL it is a fresh schema of one shared test database, made the connection's
    ``search_path`` by the URL, and dropped after: creating a whole database per test (PostgreSQL
    15 copies the template through its WAL) cost more than many of the tests themselves.

    ``migrated`` (for nodes, which migrate at start anyway): the schema the migrations built once
    in this process, copied (a SQLite file; on PostgreSQL the ``pg_dump`` of a migrated schema,
    replayed), so that each of the suite's hundreds of nodes does not rebuild the same schema
    statement by statement. The node's own upgrade at start then finds nothing to do; the
    migrations themselves are tested from an empty database in ``test_migrations.py``.
    """
    if backend == "sqlite":
        target = tmp_path / (name + ".db")
        if migrated:
            shutil.copyfile(_sqlite_template(), target)
        yield f"sqlite:///{target}"
        return
    require_postgres()
    _ensure_test_database()
    schema = f"liaison_test_{name.lower()}_{uuid.uuid4().hex[:12]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + TEST_DATABASE
    template = _postgres_template(base) if migrated else None
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if template is None:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        else:  # one round trip: the dump creates the schema, its tables and its rows
            conn.exec_driver_sql(template.replace(_TEMPLATE_SCHEMA, schema))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '20s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
