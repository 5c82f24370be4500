"""HTTP only: routes, their dependencies, the request and response bodies, and the one place
errors become problem+json. Routes parse, authenticate, get their unit of work from
``service.api.deps``, call one service function and return a schema."""

from service.api import admin, auditor, courier, drafts, federation, node, officer, releases

ROUTERS = (
    node.router,
    officer.router,
    drafts.router,
    releases.router,
    admin.router,
    courier.router,
    auditor.router,
    federation.router,
)

__all__ = ["ROUTERS"]
