"""TAXII 2.1 error messages (section 3.6.1) instead of RFC 9457 problems on the TAXII listener.

TAXII clients expect the error resource their standard defines, served as
``application/taxii+json;version=2.1``: ``title``, ``description``, ``error_code`` (our stable
code), ``http_status`` (as a string, as the standard's examples do) and ``details`` (validation
messages). The mapping from errors to statuses, and the writing of a refusal's audit records,
stay in the one place that does them for the whole node (``service.api.problems``); this module
only renders the body (docs/integration.md says why the TAXII listener deviates from problem+json).

A 401 carries ``WWW-Authenticate`` with both schemes the listener accepts.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from service.node import Node
from service.taxii.media import TaxiiResponse

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
CHALLENGE = 'Basic realm="liaison TAXII", charset="UTF-8", Bearer realm="liaison TAXII"'


class TaxiiErrors:
    """``service.api.problems.Pages`` for the TAXII app: every error is a TAXII error message."""

    def handles(self, request: Request) -> bool:
        return True

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
    ) -> Response:
        body: dict[str, object] = {
            "title": TITLES.get(status, "Error"),
            "description": detail or f"an internal error occurred (reference {reference})",
            "error_code": code,
            "http_status": str(status),
        }
        if reference:
            body["error_id"] = reference
        if errors:
            body["details"] = {"errors": errors[:100]}
        headers = {"WWW-Authenticate": CHALLENGE} if status == 401 else None
        return TaxiiResponse(body, status_code=status, headers=headers)
