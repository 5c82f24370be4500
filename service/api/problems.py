"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error response of the node is ``application/problem+json`` with ``type``, ``title``,
``status``, ``detail`` and a stable ``code``; validation failures add ``errors``, policy
refusals ``decisions`` (``service.errors.ServiceError.problem``). A refusal's consequences (its
audit records, a failed-login count) are written here, in a transaction of their own, after the
request's own transaction rolled back. Unexpected exceptions are logged with a reference id and
answered with an opaque 500 carrying that id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import PROBLEM_MEDIA_TYPE, ServiceError, problem_document
from service.node import Node

log = logging.getLogger("liaison.problems")


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


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if exc.consequences:
        node: Node = request.app.state.node
        try:
            await run_in_threadpool(node.db.persist, exc.consequences)
        except Exception as failure:  # the refusal cannot be recorded: say so, opaquely
            return await _unexpected(request, failure)
    headers = (
        {"WWW-Authenticate": "Bearer"} if exc.status == 401 and exc.code != "rejected" else None
    )
    return JSONResponse(
        exc.problem(), status_code=exc.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in exc.errors()
    ]
    return problem(
        422, "invalid_request", "Invalid request", "the request is invalid", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    return problem(
        500, "internal", "Internal error", f"an internal error occurred (reference {reference})"
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
