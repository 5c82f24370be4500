"""Database engine and units of work: the same code on SQLite (embedded default) and PostgreSQL.

Every transaction of the node is one of two kinds, and says which:

* :meth:`Database.write`: a write transaction. On SQLite it starts with ``BEGIN IMMEDIATE``, so
  writers queue on the database lock at their first statement instead of failing later with
  "database is locked" after having read stale data. Within one process the writers first queue
  on a lock of the engine's (:class:`_WriterQueue`), in arrival order, rather than in SQLite's busy
  handler, which polls the file lock with sleeps of up to 100 ms, so a writer starts as soon as
  the previous one ends; other processes (an administrator's command) still meet the busy timeout.
  It is committed when the block ends, rolled back on any exception.
* :meth:`Database.read`: a read transaction, which never takes the write lock: a deferred
  ``BEGIN`` under SQLite's ``PRAGMA query_only`` (WAL mode lets writers commit while it reads its
  snapshot), ``REPEATABLE READ READ ONLY`` on PostgreSQL (one snapshot too). The database refuses
  any write made in one. The
  only rows a read may add are audit records (reading is recorded): they are kept out of the read
  transaction and appended in one short write transaction when the read ends, before its result
  is used, so a read whose record cannot be written fails like any other action.

No network I/O happens inside a write transaction: :meth:`Database.writing` tells code that is
about to talk to a partner whether it is inside a :meth:`write` block, and
:meth:`open_write_transactions` counts the write transactions open on the database right now
(tests and diagnostics).

Refused actions keep their consequences (``service.errors``): :meth:`persist` writes them in a
transaction of their own once the action's transaction has rolled back.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from psycopg import IsolationLevel
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from service.errors import Consequence
from service.models import AuditEvent

ACCESS = "liaison_access"
READ, WRITE = "read", "write"
_IS_WRITE = "liaison_write"
_AFTER_COMMIT = "liaison_after_commit"
_QUERY_ONLY = "liaison_query_only"
_REPEATABLE_READ = IsolationLevel.REPEATABLE_READ
DEFERRABLE = (AuditEvent,)
"""What a read transaction may add: appended in a write transaction when the read ends."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite turn on foreign keys, WAL and a busy timeout, so that the
    server, the delivery worker and an admin command can share one file safely. Connections made
    through :class:`Database`'s session factories carry their access mode (read or write) and
    begin their transactions accordingly; any other connection begins a write transaction."""
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, **kwargs)

        @event.listens_for(engine, "begin")
        def _postgres_begin(conn: Any) -> None:
            # psycopg starts the transaction at the next statement, as "BEGIN ISOLATION LEVEL
            # REPEATABLE READ READ ONLY" for reads: one snapshot, like SQLite's, and no writes.
            read = conn.get_execution_options().get(ACCESS) == READ
            dbapi = conn.connection.dbapi_connection
            if dbapi is not None and dbapi.read_only != read:
                dbapi.read_only = read
                dbapi.isolation_level = _REPEATABLE_READ if read else None

        return engine

    if sqlite3.sqlite_version_info < SQLITE_MINIMUM:
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: liaison needs "
            f"{'.'.join(map(str, SQLITE_MINIMUM))} or newer (INSERT ... RETURNING)"
        )
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)
    writers = _WriterQueue()

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN; take it over so that the BEGIN
        # below is exactly the one we choose.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        record.info[_QUERY_ONLY] = False

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        read = conn.get_execution_options().get(ACCESS) == READ
        info = conn.connection.info
        if info.get(_QUERY_ONLY) != read:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read)}")
            info[_QUERY_ONLY] = read
        if read:
            conn.exec_driver_sql("BEGIN")
            return
        writers.enter(info)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _sqlite_end(conn: Any) -> None:
        writers.leave(conn.connection.info)

    @event.listens_for(engine, "checkin")
    @event.listens_for(engine, "invalidate")
    def _sqlite_gone(dbapi_conn: Any, record: Any, *args: Any) -> None:
        writers.leave(record.info)  # a connection dropped mid-transaction frees its place

    return engine


SQLITE_BUSY_SECONDS = 30
SQLITE_MINIMUM = (3, 35)
"""SQLite added ``RETURNING`` (the nonce store's ``INSERT ... RETURNING``) in 3.35."""


class _WriterQueue:
    """The SQLite writers of one process, one at a time, in the order they arrive.

    The place is held from ``BEGIN IMMEDIATE`` to the commit or rollback (marked in the pool
    record's ``info``, so that a connection checked in or invalidated without either also frees
    it). Waiting longer than SQLite's own busy timeout fails as SQLite would.
    """

    _HELD = "liaison_writer_place"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def enter(self, info: dict[str, Any]) -> None:
        if info.get(self._HELD):
            return
        if not self._lock.acquire(timeout=SQLITE_BUSY_SECONDS):
            raise sqlite3.OperationalError(
                f"database is locked: another write transaction of this process held it for "
                f"{SQLITE_BUSY_SECONDS} s"
            )
        info[self._HELD] = True

    def leave(self, info: dict[str, Any]) -> None:
        if info.pop(self._HELD, False):
            self._lock.release()


def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the transaction goes on
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        callback()


def _forget_after_commit(session: Session, previous_transaction: object) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_AFTER_COMMIT, None)


class Database:
    """The node's engine and its two kinds of transaction, built once at start-up and passed
    down."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        writer = self.engine.execution_options(**{ACCESS: WRITE})
        reader = self.engine.execution_options(**{ACCESS: READ})
        self.sessions = sessionmaker(writer, expire_on_commit=False)
        """Sessions of write transactions (the audit log is sequenced on their commits)."""
        self.read_sessions = sessionmaker(reader, expire_on_commit=False, autoflush=False)
        self._writing: ContextVar[bool] = ContextVar(f"liaison-writing-{id(self)}", default=False)
        self._open_lock = threading.Lock()
        self._open_writes = 0
        event.listen(self.sessions, "after_commit", _run_after_commit)
        event.listen(self.sessions, "after_soft_rollback", _forget_after_commit)
        event.listen(self.engine, "begin", self._began)
        event.listen(self.engine, "commit", self._ended)
        event.listen(self.engine, "rollback", self._ended)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def install(self, hook: Callable[[sessionmaker[Session]], None]) -> None:
        """Let ``hook`` register events on the write sessions (the audit log's sequencer)."""
        hook(self.sessions)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any
        exception. Talking to a partner inside the block is a bug (:meth:`writing`)."""
        token = self._writing.set(True)
        try:
            with self.sessions() as session, session.begin():
                yield session
        finally:
            self._writing.reset(token)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session in one read transaction, which never blocks a writer (see the module text).

        Raises:
            RuntimeError: the block changed a row, or added one that is not an audit record
                (a bug: a read transaction cannot write).
        """
        with self.read_sessions() as session:
            yield session
            deferred = self._deferred(session)
            session.commit()  # nothing is flushed: the snapshot just ends
            if deferred:
                with self.sessions() as writer, writer.begin():
                    writer.add_all(deferred)

    def new_write_session(self) -> Session:
        """A session whose write transaction begins at its first statement; the caller commits
        or rolls it back (the per-request unit of work of ``service.api.deps``)."""
        return self.sessions()

    def persist(self, consequences: Iterable[Consequence]) -> None:
        """Write what a refused action must still write, in a transaction of its own."""
        items = list(consequences)
        if not items:
            return
        with self.write() as session:
            for item in items:
                item.write(session)

    @staticmethod
    def after_commit(session: Session, callback: Callable[[], None]) -> None:
        """Call ``callback`` once ``session``'s write transaction has committed (not if it rolls
        back): e.g. ring the worker's doorbell only when there is something to deliver."""
        session.info.setdefault(_AFTER_COMMIT, []).append(callback)

    def writing(self) -> bool:
        """Whether the caller is inside a :meth:`write` block (of this context)."""
        return self._writing.get()

    def open_write_transactions(self) -> int:
        """How many write transactions are open on this database now, in any thread."""
        return self._open_writes

    def dispose(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _deferred(session: Session) -> list[Any]:
        if session.dirty or session.deleted:
            changed = sorted({type(obj).__name__ for obj in (*session.dirty, *session.deleted)})
            raise RuntimeError(f"a read transaction changed {', '.join(changed)}")
        added = list(session.new)
        wrong = sorted({type(obj).__name__ for obj in added if not isinstance(obj, DEFERRABLE)})
        if wrong:
            raise RuntimeError(f"a read transaction added {', '.join(wrong)}")
        for obj in added:
            session.expunge(obj)
        return added

    def _began(self, conn: Any) -> None:
        if conn.get_execution_options().get(ACCESS, WRITE) == WRITE:
            conn.info[_IS_WRITE] = True
            with self._open_lock:
                self._open_writes += 1

    def _ended(self, conn: Any) -> None:
        if conn.info.pop(_IS_WRITE, False):
            with self._open_lock:
                self._open_writes -= 1
