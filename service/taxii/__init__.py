"""The TAXII 2.1 surface, for the home network's own platforms (OpenCTI, MISP, any TAXII
client), on a listener of its own, never for the partner node.

    media      media types, Accept and Content-Type, with the tolerances real clients need
    errors     TAXII error messages instead of problem+json, WWW-Authenticate on a 401
    auth       the calling integration credential (Basic, Bearer or X-API-Key)
    roots      one API root per partner; its inbox, sent and drafts collections
    query      the filters of section 3.4, keyset paging over the object index
    status     status resources of POSTs
    resources  each endpoint's work, audited
    routes     the endpoints of sections 4 and 5

What the collections hold is ``service.reports.collections``'; a POST to ``drafts`` becomes a
draft (``service.drafts``) that only an officer can submit. docs/integration.md is the guide.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api import problems
from service.node import Node
from service.taxii import routes
from service.taxii.errors import TaxiiErrors


class TrailingSlash:
    """TAXII URLs end in ``/``; a client that leaves it off is served the same resource (no
    redirect, which some clients do not follow for a POST)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].endswith("/"):
            scope = dict(scope, path=scope["path"] + "/")
            if raw := scope.get("raw_path"):
                scope["raw_path"] = raw + b"/"
        await self.app(scope, receive, send)


def create_taxii_app(node: Node) -> FastAPI:
    """The TAXII app of ``node`` (served on its own listener: ``service.app.create_listeners``)."""
    app = FastAPI(
        title=f"liaison node {node.node_id}: TAXII 2.1",
        version="2.1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.node = node
    problems.install(app, pages=TaxiiErrors())
    app.include_router(routes.router)
    app.add_middleware(TrailingSlash)
    return app


__all__ = ["create_taxii_app"]
