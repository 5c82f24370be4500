"""How fast a running node re-seals its stored content after a data-key rotation, and how long
each of its transactions holds the database.

For each database (SQLite in a temporary data dir; PostgreSQL at 127.0.0.1 if reachable) it
stores ``--reports`` reports (title and a bundle of the demo's size, each sealed under data key 1
bound to its row, as a submission stores them), rotates the data key
(``service.keyfile.rotate_data_key``) and reloads it as ``liaison node reload-keys`` does, then
runs the background re-seal (``service.atrest.Resealer``, batches of 200) to the end and prints:

* values re-sealed per second, and how long the whole walk took;
* the median and the longest batch transaction: what a writer may wait behind on SQLite (one
  writer at a time), the "without downtime" of the rotation;
* that nothing is left under key 1 afterwards (``generations_in_use``).

    python -m bench.reseal_bench [--reports 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bench.e2e_bench import postgres_database, postgres_version
from crypto.keys import KdfParams, load_identity
from service.atrest import generations_in_use
from service.bootstrap import SEALED_COLUMNS, add_local_user, init_node, open_node
from service.exchange.worker import resealer
from service.keyfile import rotate_data_key
from service.models import Report, User
from service.node import Node
from service.reports import seal_title
from service.reports.content import body_context

PASSPHRASE = "reseal-bench passphrase"
FAST_KDF = KdfParams(iterations=1, lanes=1, memory_kib=8 * 1024)
BUNDLE = Path(__file__).resolve().parents[1] / "demo" / "reports" / "iq-cell-wadi7.json"


@contextmanager
def node_on(backend: str, root: Path) -> Iterator[Node]:
    def make(url: str | None) -> Node:
        settings = init_node(root / backend, node_id="IQ", passphrase=PASSPHRASE,
                             public_url="http://127.0.0.1:8600", database_url=url,
                             kdf=FAST_KDF, now=int(time.time()))  # fmt: skip
        return open_node(settings, PASSPHRASE)

    if backend == "sqlite":
        node = make(None)
        try:
            yield node
        finally:
            node.db.dispose()
        return
    with postgres_database("reseal") as url:
        node = make(url)
        try:
            yield node
        finally:
            node.db.dispose()


def store(node: Node, count: int) -> int:
    """``count`` reports sealed under the current data key, in transactions of 1,000."""
    add_local_user(node, username="bench-officer", role="officer", password="x" * 16)
    body = BUNDLE.read_bytes()
    digest = hashlib.sha256(body).digest()
    with node.db.read() as session:
        user_id = session.scalar(select(User.id))
    now = datetime.now(UTC)
    for start in range(0, count, 1000):
        rows = []
        for _ in range(min(1000, count - start)):
            report_id = str(uuid.uuid4())
            rows.append({"id": report_id, "submitted_by": user_id, "created_at": now,
                         "bundle_id": f"bundle--{uuid.uuid4()}", "tlp": "TLP:AMBER",
                         "title_ct": seal_title(node, "reports", report_id, "Cell Wadi-7"),
                         "object_count": 12, "object_types": "report", "body_sha256": digest,
                         "body_ct": node.data_key.seal(body, body_context(report_id))})  # fmt: skip
        with node.db.write() as session:
            session.execute(insert(Report), rows)
    with node.db.read() as session:
        return sum(generations_in_use(session, SEALED_COLUMNS).values())


def run(backend: str, reports: int, root: Path, label: str) -> str:
    with node_on(backend, root) as node:
        values = store(node, reports)
        rotate_data_key(node.settings, PASSPHRASE, now=int(time.time()), kdf=FAST_KDF)
        node.replace_identity(load_identity(node.settings.key_file, PASSPHRASE))
        job = resealer(node)
        batches = []
        started = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            if not job.run_once():
                break
            batches.append(time.perf_counter() - t0)
        took = time.perf_counter() - started
        with node.db.read() as session:
            left = generations_in_use(session, SEALED_COLUMNS)
    resealed = values
    median = statistics.median(batches) * 1000 if batches else 0.0
    longest = max(batches) * 1000 if batches else 0.0
    state = "nothing left under key 1" if set(left) == {2} else f"LEFT: {left}"
    return (f"{label:<17} {resealed:>8} values ({reports} reports, {BUNDLE.stat().st_size} B "
            f"bundle): {resealed / took:8.0f} values/s, walk {took:6.1f} s; batch of 200: median "
            f"{median:6.1f} ms, longest {longest:6.1f} ms; {state}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20_000)
    args = parser.parse_args()
    print(f"re-seal after a data-key rotation, {args.reports} reports (two sealed values each)")
    with tempfile.TemporaryDirectory(prefix="liaison-reseal-") as tmp:
        print(run("sqlite", args.reports, Path(tmp), "sqlite"))
        version = postgres_version()
        if version is None:
            print("postgresql: not reachable at 127.0.0.1:5432, skipped")
        else:
            print(run("postgresql", args.reports, Path(tmp), f"postgresql {version}"))


if __name__ == "__main__":
    main()
