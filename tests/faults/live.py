"""Real ``liaison serve`` processes for fault tests: started, killed with SIGKILL and restarted.

Setting a node up (keys, users, pinning) calls :mod:`clients.local` in the test process: the
very functions behind ``liaison node init``, ``user add`` and ``partner add --data-dir``, without
paying a Python start-up per command. The servers themselves are what an operator runs:
``python -m clients serve --data-dir DIR`` in a process of its own on a loopback port, with the
short timers of :data:`FAST_TIMERS` in its environment. A server dies with the test process
(``PR_SET_PDEATHSIG``), so nothing outlives a crashed run.

What the tests conclude is read from the nodes' own databases with read-only SQL
(:class:`NodeDatabase`), after the fact, never from the servers' word.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from clients import local as admin_local
from clients.sdk import LiaisonClient
from tests.policyfiles import write_open_policies

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "demo" / "reports" / "sy-escape-d12.json"
PASSPHRASE = "fault-test passphrase, never use it anywhere else"
PASSWORD = "fault-test password for officers"
KDF_MEMORY_KIB = 8192  # a cheap Argon2id for the key file and the test users' passwords
FAST_TIMERS = {
    "LIAISON_RETRY_BASE_SECONDS": "0.2",
    "LIAISON_RETRY_MAX_SECONDS": "2",
    "LIAISON_DELIVERY_LEASE_SECONDS": "5",
    "LIAISON_DELIVERY_TIMEOUT": "4",  # a lease must outlive a send
    "LIAISON_PULL_INTERVAL_SECONDS": "2",
    "LIAISON_DELIVERY_IDLE_SECONDS": "0.5",
}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
POLL_SECONDS = 1.0

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: Any = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
except OSError:  # pragma: no cover - a libc without prctl
    _LIBC = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGKILL it when the test process goes away."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeDatabase:
    """Read-only SQL on a node's database (SQLite file or PostgreSQL), one short connection per
    query so that nothing holds a snapshot or a lock while the servers work."""

    def __init__(self, url: str) -> None:
        options: dict[str, Any] = (
            {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
        )
        self.engine = create_engine(url, **options)

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def deliveries(self, partner: str) -> dict[str, Any]:
        """message id -> (state, attempts, last_error) of every delivery to ``partner``."""
        rows = self.rows(
            "SELECT d.message_id, d.state, d.attempts, d.last_error FROM deliveries d "
            "JOIN partners p ON p.id = d.partner_id WHERE p.node_id = :partner",
            partner=partner,
        )
        return {r.message_id: r for r in rows}

    def inbound(self, sender: str) -> dict[str, tuple[int, str]]:
        """message id -> (how many rows ``inbound`` holds for it, a bundle id they carry), of
        envelopes from ``sender``."""
        rows = self.rows(
            "SELECT i.message_id, COUNT(*) AS n, MIN(i.bundle_id) AS bundle_id FROM inbound i "
            "JOIN partners p ON p.id = i.partner_id WHERE p.node_id = :sender "
            "GROUP BY i.message_id",
            sender=sender,
        )
        return {r.message_id: (int(r.n), r.bundle_id) for r in rows}

    def audit_reasons(self, action: str) -> Counter[str]:
        rows = self.rows("SELECT reason FROM audit_events WHERE action = :action", action=action)
        return Counter(r.reason or "" for r in rows)

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Server:
    """One ``liaison serve`` process of a node."""

    node: LiveNode
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive:
                pytest.fail(
                    f"{self.node.node_id} server on port {self.port} exited with "
                    f"{self.process.returncode}:\n{self.node.log_tail(self.log_path)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"{self.node.node_id} did not answer on port {self.port} in {START_TIMEOUT} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, open transactions and connections just vanish."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> int:
        """SIGTERM, as an operator stops a node; returns the exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=STOP_TIMEOUT)


@dataclass
class LiveNode:
    """A node's data dir and the servers running it (more than one: replicas on one database)."""

    node_id: str
    name: str
    root: Path
    database_url: str
    port: int = field(default_factory=free_port)
    fingerprint: str = ""
    servers: list[Server] = field(default_factory=list)
    starts: int = 0
    _token: str | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / self.node_id.lower()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server(self) -> Server:
        """The server on the node's own port (the one partners know)."""
        return next(s for s in reversed(self.servers) if s.port == self.port)

    # -- setting up, as the node's administrator would --

    def init(self) -> None:
        """``node init`` on the node's database (cheap key-file KDF), and an officer account."""
        database_url = None if self.database_url.startswith("sqlite") else self.database_url
        made = admin_local.init(
            self.data_dir,
            node_id=self.node_id,
            passphrase=PASSPHRASE,
            display_name=self.name,
            port=self.port,
            database_url=database_url,
            kdf_memory_kib=KDF_MEMORY_KIB,
        )
        self.fingerprint = made["fingerprint"]
        if database_url is None:  # the embedded default lives in the data dir
            self.database_url = f"sqlite:///{self.data_dir / 'liaison.db'}"
        # An open sharing policy towards the other test nodes (their files, as an admin writes).
        write_open_policies(self.data_dir / "policies", self.node_id)
        self.add_user("officer", "officer")

    def add_user(self, username: str, role: str) -> None:
        admin_local.add_user(
            self.data_dir,
            username=username,
            role=role,
            password=PASSWORD,
            passphrase=PASSPHRASE,
            kdf_memory_kib=KDF_MEMORY_KIB,
        )

    def pin(self, other: LiveNode, url: str | None = None) -> None:
        """Pin ``other`` (which must be serving), reached at ``url`` (default: its own URL)."""
        admin_local.add_partner(
            self.data_dir,
            node_id=other.node_id,
            url=url or other.url,
            fingerprint=other.fingerprint,
            name=other.name,
            passphrase=PASSPHRASE,
        )

    # -- running --

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")}
        env.update(FAST_TIMERS, LIAISON_PASSPHRASE=PASSPHRASE)
        return env

    def start(self, port: int | None = None, *, wait: bool = True) -> Server:
        """Start ``liaison serve`` (on ``port`` for a replica) and wait until it answers."""
        port = port or self.port
        self.starts += 1
        log_path = self.root / f"{self.node_id.lower()}-{port}-serve.log"
        with log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts} of {self.node_id} on port {port} ---\n".encode())
            log.flush()
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "clients",
                    "serve",
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    str(port),
                ],
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if _LIBC is not None else None,
            )
        server = Server(self, port, process, log_path)
        self.servers = [s for s in self.servers if s.port != port] + [server]
        if wait:
            server.wait_ready()
        return server

    def kill(self) -> None:
        self.server.kill()

    def restart(self) -> None:
        self.start(self.server.port)

    def shutdown(self) -> None:
        """Stop every server of the node, whatever state the test left them in."""
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()

    def log_tail(self, path: Path | None = None, lines: int = 30) -> str:
        paths = [path] if path else sorted(self.root.glob(f"{self.node_id.lower()}-*-serve.log"))
        out = []
        for p in paths:
            out.append(f"== {p.name}")
            out.extend(p.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    def log_problems(self) -> list[str]:
        """Lines of the servers' logs that tell of an unexpected error (tracebacks, ERROR)."""
        found = []
        for p in sorted(self.root.glob(f"{self.node_id.lower()}-*-serve.log")):
            for line in p.read_text(errors="replace").splitlines():
                if "Traceback" in line or "ERROR" in line or "Error:" in line:
                    found.append(f"{p.name}: {line.strip()}")
        return found

    # -- an officer at work --

    def officer(self, url: str | None = None) -> LiaisonClient:
        client = LiaisonClient(url or self.url, self._token, timeout=60)
        if self._token is None:
            self._token = client.login("officer", PASSWORD)
        return client

    def database(self) -> NodeDatabase:
        return NodeDatabase(self.database_url)


def process_with_port(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` owns the loopback TCP socket bound to local ``port`` (Linux ``/proc``),
    so that a proxy can tell the replicas of a node apart by their connections."""
    inodes = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
    return None


@functools.cache
def _template() -> dict[str, Any]:
    template: dict[str, Any] = json.loads(TEMPLATE.read_text())
    return template


def fictional_bundle(n: int) -> bytes:
    """The demo's fictional SY report with fresh ids: each submission is a report of its own."""
    bundle = copy.deepcopy(_template())
    bundle["id"] = f"bundle--{uuid.uuid4()}"
    for obj in bundle["objects"]:
        if obj["type"] == "report":
            obj["id"] = f"report--{uuid.uuid4()}"
            obj["name"] = f"{obj['name']} #{n}"
    return json.dumps(bundle).encode()


def submit_reports(
    node: LiveNode, to: str, count: int, *, threads: int = 4, urls: list[str] | None = None
) -> dict[str, str]:
    """Submit ``count`` fictional reports for ``to`` over HTTP from a few officer threads
    (spread over ``urls``, default the node's own); returns message id -> bundle id.

    Raises:
        clients.errors.LiaisonError: a submission failed (the node was down or refused it).
    """
    urls = urls or [node.url]
    node.officer().close()  # log in once; the threads share the token
    local = threading.local()
    clients: list[LiaisonClient] = []

    def submit(n: int) -> tuple[str, str]:
        if not hasattr(local, "client"):
            local.client = node.officer(urls[len(clients) % len(urls)])
            clients.append(local.client)
        report = local.client.submit_report(fictional_bundle(n), to=[to])
        [delivery] = report["deliveries"]
        return delivery["message_id"], report["bundle_id"]

    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="officer") as pool:
            return dict(pool.map(submit, range(count)))
    finally:
        for client in clients:
            client.close()


@dataclass
class Exchange:
    """What the sender and the receiver hold for the reports of one test, read from their
    databases; ``problems()`` says in words what is not yet (or never) right."""

    expected: dict[str, str]  # message id -> bundle id, as submitted
    deliveries: dict[str, Any]
    received: dict[str, tuple[int, str]]

    @classmethod
    def read(cls, sender: LiveNode, receiver: LiveNode, expected: dict[str, str]) -> Exchange:
        sdb, rdb = sender.database(), receiver.database()
        try:
            return cls(expected, sdb.deliveries(receiver.node_id), rdb.inbound(sender.node_id))
        finally:
            sdb.close()
            rdb.close()

    def problems(self) -> list[str]:
        found = []
        missing = set(self.expected) - set(self.received)
        if missing:
            found.append(
                f"{len(missing)} of {len(self.expected)} reports never reached the "
                f"receiver, e.g. {sorted(missing)[:3]}"
            )
        duplicated = {m: n for m, (n, _) in self.received.items() if n > 1}
        if duplicated:
            found.append(f"{len(duplicated)} reports stored more than once: {duplicated}")
        unknown = set(self.received) - set(self.expected)
        if unknown:
            found.append(f"{len(unknown)} received reports nobody submitted: {sorted(unknown)[:3]}")
        swapped = {
            m: (bundle, self.expected[m])
            for m, (_, bundle) in self.received.items()
            if m in self.expected and bundle != self.expected[m]
        }
        if swapped:
            found.append(f"{len(swapped)} messages carry another bundle than submitted: {swapped}")
        unaccounted = set(self.expected) - set(self.deliveries)
        if unaccounted:
            found.append(f"{len(unaccounted)} submitted reports have no delivery at the sender")
        pending = {m: d for m, d in self.deliveries.items() if d.state != "acknowledged"}
        if pending:
            states = Counter(d.state for d in pending.values())
            errors = Counter((d.last_error or "-")[:120] for d in pending.values())
            attempts = Counter(d.attempts for d in pending.values())
            found.append(
                f"{len(pending)} deliveries not acknowledged at the sender: states "
                f"{dict(states)}, attempts {dict(sorted(attempts.items()))}, last errors "
                f"{dict(errors.most_common(3))}"
            )
        return found

    def attempts(self) -> dict[int, int]:
        return dict(sorted(Counter(d.attempts for d in self.deliveries.values()).items()))


def wait_for_exchange(
    sender: LiveNode,
    receiver: LiveNode,
    expected: dict[str, str],
    *,
    timeout: float,
    context: Callable[[], str] = lambda: "",
) -> Exchange:
    """Poll both databases until every expected report is stored once at the receiver and
    acknowledged at the sender; fail with what is still wrong after ``timeout`` seconds."""
    started = time.monotonic()
    while True:
        exchange = Exchange.read(sender, receiver, expected)
        problems = exchange.problems()
        if not problems:
            return exchange
        refused = sorted(m for m, d in exchange.deliveries.items() if d.state == "refused")
        waited = time.monotonic() - started
        if refused or waited > timeout:
            # A refused delivery is final: waiting longer cannot mend it.
            why = "a delivery was refused" if refused else f"after {timeout:.0f} s"
            evidence = "\n".join(delivery_evidence(sender, receiver, m) for m in refused[:3])
            logs = "\n".join((sender.log_problems() + receiver.log_problems())[-20:])
            pytest.fail(
                f"{why} the exchange {sender.node_id} -> {receiver.node_id} has not converged "
                f"({waited:.0f} s):\n- " + "\n- ".join(problems) + f"\n{context()}\n{evidence}"
                f"\nerrors in the server logs (last 20):\n{logs or '(none)'}"
                f"\nlogs and data dirs: {sender.root}"
            )
        time.sleep(POLL_SECONDS)


def delivery_evidence(sender: LiveNode, receiver: LiveNode, message_id: str) -> str:
    """Everything both databases say about one message: the delivery row, the stored envelope
    digests on each side, and each side's audit records about it."""
    sdb, rdb = sender.database(), receiver.database()
    try:
        lines = [f"message {message_id}:"]
        for d in sdb.rows("SELECT * FROM deliveries WHERE message_id = :m", m=message_id):
            row = d._asdict()
            digest = row.get("envelope_sha256")
            lines.append(
                f"  {sender.node_id} delivery: state {row['state']}, attempts {row['attempts']}, "
                f"envelope sha256 {digest.hex() if digest else None}, "
                f"last error {row['last_error']!r}"
            )
        inbound = rdb.rows(
            "SELECT id, envelope_sha256 FROM inbound WHERE message_id = :m", m=message_id
        )
        for row in inbound:
            lines.append(
                f"  {receiver.node_id} inbound {row.id}: "
                f"envelope sha256 {bytes(row.envelope_sha256).hex()}"
            )
        trail = "SELECT at, action, outcome, reason FROM audit_events WHERE object_id = :o"
        trail += " ORDER BY id"
        for event in sdb.rows(trail, o=message_id):
            lines.append(
                f"  {sender.node_id} audit {event.at} {event.action} {event.outcome} {event.reason}"
            )
        events = [e for row in inbound for e in rdb.rows(trail, o=row.id)]
        events += rdb.rows(
            "SELECT at, action, outcome, reason FROM audit_events "
            "WHERE action = 'federation.refuse' AND reason LIKE :m ORDER BY id",
            m=f"%{message_id}%",
        )
        for event in events:
            lines.append(
                f"  {receiver.node_id} audit {event.at} {event.action} "
                f"{event.outcome} {event.reason}"
            )
        return "\n".join(lines)
    finally:
        sdb.close()
        rdb.close()


def start_and_pin(
    sender: LiveNode,
    receiver: LiveNode,
    *,
    receiver_url: str | None = None,
    sender_url: str | None = None,
) -> None:
    """Start both nodes and have their administrators pin each other; each reaches the other at
    its own URL unless ``receiver_url`` / ``sender_url`` say otherwise (a proxy)."""
    for server in [sender.start(wait=False), receiver.start(wait=False)]:
        server.wait_ready()
    sender.pin(receiver, receiver_url)
    receiver.pin(sender, sender_url)
