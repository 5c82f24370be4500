"""The audit log's costs: appends in real transactions, proofs at 10,000 and 1,000,000 records,
full verification.

For each database (SQLite in a temporary file; PostgreSQL at 127.0.0.1 if reachable) it prints:

* appends per second: transactions that each write one audit record through
  ``service.audit.record``, sequenced into the Merkle tree at commit, against the same
  transactions with the sequencer switched off (the cost of tamper evidence alone);
* inclusion-proof time, median of 200 random records, with the tree of 10,000 and of
  1,000,000 leaves (subtree hashes bulk-loaded as the sequencer would have stored them): it
  should grow like log n, not like n;
* full verification rate (``service.audit.verify``: every record re-hashed, every checkpoint).

    python -m bench.audit_bench [--appends 2000] [--verify-records 20000] [--big 1000000]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, insert

from bench.e2e_bench import postgres_database, postgres_version
from crypto import merkle
from crypto.keys import NodeIdentity
from service import audit, migrate
from service.audit import Actor, checkpoints
from service.audit import log as auditlog
from service.bootstrap import open_database
from service.db import Database
from service.models import AuditNode, NodeState


@contextmanager
def database(backend: str, root: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{root / f'audit-{time.monotonic_ns()}.db'}"
    else:
        with postgres_database("audit") as url:
            yield url


def appends(url: str, n: int) -> tuple[float, float]:
    """(appends/s sequenced into the tree, appends/s of the same records unsequenced): one
    record per transaction through ``service.audit.record``, the second run with the
    ``before_commit`` sequencer removed, so the ratio is the cost of tamper evidence alone."""
    migrate.upgrade(url)
    actor = Actor("user", "bench-officer", "officer", "198.51.100.7")
    now = datetime.now(UTC)
    rates = []
    for sequenced in (True, False):
        db = open_database(url)
        if not sequenced:
            event.remove(db.sessions, "before_commit", auditlog.sequence)
        started = time.perf_counter()
        for i in range(n):
            with db.write() as session:
                audit.record(session, actor=actor, action="report.read", outcome=audit.ALLOWED,
                             at=now, object_type="report", object_id=f"r-{i}")  # fmt: skip
        rates.append(n / (time.perf_counter() - started))
        db.dispose()
    return rates[0], rates[1]


def load_tree(url: str, size: int) -> Database:
    """A log of ``size`` leaves: the complete-subtree hashes bulk-inserted (random leaves)."""
    migrate.upgrade(url)
    db = open_database(url)
    rng = random.Random(size)
    leaves = [rng.randbytes(32) for _ in range(size)]
    tree = merkle.complete_subtrees(leaves)
    rows = [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in tree.items()]
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 50_000):
            conn.execute(insert(AuditNode), rows[start : start + 50_000])
        conn.execute(
            NodeState.__table__.update()
            .where(NodeState.name == auditlog.HEAD)
            .values(value=str(size))
        )
    return db


def proof_time(db: Database, size: int, samples: int = 200) -> float:
    """Median seconds for one inclusion proof (lookups + computation) and its verification."""
    rng = random.Random(7)
    times = []
    with db.read() as session:
        root = checkpoints.root_of(session, size)
    for _ in range(samples):
        index = rng.randrange(size)
        started = time.perf_counter()
        with db.read() as session:
            store = auditlog.TreeStore(session)
            rows = store.get_many([(0, index), *merkle.inclusion_proof_keys(index, size)])
            proof = merkle.inclusion_proof(index, size, rows)
        times.append(time.perf_counter() - started)
        merkle.verify_inclusion(rows[(0, index)], index, size, proof, root)
    return statistics.median(times)


class _Node:
    """The few attributes ``service.audit.verify`` and ``service.audit.checkpoints`` read."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.identity = NodeIdentity.generate("IQ", now=int(time.time()))
        self.node_id = "IQ"

    def utcnow(self) -> datetime:
        return datetime.now(UTC)


def verification_rate(url: str, n: int) -> float:
    migrate.upgrade(url)
    db = open_database(url)
    node = _Node(db)
    actor = Actor("system", "bench")
    now = datetime.now(UTC)
    for start in range(0, n, 1000):
        with db.write() as session:
            for i in range(start, min(n, start + 1000)):
                audit.record(session, actor=actor, action="bench.record", outcome=audit.ALLOWED,
                             at=now, object_id=str(i))  # fmt: skip
    checkpoints.sign(node)  # type: ignore[arg-type]
    started = time.perf_counter()
    with db.read() as session:
        report = audit.verify(session, node)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert report.ok and report.records == n, report.failure
    db.dispose()
    return n / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--verify-records", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    backends = ["sqlite"] + (["postgresql"] if postgres_version() else [])
    print(f"Audit log (cpu count {os.cpu_count()}; PostgreSQL {postgres_version() or 'absent'})")
    with tempfile.TemporaryDirectory(prefix="liaison-audit-bench-") as tmp:
        root = Path(tmp)
        for backend in backends:
            with database(backend, root) as url:
                sequenced, plain = appends(url, args.appends)
            print(f"  {backend:<10} appends, one per transaction: {sequenced:8,.0f}/s sequenced, "
                  f"{plain:8,.0f}/s unsequenced ({sequenced / plain:.2f}x)")  # fmt: skip
            medians = {}
            for size in (args.small, args.big):
                with database(backend, root) as url:
                    db = load_tree(url, size)
                    medians[size] = proof_time(db, size)
                    db.dispose()
                print(f"  {backend:<10} inclusion proof at {size:>9,} records: "
                      f"{medians[size] * 1e3:6.2f} ms median")  # fmt: skip
            growth = medians[args.big] / medians[args.small]
            print(f"  {backend:<10} proof time ratio {args.big:,} / {args.small:,} records: "
                  f"{growth:.2f}x (log2 ratio {math.log2(args.big) / math.log2(args.small):.2f}x; "
                  "linear would be "
                  f"{args.big / args.small:.0f}x)")  # fmt: skip
            with database(backend, root) as url:
                rate = verification_rate(url, args.verify_records)
            print(f"  {backend:<10} full verification: {rate:8,.0f} records/s "
                  f"({args.verify_records:,} records)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
