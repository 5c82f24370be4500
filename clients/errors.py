"""The errors of the liaison client: the SDK and the CLI raise only these.

    LiaisonError                base; ``str(exc)`` is a one-line reason, ``errors`` extra lines
     ├── ApiError               the node answered with an error (RFC 9457 problem+json):
     │                          ``status``, ``code``, ``detail``, ``errors`` (422 validation lines),
     │                          ``extra`` (other members, e.g. ``decisions`` of a policy refusal)
     ├── NotLoggedIn            no token, or the node refused it (expired, revoked, another node's)
     ├── ConnectionFailed       a server could not be reached or broke off (DNS, refused, timeout,
     │                          TLS, a malformed HTTP answer)
     ├── VerificationFailed     what the node (or a file from it) presents does not verify: a key
     │                          that is not the pinned fingerprint's, a bad signature or proof,
     │                          a malformed proof file or export
     └── UsageError             the caller's input is unusable before anything is sent (no node
                                URL, an invalid URL, no password and no terminal to ask on)

Exceptions of the libraries underneath (``httpx.HTTPError``, ``json.JSONDecodeError``) are
translated where they occur, with ``raise ... from exc``, and never leak out of ``clients``.
The CLI turns each class into an exit code (see ``clients.cli``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class LiaisonError(Exception):
    """Base of every client error."""

    def __init__(self, message: str, *, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)

    def __str__(self) -> str:
        return self.message


class ApiError(LiaisonError):
    """The node refused the request; the fields come from its problem+json answer.

    ``extra`` holds the answer's extension members (RFC 9457 section 3.2) as received: for a
    sharing-policy refusal ``decisions`` (one decision record per partner), for a refused read
    ``decision`` (the access rule that decided). Use :meth:`decisions` to read either.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, errors=errors)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = dict(extra or {})

    def decisions(self) -> list[dict[str, Any]]:
        """The decision records the node gave for its refusal (``decisions``, else the one
        ``decision``), keeping only those that are JSON objects; empty if none."""
        raw = self.extra.get("decisions")
        if raw is None and "decision" in self.extra:
            raw = [self.extra["decision"]]
        return [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []

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


class VerificationFailed(LiaisonError):
    """An audit check failed on the client's side: keys, signatures, proofs or the files
    holding them (``clients.auditcheck``)."""


class UsageError(LiaisonError):
    """The request cannot be made as given (missing or invalid input)."""
