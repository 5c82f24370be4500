"""Who is calling the TAXII listener: an integration credential (``service.identity``).

Three ways to present the secret, as the platforms that connect send it:

* ``Authorization: Basic`` with the credential's name and its secret (the scheme in any case:
  MISP sends ``basic``);
* ``Authorization: Bearer <secret>``;
* ``X-API-Key: <secret>``.

Anything else, or a wrong, revoked or malformed secret, is a 401 with ``WWW-Authenticate``
(``service.taxii.errors``) and an ``auth.integration`` denial in the audit log.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from service.api.deps import NodeDep, RemoteAddr
from service.audit import Actor, ActorType, denial
from service.errors import Unauthenticated
from service.identity import IntegrationPrincipal, authenticate_integration

API_KEY_HEADER = "x-api-key"


def _refused(request: Request, node: NodeDep, addr: str | None, reason: str) -> Unauthenticated:
    who = Actor(ActorType.ANONYMOUS, "-", None, addr)
    where = f"{request.method} {request.url.path}"
    return Unauthenticated(
        "the TAXII credential is missing, wrong or revoked", code="integration_auth_failed"
    ).recording(denial(who, "auth.integration", node.utcnow(), f"{where}: {reason}"))


def presented(request: Request) -> tuple[str, str | None] | None:
    """The secret a request presents and the name Basic authentication claims with it (None
    for the other schemes), or None when there is none or it is malformed."""
    header = request.headers.get("authorization", "").strip()
    if header:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return value, None
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            name, colon, secret = decoded.partition(":")
            return (secret, name) if colon and secret else None
        return None
    key = request.headers.get(API_KEY_HEADER, "").strip()
    return (key, None) if key else None


def current_integration(request: Request, node: NodeDep, addr: RemoteAddr) -> IntegrationPrincipal:
    """The calling integration, re-read from the database for this request.

    Raises:
        Unauthenticated: ``integration_auth_failed``, carrying its denial.
    """
    credential = presented(request)
    if credential is None:
        reason = (
            "no credential"
            if not request.headers.get("authorization")
            else ("an Authorization header that is neither Basic nor Bearer, or malformed")
        )
        raise _refused(request, node, addr, reason)
    secret, claimed = credential
    with node.db.read() as session:
        return authenticate_integration(session, node, secret, claimed_name=claimed,
                                        where=f"{request.method} {request.url.path}",
                                        remote_addr=addr)  # fmt: skip


Caller = Annotated[IntegrationPrincipal, Depends(current_integration)]
