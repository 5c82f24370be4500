"""The sockets ``liaison serve`` binds itself (both listeners exist before the server starts)
must behave as the ones uvicorn would have bound: in particular every accepted connection has
TCP_NODELAY, or a keep-alive client (a partner's pushes, a TAXII client's pages) waits about
40 ms for each answer, Nagle's algorithm holding the body until the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket

import pytest

from clients.errors import LiaisonError
from clients.local.server import _bind


def test_the_listening_socket_says_tcp():
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_every_accepted_connection_has_nodelay():
    async def go() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                accepted = transport.get_extra_info("socket")
                seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listener = _bind("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 5)
            writer.close()
        return value

    assert asyncio.run(go()) != 0


def test_a_taken_port_is_a_plain_error():
    taken = _bind("127.0.0.1", 0)
    try:
        with pytest.raises(LiaisonError, match=r"cannot listen on 127\.0\.0\.1"):
            _bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
