"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error response of the node is ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and a stable ``code``; validation failures add ``errors``, policy
refusals ``decisions`` (``service.errors.ServiceError.problem``). A refusal's consequences (its
audit records, a failed-login count) are written here, in a transaction of their own, after the
request's own transaction rolled back. Unexpected exceptions are logged with a reference id and
answered with an opaque 500 carrying that id.

Pages for people (the web console, ``service.console``) get the same mapping with a different
body: :func:`install` takes the console's :class:`Pages`, and for a request it handles the error
is rendered as a page (the audit records are written first, all the same).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import PROBLEM_MEDIA_TYPE, ServiceError, problem_document
from service.node import Node

log = logging.getLogger("liaison.problems")


class Pages(Protocol):
    """Errors as pages for people, for the requests :meth:`handles` says are theirs."""

    def handles(self, request: Request) -> bool: ...

    def render(
        self,
        request: Request,
        node: Node,
        *,
        status: int,
        code: str,
        detail: str,
        errors: list[str] | None = None,
        reference: str | None = None,
    ) -> Response: ...


def _pages(request: Request) -> Pages | None:
    pages: Pages | None = getattr(request.app.state, "error_pages", None)
    return pages if pages is not None and pages.handles(request) else None


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_document(status, code, title, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    node: Node = request.app.state.node
    if exc.consequences:
        try:
            await run_in_threadpool(node.db.persist, exc.consequences)
        except Exception as failure:  # the refusal cannot be recorded: say so, opaquely
            return await _unexpected(request, failure)
    if pages := _pages(request):
        return pages.render(request, node, status=exc.status, code=exc.code, detail=exc.detail,
                            errors=exc.errors)  # fmt: skip
    headers = (
        {"WWW-Authenticate": "Bearer"} if exc.status == 401 and exc.code != "rejected" else None
    )
    return JSONResponse(
        exc.problem(), status_code=exc.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in exc.errors()
    ]
    if pages := _pages(request):
        return pages.render(request, request.app.state.node, status=422,
                            code="invalid_request", detail="the request is invalid",
                            errors=errors)  # fmt: skip
    return problem(
        422, "invalid_request", "Invalid request", "the request is invalid", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    if pages := _pages(request):
        return pages.render(request, request.app.state.node, status=exc.status_code, code=code,
                            detail=str(exc.detail))  # fmt: skip
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    reference = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    if pages := _pages(request):
        try:
            return pages.render(request, request.app.state.node, status=500, code="internal",
                                detail="", reference=reference)  # fmt: skip
        except Exception:  # the page itself failed: fall back to the opaque problem below
            log.exception("the error page for %s failed", reference)
    return problem(
        500, "internal", "Internal error", f"an internal error occurred (reference {reference})"
    )


def install(app: FastAPI, pages: Pages | None = None) -> None:
    """Register the handlers on ``app``; ``pages`` renders the errors of the requests it
    handles (the console's)."""
    app.state.error_pages = pages
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
