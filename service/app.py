"""The FastAPI application of a node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import console
from service.api import ROUTERS, problems
from service.exchange import worker
from service.node import Node


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
