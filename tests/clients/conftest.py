"""Fixtures for the client tests: a clean environment, the CLI as a function, in-process nodes.

The SDK is synchronous (``httpx.Client``) while the nodes are ASGI apps, and ``httpx.ASGITransport``
is async only. :class:`InProcess` bridges them: a sync httpx transport that hands each request to
``tests.twonode.Network`` (which routes by host to the nodes' apps, and can mark a host down) on a
fresh event loop. Starlette's ``TestClient`` would also reach one app, but its transport is private
to it; this one serves both nodes, the partner-URL fetch of a local ``partner add``, and outages.
"""

from __future__ import annotations

import asyncio
import io
import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clients.cli import main
from tests.databases import fresh_database
from tests.twonode import Clock, Network, TestNode, make_node, pin_each_other

FAST_KDF_MEMORY_KIB = "8192"


class InProcess(httpx.BaseTransport):
    """A sync transport onto :class:`tests.twonode.Network`."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def exchange() -> httpx.Response:
            response = await self.network.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return asyncio.run(exchange())


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No LIAISON_* from the caller's shell; a private home for token files; cheap Argon2id."""
    for name in list(os.environ):
        if name.startswith("LIAISON_") or name == "XDG_CONFIG_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LIAISON_KDF_MEMORY_KIB", FAST_KDF_MEMORY_KIB)


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``liaison ARGV`` in-process: returns the exit code and what it printed.

    ``stdin`` is what the command reads (never a terminal), ``env`` extra variables for this call.
    """

    def run(
        *argv: str,
        stdin: str | bytes = b"",
        env: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        with monkeypatch.context() as m:
            m.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
            for name, value in (env or {}).items():
                m.setenv(name, value)
            capsys.readouterr()
            code = main(list(argv), transport=transport)
            captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@dataclass
class Cluster:
    iq: TestNode
    sy: TestNode
    network: Network
    clock: Clock
    transport: InProcess
    tmp: Path


@pytest.fixture
def cluster(tmp_path):
    """IQ and SY on SQLite, each with admin, officer and auditor users, not yet pinned."""
    network, clock = Network(), Clock()
    with (
        fresh_database("sqlite", tmp_path, "iq", migrated=True) as iq_url,
        fresh_database("sqlite", tmp_path, "sy", migrated=True) as sy_url,
    ):
        iq = make_node("IQ", "Baghdad", tmp_path, iq_url, network, clock)
        sy = make_node("SY", "Damascus", tmp_path, sy_url, network, clock)
    try:
        yield Cluster(iq, sy, network, clock, InProcess(network), tmp_path)
    finally:
        iq.close()
        sy.close()


@pytest.fixture
def pinned(cluster):
    asyncio.run(pin_each_other(cluster.iq, cluster.sy))
    return cluster
