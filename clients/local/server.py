"""``liaison serve``: the node's HTTP API and delivery worker, in this process."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clients.errors import LiaisonError
from clients.local.boundary import node_settings, translated


def serve(
    data_dir: Path,
    *,
    passphrase: str,
    listen_host: str | None = None,
    port: int | None = None,
) -> None:
    """Run the node's HTTP API and delivery worker until SIGINT or SIGTERM (uvicorn stops
    gracefully on both).

    Raises:
        LiaisonError: the node cannot be opened, or the server failed to start.
    """
    cap_malloc_arenas()
    import uvicorn

    from crypto.fingerprint import fingerprint as fingerprint_of
    from service.app import create_app, create_listeners
    from service.bootstrap import open_node

    overrides: dict[str, Any] = {}
    if listen_host is not None:
        overrides["listen_host"] = listen_host
    if port is not None:
        overrides["listen_port"] = port
    with translated():
        settings = node_settings(data_dir, **overrides)
        node = open_node(settings, passphrase)
    try:
        sockets = [_bind(settings.listen_host, settings.listen_port)]
        if settings.taxii_listen_port is None:
            app: Any = create_app(node, run_worker=True)
            taxii = ""
        else:
            sockets.append(_bind(settings.taxii_listen_host, settings.taxii_listen_port))
            host, taxii_port = sockets[1].getsockname()[:2]
            app = create_listeners(node, (host, taxii_port), run_worker=True)
            taxii = f", TAXII 2.1 on {host}:{taxii_port}"
        print(
            f"node {node.node_id} ({settings.node_name or '-'}) serving {settings.public_url} "
            f"on {settings.listen_host}:{sockets[0].getsockname()[1]}{taxii}, "
            f"fingerprint {fingerprint_of(node.identity.signing.public)}",
            flush=True,
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="info"))
        with _stop_signals_noted() as stopped_by, _reload_on_sighup(node):
            try:
                server.run(sockets=sockets)
            except SystemExit as exc:  # uvicorn exits when it cannot start
                if exc.code not in (0, None):
                    raise LiaisonError("the server stopped with an error (see its log)") from exc
            finally:
                for sock in sockets:
                    sock.close()
        if stopped_by:
            print(f"node {node.node_id} stopped ({signal.Signals(stopped_by[0]).name})", flush=True)
    finally:
        node.db.dispose()


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def cap_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas before the server starts its threads; True if capped here.

    glibc gives each thread that finds the arenas busy an arena of its own, up to eight per CPU,
    and memory freed in an arena stays with it: the node's RSS then grows with the number of
    requests served at once (bench/concurrency.py: +11% from 1 to 16 clients, +3% with two
    arenas), not with what it holds. An operator's own ``MALLOC_ARENA_MAX`` wins; other C
    libraries (musl) are left alone.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas) == 1)


@contextlib.contextmanager
def _reload_on_sighup(node: Any) -> Iterator[None]:
    """Read the key file again on SIGHUP (after ``liaison node rotate-keys``), in a thread of its
    own: the key file's KDF takes a moment, and a signal handler must not block the server."""
    from service.audit import Actor
    from service.errors import ServiceError
    from service.identity import reload_keys

    def reload() -> None:
        try:
            with node.db.write() as session:
                done = reload_keys(session, node, Actor.system("sighup"))
            kids = ", ".join(done.encryption_keys)
            print(f"node {node.node_id}: key file read again on SIGHUP; key document serial "
                  f"{done.serial}, encryption keys {kids}", flush=True)  # fmt: skip
        except ServiceError as exc:  # its key.reload denial is written, as the API writes it
            node.db.persist(exc.consequences)
            print(f"node {node.node_id}: {exc.detail}", file=sys.stderr, flush=True)

    def handler(signum: int, frame: object) -> None:
        threading.Thread(target=reload, name="liaison-reload-keys", daemon=True).start()

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        yield
        return
    previous = signal.signal(signal.SIGHUP, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


@contextlib.contextmanager
def _stop_signals_noted() -> Iterator[list[int]]:
    """Note SIGINT/SIGTERM instead of dying of them, while uvicorn runs.

    uvicorn handles both signals itself (a graceful shutdown) and then re-raises the one that
    stopped it to the handler that was installed before; a stop the operator asked for is a
    success, so that handler only records it and ``serve`` exits 0.
    """
    stopped_by: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: stopped_by.append(signum))
    try:
        yield stopped_by
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``, bound here so that both listeners exist before
    the server starts (and a port that is taken is a plain error, not a half-started node).

    Raises:
        LiaisonError: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio sets TCP_NODELAY only on accepted sockets whose protocol says
    # TCP, and without it a keep-alive client waits ~40 ms per answer (Nagle's algorithm against
    # its delayed ACK). tests/clients/test_serve_sockets.py measures it.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError as exc:
        sock.close()
        raise LiaisonError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock
