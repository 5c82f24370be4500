"""FastAPI dependencies, in one place: the node, the request's unit of work, and the caller.

A request gets its database session from exactly one of two dependencies:

* :data:`ReadSession`: a read transaction (``service.db.Database.read``): it never takes the
  write lock, so a long read (a full verification of a large log) never stalls a submission or a
  delivery; the audit records a read makes are appended when the handler returns.
* :data:`WriteSession`: a write transaction, begun at its first statement (so a handler may talk
  to a partner before touching the database, never after) and committed when the handler
  returns, rolled back if it raises.

Both end *before* the response is sent (``scope="function"``): a commit that fails is a ``500``,
never a success the client believes while the database forgot it. Routes never open
transactions themselves; the few operations that are not one unit of work by nature (a courier
import stores each envelope in its own transaction; reconciling reads, asks the partner, reads
again) take the node and open theirs below the route.

The caller is authenticated in a transaction of its own (:func:`current_user`); a refusal, here
or in a handler, carries its audit record, which ``service.api.problems`` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.audit import Actor, ActorType, denial
from service.errors import Forbidden, Unauthenticated
from service.identity import Principal, load_principal
from service.node import Node


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


def remote_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


RemoteAddr = Annotated[str | None, Depends(remote_addr)]


def read_session(node: NodeDep) -> Iterator[Session]:
    """The request's read transaction (its audit records appended when it ends)."""
    with node.db.read() as session:
        yield session


def write_session(node: NodeDep) -> Iterator[Session]:
    """The request's write transaction: committed if the handler returns, else rolled back."""
    session = node.db.new_write_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("log in first: this endpoint needs a bearer token")
    return token.strip()


def current_user(request: Request, node: NodeDep, addr: RemoteAddr) -> Principal:
    """The caller, from a valid token whose user still exists with the token's role.

    Raises:
        Unauthenticated: no token, or an invalid one (carrying its ``auth.token`` denial).
    """
    try:
        token = _bearer(request)
        claims = node.tokens.verify(token, now=node.now())
        with node.db.read() as session:
            return load_principal(session, claims.username, claims.role, claims.generation)
    except Unauthenticated as exc:
        anonymous = Actor(ActorType.ANONYMOUS, "-", None, addr)
        reason = f"{request.method} {request.url.path}: {exc.detail}"
        raise exc.recording(denial(anonymous, "auth.token", node.utcnow(), reason)) from None


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits only ``roles``; any other role is refused and recorded."""

    def dependency(
        request: Request, user: CurrentUser, node: NodeDep, addr: RemoteAddr
    ) -> Principal:
        if user.role not in roles:
            reason = f"{request.method} {request.url.path} needs role {'/'.join(roles)}"
            raise Forbidden(f"this action needs the {' or '.join(roles)} role").recording(
                denial(user.actor(addr), "auth.role", node.utcnow(), reason)
            )
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
