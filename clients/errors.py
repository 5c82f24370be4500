"""The errors of the liaison client: the SDK and the CLI raise only these.

    LiaisonError                base; ``str(exc)`` is a one-line reason, ``errors`` extra lines
     ├── ApiError               the node answered with an error (RFC 9457 problem+json):
     │                          ``status``, ``code``, ``detail``, ``errors`` (422 validation lines)
     ├── NotLoggedIn            no token, or the node refused it (expired, revoked, another node's)
     ├── ConnectionFailed       a server could not be reached or broke off (DNS, refused, timeout,
     │                          TLS, a malformed HTTP answer)
     └── UsageError             the caller's input is unusable before anything is sent (no node
                                URL, an invalid URL, no password and no terminal to ask on)

Exceptions of the libraries underneath (``httpx.HTTPError``, ``json.JSONDecodeError``) are
translated where they occur, with ``raise ... from exc``, and never leak out of ``clients``.
The CLI turns each class into an exit code (see ``clients.cli``).
"""

from __future__ import annotations

from collections.abc import Sequence


class LiaisonError(Exception):
    """Base of every client error."""

    def __init__(self, message: str, *, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)

    def __str__(self) -> str:
        return self.message


class ApiError(LiaisonError):
    """The node refused the request; the fields come from its problem+json answer."""

    def __init__(self, status: int, code: str, detail: str, *, errors: Sequence[str] = ()) -> None:
        super().__init__(detail, errors=errors)
        self.status = status
        self.code = code
        self.detail = detail

    def __repr__(self) -> str:
        return f"ApiError(status={self.status}, code={self.code!r}, detail={self.detail!r})"


class NotLoggedIn(LiaisonError):
    """There is no token for this node, or the node no longer accepts it."""

    def __init__(self, reason: str = "") -> None:
        message = "not logged in: run liaison login"
        super().__init__(f"{message} ({reason})" if reason else message)
        self.reason = reason


class ConnectionFailed(LiaisonError):
    """A server could not be reached, or its answer was not HTTP we can read."""


class UsageError(LiaisonError):
    """The request cannot be made as given (missing or invalid input)."""
