"""The service's errors. Domain code raises these; ``service.problems`` alone turns them into HTTP.

    ServiceError                  code, HTTP status, title, detail
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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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

    def diagnostics(self) -> str:
        extra = "; ".join(self.errors[:5])
        return f"{self.code}: {self.detail}" + (f" ({extra})" if extra else "")


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
