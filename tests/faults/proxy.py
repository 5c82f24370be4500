"""A loopback HTTP/1.1 proxy in front of a node, that watches envelope pushes and can lose
receipts.

A sender pins its partner at the proxy's URL (the partner's key document still names the
partner's own URL, which is what requests are signed for), so every push passes through here.
Each envelope of a ``POST /federation/v1/envelopes`` or of a batch (``.../envelopes/batch``) is
recorded as a :class:`Push`: the message id read from the envelope's clear header, when the
request arrived, when the node's answer came back, its status (the batch's, for each of its
envelopes).

With ``cut_first_push``, a request holding the first push of a message id is forwarded and fully
answered by the node, and then the connection to the sender is reset instead of passing the answer
on: the receiver has committed, the sender never reads the receipt(s).

Only what the tests need of HTTP/1.1: keep-alive, ``Content-Length`` or chunked bodies.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from crypto.encoding import b64u_decode
from crypto.envelope import parse_header
from crypto.errors import CryptoError

ENVELOPES_PATH = "/federation/v1/envelopes"
BATCH_PATH = ENVELOPES_PATH + "/batch"
IO_TIMEOUT = 60.0
MAX_LINE = 64 * 1024


@dataclass
class Push:
    message_id: str | None
    started: float
    finished: float | None = None
    status: int | None = None
    cut: bool = False
    sender: str | None = None

    def overlaps(self, other: Push) -> bool:
        """Were both requests in flight at some same moment (an unanswered one still is)?"""
        self_end = self.finished if self.finished is not None else float("inf")
        other_end = other.finished if other.finished is not None else float("inf")
        return self.started < other_end and other.started < self_end


class HttpMessageError(Exception):
    pass


def _read_message(stream: BinaryIO) -> tuple[bytes, dict[str, str], bytes] | None:
    """One HTTP/1.1 message from ``stream``: (head, headers, body as on the wire); None at EOF."""
    line = stream.readline(MAX_LINE)
    if not line:
        return None
    lines = [line]
    while line not in (b"\r\n", b"\n"):
        line = stream.readline(MAX_LINE)
        if not line:
            raise HttpMessageError("connection closed inside a message head")
        lines.append(line)
    headers = {}
    for raw in lines[1:-1]:
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = stream.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size_line = stream.readline(MAX_LINE)
            chunks.append(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            chunks.append(stream.read(size + 2))  # the chunk and its CRLF (or the final CRLF)
            if size == 0:
                break
        body = b"".join(chunks)
    else:
        body = b""
    return b"".join(lines), headers, body


def _message_ids(path: bytes, body: bytes) -> list[str | None] | None:
    """The message ids of the envelopes a request carries; None for any other request."""
    if path == ENVELOPES_PATH.encode():
        return [_message_id(body)]
    if path != BATCH_PATH.encode():
        return None
    try:
        encoded = json.loads(body)["envelopes"]
        return [_message_id(b64u_decode(e, field="envelope")) for e in encoded]
    except (ValueError, KeyError, TypeError, CryptoError):
        return [None]


def _message_id(body: bytes) -> str | None:
    try:
        header, _ = parse_header(body, max_bytes=len(body) + 1)
    except CryptoError:
        return None
    return header.message_id


class EnvelopeProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        cut_first_push: bool = False,
        identify: Callable[[int], str | None] | None = None,
    ) -> None:
        """``identify`` names the sender of a connection from its source port (e.g. which
        replica); it is asked at the connection's first push (a sender keeps its connections
        open between rounds, so one may have arrived before the test could name its owner)."""
        self.upstream_port = upstream_port
        self.cut_first_push = cut_first_push
        self.identify = identify
        self.pushes: list[Push] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EnvelopeProxy:
        thread = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)

    # -- what was seen --

    def snapshot(self) -> list[Push]:
        with self._lock:
            return list(self.pushes)

    def by_message(self) -> dict[str | None, list[Push]]:
        grouped: dict[str | None, list[Push]] = defaultdict(list)
        for push in self.snapshot():
            grouped[push.message_id].append(push)
        return dict(grouped)

    def overlapping(self) -> dict[str | None, list[Push]]:
        """Message ids pushed by two requests in flight at the same time."""
        found = {}
        for message_id, pushes in self.by_message().items():
            if any(a.overlaps(b) for i, a in enumerate(pushes) for b in pushes[i + 1 :]):
                found[message_id] = pushes
        return found

    # -- the proxy itself --

    def _track(self, sock: socket.socket) -> socket.socket:
        sock.settimeout(IO_TIMEOUT)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _forget(self, sock: socket.socket | None, *, reset: bool = False) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            if reset:  # RST rather than FIN: the sender sees the connection fail mid-answer
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, (_, peer_port) = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn, peer_port), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket, peer_port: int) -> None:
        client = self._track(conn)
        sender: str | None = None
        upstream: socket.socket | None = None
        pushes: list[Push] = []
        reset = False
        try:
            from_client = client.makefile("rb")
            while not self._closed.is_set():
                request = _read_message(from_client)
                if request is None:
                    return
                head, headers, body = request
                method, target = head.split(b" ", 2)[:2]
                pushes = []
                carried = _message_ids(target.split(b"?")[0], body) if method == b"POST" else None
                if carried is not None:
                    if sender is None and self.identify is not None:
                        sender = self.identify(peer_port)
                    started = time.monotonic()
                    pushes = [Push(m, started, sender=sender) for m in carried]
                    with self._lock:
                        seen = {p.message_id for p in self.pushes}
                        first = any(p.message_id not in seen for p in pushes)
                        self.pushes.extend(pushes)
                if upstream is None:
                    upstream = self._track(
                        socket.create_connection(("127.0.0.1", self.upstream_port))
                    )
                    from_upstream = upstream.makefile("rb")
                upstream.sendall(head + body)
                answer = _read_message(from_upstream)
                if answer is None:
                    return  # the node went away: so does the sender's connection
                answer_head, answer_headers, answer_body = answer
                if pushes:
                    finished = time.monotonic()
                    for push in pushes:
                        push.status = int(answer_head.split(b" ", 2)[1])
                        push.finished = finished
                    if self.cut_first_push and first:
                        for push in pushes:
                            push.cut = True
                        reset = True
                        return
                client.sendall(answer_head + answer_body)
                closing = headers.get("connection", "") + answer_headers.get("connection", "")
                if "close" in closing.lower():
                    return
        except (OSError, HttpMessageError, ValueError, IndexError):
            return
        finally:
            for push in pushes:
                if push.finished is None:
                    push.finished = time.monotonic()  # it failed, and the sender knows it now
            self._forget(client, reset=reset)
            self._forget(upstream)
