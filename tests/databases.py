"""Test databases: a fresh SQLite file or a fresh PostgreSQL database per test.

PostgreSQL runs at 127.0.0.1:5432 with trust authentication on every machine here, CI included.
Where it cannot be reached the PostgreSQL variants skip with the reason, except under CI=true,
where they fail: CI must prove both databases.
"""

from __future__ import annotations

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


@contextmanager
def fresh_database(backend: str, tmp_path: Path, name: str = "node") -> Iterator[str]:
    """Yield the URL of an empty database of ``backend``; PostgreSQL ones are dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / (name + '.db')}"
        return
    require_postgres()
    db_name = f"liaison_test_{name.lower()}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()
