"""The FastAPI application of a node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crypto.fingerprint import fingerprint
from service import problems
from service.api import admin, auditor, courier, federation, officer, releases
from service.api.schemas import NodeInfo
from service.node import Node


def create_app(node: Node, *, run_worker: bool = False) -> FastAPI:
    """Build the node's app; ``run_worker`` also runs the delivery worker while the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        from service.checkpoints import start_notary
        from service.delivery import start_worker

        thread, stop = start_worker(node)
        notary = start_notary(node)
        try:
            yield
        finally:
            notary.stopping.set()
            stop.set()
            node.wakeup.ring()
            thread.join(timeout=10)

    app = FastAPI(
        title=f"liaison node {node.node_id}",
        version="1",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.node = node
    problems.install(app)
    routers = (officer.router, releases.router, admin.router, courier.router, auditor.router,
               federation.router)  # fmt: skip
    for router in routers:
        app.include_router(router)

    @app.get("/healthz", tags=["node"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "node_id": node.node_id}

    @app.get("/api/v1/node", response_model=NodeInfo, tags=["node"])
    def node_info() -> NodeInfo:
        public = node.identity.signing.public
        return NodeInfo(
            node_id=node.node_id,
            name=node.settings.node_name,
            fingerprint=fingerprint(public),
            signing_key_id=public.key_id,
            public_url=node.settings.public_url,
        )

    return app
