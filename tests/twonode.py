"""Two liaison nodes in one process, talking through httpx's ASGI transport.

Each node has its own data dir, database (SQLite or PostgreSQL), keys and clock. Partner traffic
goes through :class:`Network`, an httpx transport that routes by host name to the other node's
app, so federation requests travel as real HTTP messages with real RFC 9421 signatures; the
network can also be cut, to test outages.

Every request a node makes of its partner is also checked on the way out: the sending node must
have no write transaction open on its database (a partner that answers slowly must never hold
the lock every submission and delivery waits for). A test that breaks the rule fails there.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from crypto.keys import KdfParams
from crypto.logverify import LogReport
from service import audit
from service.app import create_app
from service.auth import PasswordPolicy
from service.bootstrap import add_local_user, init_node, open_node
from service.exchange import Worker
from service.node import Node
from service.settings import Settings, load_settings
from tests.policyfiles import write_open_policies

FAST_KDF = KdfParams(iterations=1, lanes=1, memory_kib=8 * 1024)
FAST_PASSWORDS = PasswordPolicy(memory_kib=8 * 1024, iterations=1, lanes=1)
PASSPHRASE = "demo passphrase for tests"
PASSWORD = "correct horse battery staple"
REPORTS = Path(__file__).resolve().parents[1] / "demo" / "reports"
# Exports as other platforms write them: not valid reports until the import normaliser and an
# officer have done their part (an unmarked object, TLP 1.0 markings).
IMPORTS = REPORTS.parent / "imports"


class Clock:
    """A settable clock shared by the nodes of a test (starts at the real time)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Network(httpx.AsyncBaseTransport):
    """Routes requests by host to in-process apps, records what passes, and fails on demand.

    ``down`` hosts refuse connections; for ``cut_after_request`` hosts the request reaches the
    app and is processed, then the connection drops before the answer arrives; for hosts in
    ``forged_answers`` an attacker on the path answers instead of the node; ``missing_paths``
    answer 404 as a node of an older version without them would.
    """

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()
        self.cut_after_request: set[str] = set()
        self.forged_answers: dict[str, httpx.Response] = {}
        self.missing_paths: dict[str, set[str]] = {}
        self.sent: list[httpx.Request] = []
        self.probes: list[Callable[[httpx.Request], Awaitable[None]]] = []
        """Called with each request a node sends, before it travels (tests add them)."""

    def sent_by(self, holder: dict[str, Node]) -> httpx.AsyncBaseTransport:
        """The transport of one node's partner client (``holder["node"]`` once it is open)."""
        return _FromNode(self, holder)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} unreachable", request=request)
        await request.aread()
        self.sent.append(request)
        if host in self.forged_answers:  # someone on the path answers instead of the node
            return self.forged_answers[host]
        if request.url.path in self.missing_paths.get(host, ()):
            return httpx.Response(404, json={"detail": "Not Found"})
        response = await self.apps[host].handle_async_request(request)
        if host in self.cut_after_request:
            raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response


class WriteTransactionOpen(AssertionError):
    """A node talked to its partner while a write transaction was open on its database."""


class _FromNode(httpx.AsyncBaseTransport):
    def __init__(self, network: Network, holder: dict[str, Node]) -> None:
        self.network = network
        self.holder = holder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        node = self.holder.get("node")
        if node is not None and (open_writes := node.db.open_write_transactions()):
            raise WriteTransactionOpen(
                f"{node.node_id} sent {request.method} {request.url.path} with {open_writes} "
                "write transaction(s) open on its database"
            )
        for probe in self.network.probes:
            await probe(request)
        return await self.network.handle_async_request(request)


@dataclass
class TestNode:
    node: Node
    host: str
    network: Network
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def client(self) -> httpx.AsyncClient:
        """A client as an officer's CLI would use it, straight to this node's app."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("198.51.100.7", 40000)),
            base_url=self.url,
        )

    async def login(self, username: str) -> dict[str, str]:
        async with self.client() as c:
            r = await c.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def deliver(self) -> int:
        return await Worker(self.node).run_once()

    def add_user(self, username: str, role: str) -> None:
        add_local_user(self.node, username=username, role=role, password=PASSWORD)

    def close(self) -> None:
        self.node.db.dispose()


def make_node(
    node_id: str,
    name: str,
    tmp: Path,
    database_url: str,
    network: Network,
    clock: Clock,
    *,
    policies: bool = True,
) -> TestNode:
    """A node with an admin, an officer and an auditor, and (``policies``) an open sharing
    policy towards every other test node."""
    host = f"{node_id.lower()}.test"
    settings = init_node(
        tmp / node_id,
        node_id=node_id,
        passphrase=PASSPHRASE,
        public_url=f"http://{host}",
        name=name,
        database_url=database_url,
        kdf=FAST_KDF,
        now=int(clock()),
    )
    settings = load_settings(tmp / node_id)
    if policies:
        write_open_policies(settings.policies_path, node_id)
    node, app = _serve(settings, clock, network, host)
    test_node = TestNode(node=node, host=host, network=network)
    test_node.app = app  # type: ignore[attr-defined]
    for username, role in (("admin", "admin"), ("officer", "officer"), ("auditor", "auditor")):
        test_node.add_user(username, role)
    return test_node


def _serve(settings: Settings, clock: Clock, network: Network, host: str) -> tuple[Node, Any]:
    """Open the node of ``settings`` and put its app on ``network`` at ``host``."""
    holder: dict[str, Node] = {}
    node = open_node(
        settings,
        PASSPHRASE,
        clock=clock,
        password_policy=FAST_PASSWORDS,
        http_client=lambda: httpx.AsyncClient(transport=network.sent_by(holder), timeout=10),
    )
    holder["node"] = node
    app = create_app(node)
    network.apps[host] = httpx.ASGITransport(app=app)
    return node, app


def restart(test_node: TestNode) -> None:
    """Stop and start ``test_node`` in place, as ``liaison serve`` would be restarted: its key
    file and database read again (after an offline command changed them)."""
    old = test_node.node
    clock = old.clock
    assert isinstance(clock, Clock)
    test_node.node, test_node.app = _serve(  # type: ignore[attr-defined]
        old.settings, clock, test_node.network, test_node.host
    )
    old.db.dispose()


async def pin_each_other(a: TestNode, b: TestNode) -> None:
    """Each admin pins the other node by the fingerprint read from its console."""
    from crypto.fingerprint import fingerprint

    for here, there in ((a, b), (b, a)):
        headers = await here.login("admin")
        async with here.client() as c:
            r = await c.post(
                "/api/v1/admin/partners",
                headers=headers,
                json={
                    "node_id": there.node_id,
                    "url": there.url,
                    "fingerprint": fingerprint(there.node.identity.signing.public),
                },
            )
            assert r.status_code == 201, r.text


def verify_log(node: Node) -> LogReport:
    """The node's own verification of its whole audit log, in one read transaction."""
    with node.db.read() as session:
        return audit.verify(session, node)
