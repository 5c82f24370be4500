"""The service's errors. Domain code raises these; ``service.api.problems`` alone turns them into
HTTP responses (a federation answer that must be signed takes its body from :meth:`problem`).

    ServiceError                  code, HTTP status, title, detail, consequences
     ├── BadRequest               400  the request cannot be understood
     ├── Unauthenticated          401  no valid credentials (login failed, token missing/expired)
     ├── FederationRejected       401  a partner request failed verification: the peer hears only
     │                                 "rejected", the audit log gets the precise crypto code
     ├── Forbidden                403  authenticated, but the role, clearance or sharing policy
     │                                 does not allow it
     ├── NotFound                 404  absent, or not yours (both answer the same)
     ├── Conflict                 409  clashes with existing state (duplicate user, partner)
     ├── PayloadTooLarge          413  over a size limit
     ├── Unprocessable            422  well-formed but invalid content, with a list of messages
     ├── TooManyRequests          429  slow down (e.g. repeated failed logins)
     ├── PartnerUnreachable       502  a partner did not answer or answered badly
     └── Unavailable              503  the node cannot serve right now

Anything else that escapes a handler becomes an opaque 500 that is logged, never shown.

A refusal is recorded by the error itself: :meth:`ServiceError.recording` attaches what must be
written although the action fails (its audit records; a failed-login count). The action's own
transaction is rolled back, then whoever handles the error (the HTTP error mapper, the federation
server, the worker) writes those consequences in a transaction of their own
(``service.db.Database.persist``). No service function returns an error for its caller to raise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self

from sqlalchemy.orm import Session

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://liaison.invalid/problems/"


class Consequence(Protocol):
    """Something a refused action must still write (an audit record, a failed-login count)."""

    def write(self, session: Session) -> None:
        """Write it in ``session`` (the transaction commits after every consequence is written)."""


class ServiceError(Exception):
    status = 500
    code = "internal"
    title = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = list(errors)
        # RFC 9457 extension members (JSON values), e.g. the policy decisions behind a refusal.
        self.extra = dict(extra or {})
        self.consequences: list[Consequence] = []

    def recording(self, *consequences: Consequence) -> Self:
        """Attach what must be written although the action fails; returns the error itself, so
        ``raise Forbidden(...).recording(entry)`` reads as one statement."""
        self.consequences.extend(consequences)
        return self

    def diagnostics(self) -> str:
        extra = "; ".join(self.errors[:5])
        return f"{self.code}: {self.detail}" + (f" ({extra})" if extra else "")

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 problem document: ``type``, ``title``, ``status``, ``detail``, ``code``,
        then ``errors`` (validation messages) and the extension members, where present."""
        return problem_document(
            self.status, self.code, self.title, self.detail, errors=self.errors or None,
            **self.extra,
        )  # fmt: skip

    def problem_bytes(self) -> bytes:
        """:meth:`problem` as compact UTF-8 JSON (for answers that are signed as bytes)."""
        return json.dumps(self.problem(), separators=(",", ":"), ensure_ascii=False).encode()


def problem_document(
    status: int, code: str, title: str, detail: str, **extra: Any
) -> dict[str, Any]:
    """An RFC 9457 problem document; ``extra`` members that are None are left out."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


class BadRequest(ServiceError):
    status, code, title = 400, "bad_request", "Bad request"


class Unauthenticated(ServiceError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class FederationRejected(ServiceError):
    status, code, title = 401, "rejected", "Rejected"


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(ServiceError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(ServiceError):
    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ServiceError):
    status, code, title = 413, "too_large", "Payload too large"


class Unprocessable(ServiceError):
    status, code, title = 422, "unprocessable", "Unprocessable content"


class TooManyRequests(ServiceError):
    status, code, title = 429, "too_many_requests", "Too many requests"


class PartnerUnreachable(ServiceError):
    status, code, title = 502, "partner_unreachable", "Partner unreachable"


class Unavailable(ServiceError):
    status, code, title = 503, "unavailable", "Service unavailable"
