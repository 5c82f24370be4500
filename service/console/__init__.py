"""The web console: pages for officers, releasers, auditors and administrators, in Arabic and
English, served by the node itself under ``/console/``.

It is HTML over the same service functions as the API (``service.reports``, ``service.audit``,
``service.identity``...), with its transactions from the same dependencies, so every policy
decision and audit record is the same whichever way a user comes in. Server-rendered (Jinja2),
plain forms, no script.
    i18n      the two languages; catalog: every string in both
    security  response headers, the same-origin rule, CSRF tokens, untrusted text
    deps      the caller from the session cookie, roles, checked forms
    render    the template environment and the frame of every page
    forms     the report form's fields to and from a draft
    login     the login page, and where a login may lead
    errors    typed errors as pages (called by ``service.api.problems``)
    pages     the routes, one module per area
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.console import errors
from service.console.pages import ROUTERS
from service.console.render import STATIC
from service.console.security import PREFIX, ConsoleHeaders


def install(app: FastAPI) -> None:
    """Serve the console on ``app``: its routes, its stylesheet and its security headers."""
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(ConsoleHeaders)


__all__ = ["errors", "install"]
