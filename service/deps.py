"""FastAPI dependencies, in one place: the node, the database session and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service import audit
from service.audit import Actor
from service.errors import Forbidden, Unauthenticated
from service.node import Node
from service.users import Principal, load_principal


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def remote_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


RemoteAddr = Annotated[str | None, Depends(remote_addr)]


def get_session(node: NodeDep) -> Iterator[Session]:
    """A session in one transaction for the request: committed if the handler returns."""
    with node.db.transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("log in first: this endpoint needs a bearer token")
    return token.strip()


def _deny(node: Node, actor: Actor, action: str, reason: str) -> None:
    with node.db.transaction() as session:
        audit.record(
            session,
            actor=actor,
            action=action,
            outcome=audit.DENIED,
            at=node.utcnow(),
            reason=reason,
        )


def current_user(request: Request, node: NodeDep, addr: RemoteAddr) -> Principal:
    """The caller, from a valid token whose user still exists with the token's role.

    Raises:
        Unauthenticated: no token, or an invalid one (recorded in the audit log).
    """
    try:
        token = _bearer(request)
        claims = node.tokens.verify(token, now=node.now())
        with node.db.transaction() as session:
            return load_principal(session, claims.username, claims.role)
    except Unauthenticated as exc:
        _deny(
            node,
            Actor("anonymous", "-", None, addr),
            "auth.token",
            f"{request.method} {request.url.path}: {exc.detail}",
        )
        raise


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits only ``roles``; any other role is refused and recorded."""

    def dependency(
        request: Request, user: CurrentUser, node: NodeDep, addr: RemoteAddr
    ) -> Principal:
        if user.role not in roles:
            _deny(
                node,
                user.actor(addr),
                "auth.role",
                f"{request.method} {request.url.path} needs role {'/'.join(roles)}",
            )
            raise Forbidden(f"this action needs the {' or '.join(roles)} role")
        return user

    return dependency


Officer = Annotated[Principal, Depends(require("officer", "releaser"))]
"""Officers and releasers (officers who may also approve held releases)."""
Reviewer = Annotated[Principal, Depends(require("officer", "releaser", "auditor"))]
"""Who may follow release decisions: officers, releasers and auditors (who see no content)."""
Auditor = Annotated[Principal, Depends(require("auditor"))]
AuditorOrAdmin = Annotated[Principal, Depends(require("auditor", "admin"))]
"""The log's integrity (checkpoints, verification, alerts) concerns auditors and admins."""
Admin = Annotated[Principal, Depends(require("admin"))]
