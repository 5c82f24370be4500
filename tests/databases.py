"""Test databases: a fresh SQLite file or a fresh PostgreSQL database per test.

PostgreSQL runs at 127.0.0.1:5432 with trust authentication on every machine here, CI included.
Where it cannot be reached the PostgreSQL variants skip with the reason, except under CI=true,
where they fail: CI must prove both databases.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

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


@contextmanager
def fresh_database(backend: str, tmp_path: Path, name: str = "node") -> Iterator[str]:
    """Yield the URL of an empty database of ``backend``.

    On PostgreSQL it is a fresh schema of one shared test database, made the connection's
    ``search_path`` by the URL, and dropped after: creating a whole database per test (PostgreSQL
    15 copies the template through its WAL) cost more than many of the tests themselves.
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (name + '.db')}"
        return
    require_postgres()
    _ensure_test_database()
    schema = f"liaison_test_{name.lower()}_{uuid.uuid4().hex[:12]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + TEST_DATABASE
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '20s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
