"""The FastAPI application of a node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from service import console
from service.api import ROUTERS, problems
from service.exchange import worker
from service.node import Node
from service.taxii import create_taxii_app


def create_app(node: Node, *, run_worker: bool = False) -> FastAPI:
    """Build the node's app; ``run_worker`` also runs its background work (delivery, pulls,
    witnessing, checkpoints: ``service.exchange.worker``) while the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        running = worker.start(node)
        try:
            yield
        finally:
            running.stop()

    app = FastAPI(
        title=f"liaison node {node.node_id}",
        version="1",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.node = node
    problems.install(app, pages=console.errors)
    for router in ROUTERS:
        app.include_router(router)
    console.install(app)
    return app


class Listeners:
    """One ASGI app for a server with two listening sockets: requests that arrived on the TAXII
    socket go to the TAXII app, all others (and the lifespan, which runs the worker) to the
    node's app. Which socket a request came in on is the server's local address in the ASGI
    scope, taken from the socket itself, never from a header, so neither surface can be reached
    through the other's port."""

    def __init__(self, main: ASGIApp, taxii: ASGIApp, taxii_address: tuple[str, int]) -> None:
        self.main = main
        self.taxii = taxii
        self.taxii_address = taxii_address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            local = scope.get("server")
            if local is not None and (str(local[0]), int(local[1])) == self.taxii_address:
                await self.taxii(scope, receive, send)
                return
        await self.main(scope, receive, send)


def create_listeners(
    node: Node, taxii_address: tuple[str, int], *, run_worker: bool = False
) -> Listeners:
    """The node's app and its TAXII app behind one server whose TAXII socket is bound to
    ``taxii_address`` (``clients.local.server``)."""
    return Listeners(create_app(node, run_worker=run_worker), create_taxii_app(node), taxii_address)
