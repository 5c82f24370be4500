"""``liaison serve``: the node's HTTP API and delivery worker, in this process."""

from __future__ import annotations

import contextlib
import signal
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
    import uvicorn

    from crypto.fingerprint import fingerprint as fingerprint_of
    from service.app import create_app
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
        app = create_app(node, run_worker=True)
        print(
            f"node {node.node_id} ({settings.node_name or '-'}) serving {settings.public_url} "
            f"on {settings.listen_host}:{settings.listen_port}, "
            f"fingerprint {fingerprint_of(node.identity.signing.public)}",
            flush=True,
        )
        with _stop_signals_noted() as stopped_by:
            try:
                uvicorn.run(
                    app, host=settings.listen_host, port=settings.listen_port, log_level="info"
                )
            except SystemExit as exc:  # uvicorn exits when it cannot bind or start
                if exc.code not in (0, None):
                    raise LiaisonError("the server stopped with an error (see its log)") from exc
        if stopped_by:
            print(f"node {node.node_id} stopped ({signal.Signals(stopped_by[0]).name})", flush=True)
    finally:
        node.db.dispose()


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
