"""Re-sealing stored values under the newest data key, in the background, without downtime.

After ``liaison node rotate-data-key`` and a reload, new values are sealed with the new
generation at once, and values sealed before stay readable with the older keys the key file still
holds. :class:`Resealer` then walks every sealed column (each domain declares its own as
:class:`SealedColumn`) in primary-key order, a short transaction per batch: it selects only the
values not yet under the newest generation (by their first bytes), opens each with the key that
sealed it and seals it again for the same row under the newest one. Its position is kept in
``node_state`` (:data:`RESEAL_STATE`), so a restart carries on where it stopped; a value written
meanwhile is already under the newest key and is skipped. When the walk ends nothing is left under
an older generation (:func:`generations_in_use` says so), and ``liaison node retire-data-keys``
may remove the older keys from the key file: from then on a copy of the database taken before
the rotation cannot be read with the key file as it is now.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, LargeBinary, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from service.atrest.keys import V1, V2, AtRestCorrupted, DataKeyring, generation_of, prefix
from service.models import Base, NodeState

log = logging.getLogger("liaison.reseal")
RESEAL_STATE = "atrest.reseal"
BATCH = 200


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A column of values sealed with the data key, and how to name the row each belongs to
    (the context its associated data binds)."""

    model: type[Base]
    value_name: str
    context: Callable[[Any], str]
    """From a row holding ``id``, the value and ``needs``, the context the value was sealed
    for."""
    needs: tuple[str, ...] = ()

    @property
    def table(self) -> Table:
        table: Table = self.model.__table__  # type: ignore[assignment]
        return table

    @property
    def key(self) -> Column[Any]:
        return self.table.c["id"]

    @property
    def value(self) -> Column[Any]:
        return self.table.c[self.value_name]

    @property
    def extra(self) -> list[Column[Any]]:
        return [self.table.c[name] for name in self.needs]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.value_name}"


def _head(column: SealedColumn, length: int) -> Any:
    return func.substr(column.value, 1, length, type_=LargeBinary)


def reseal_batch(
    session: Session, keys: DataKeyring, column: SealedColumn, after: Any, limit: int = BATCH
) -> tuple[Any, int, bool]:
    """Re-seal up to ``limit`` values of ``column`` above key ``after`` (None: from the start)
    that are not under the newest generation. Returns the last key seen, how many were re-sealed
    and whether the column is done.

    Every sealed table's primary key is ``id``. A value that does not open (damaged, or sealed
    for another row) is logged and left as it is, under its old generation, so that
    :func:`generations_in_use` still counts it.
    """
    query = select(column.key, column.value, *column.extra).where(
        column.value.is_not(None), _head(column, 5) != prefix(keys.current)
    )
    if after is not None:
        query = query.where(column.key > after)
    rows = list(session.execute(query.order_by(column.key).limit(limit).with_for_update()))
    fresh = []
    for row in rows:
        context = column.context(row)
        try:
            fresh.append({"row_id": row[0], "sealed": keys.seal(keys.open(row[1], context),
                                                                 context)})  # fmt: skip
        except AtRestCorrupted as exc:  # left as it is: the walk goes on, retiring will refuse
            log.error("not re-sealed: %s", exc.detail)
    if fresh:  # one statement for the batch (executemany), not a round trip per value
        statement = (
            update(column.table)
            .where(column.key == bindparam("row_id"))
            .values({column.value_name: bindparam("sealed")})
        )
        session.connection().execute(statement, fresh)
    last = rows[-1][0] if rows else after
    return last, len(rows), len(rows) < limit  # damaged ones count as seen


def generations_in_use(session: Session, columns: Sequence[SealedColumn]) -> dict[int, int]:
    """How many stored values each data-key generation sealed, over every sealed column."""
    counts: dict[int, int] = {}
    for column in columns:
        old = select(func.count()).where(column.value.is_not(None), _head(column, 1) == V1)
        if n := int(session.scalar(old.select_from(column.table)) or 0):
            counts[1] = counts.get(1, 0) + n
        head = _head(column, 5)
        later = (
            select(head, func.count())
            .select_from(column.table)
            .where(column.value.is_not(None), _head(column, 1) == V2)
            .group_by(head)
        )
        for first, n in session.execute(later):
            generation = generation_of(bytes(first))
            counts[generation] = counts.get(generation, 0) + int(n)
    return counts


@dataclass(slots=True)
class Progress:
    generation: int
    column: int = 0
    after: Any = None
    resealed: int = 0
    done: bool = False

    @classmethod
    def load(cls, session: Session, *, lock: bool = False) -> Progress | None:
        state = session.get(NodeState, RESEAL_STATE, with_for_update=lock)
        return cls(**json.loads(state.value)) if state is not None else None

    def save(self, session: Session) -> None:
        value = json.dumps(
            {"generation": self.generation, "column": self.column, "after": self.after,
             "resealed": self.resealed, "done": self.done}
        )  # fmt: skip
        state = session.get(NodeState, RESEAL_STATE)
        if state is None:
            session.add(NodeState(name=RESEAL_STATE, value=value))
        else:
            state.value = value


class Database(Protocol):
    """What the re-seal needs of ``service.db.Database``: write transactions."""

    def write(self) -> AbstractContextManager[Session]: ...


class Resealer:
    """Moves every sealed value to the newest data key, a batch at a time (module docstring).

    ``keys`` gives the node's data keys as they are now (a reload replaces them); ``finished`` is
    called, in the transaction of the last batch, once a walk has ended.
    """

    def __init__(
        self,
        db: Database,
        keys: Callable[[], DataKeyring],
        columns: Sequence[SealedColumn],
        *,
        finished: Callable[[Session, int, int], None] | None = None,
        batch: int = BATCH,
    ) -> None:
        self.db, self.keys, self.columns = db, keys, tuple(columns)
        self.finished, self.batch = finished, batch
        self.stopping = threading.Event()
        self._done_with: int | None = None
        """The generation this process saw the walk end for: no transaction until another."""

    def run_once(self) -> int:
        """One batch; returns how many values it re-sealed (0: nothing left to do)."""
        keys = self.keys()
        if self._done_with == keys.current:
            return 0
        with self.db.write() as session:
            progress = Progress.load(session, lock=True)
            if progress is None or progress.generation != keys.current:
                if progress is None and keys.generations == [keys.current] == [1]:
                    self._done_with = keys.current  # never rotated: all under generation 1
                    return 0
                progress = Progress(keys.current)
            if progress.done:
                self._done_with = keys.current
                return 0
            count = 0
            while not progress.done and count == 0:
                column = self.columns[progress.column]
                after, count, done = reseal_batch(session, keys, column, progress.after,
                                                  self.batch)  # fmt: skip
                progress.resealed += count
                progress.after = None if done else after
                if done:
                    progress.column += 1
                    progress.done = progress.column >= len(self.columns)
            progress.save(session)
            if progress.done:
                log.info("re-sealed %d values under data key %d", progress.resealed, keys.current)
                if self.finished is not None:
                    self.finished(session, keys.current, progress.resealed)
        if progress.done:  # committed: this process need not look again
            self._done_with = keys.current
        return count

    def run(self, wakeup: threading.Event, interval: float = 60.0) -> None:
        """Batches until there is nothing left, then wait for ``wakeup`` (a key reload) or
        ``interval``; until :attr:`stopping` is set."""
        while not self.stopping.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:  # a damaged value or a database outage must not end the thread
                log.exception("re-sealing stored values failed")
            wakeup.wait(interval)
            wakeup.clear()
