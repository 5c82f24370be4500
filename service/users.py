"""Users of the node (officers, auditors, administrators) and logging in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import audit
from service.audit import Actor
from service.auth import ROLES, check_password_strength, hash_password, verify_password
from service.errors import BadRequest, Conflict, Unauthenticated
from service.models import User
from service.node import Node

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, as re-read from the database for this request."""

    id: int
    username: str
    role: str

    def actor(self, remote_addr: str | None = None) -> Actor:
        return Actor("user", self.username, self.role, remote_addr)


def create_user(
    session: Session, node: Node, *, username: str, role: str, password: str, actor: Actor
) -> User:
    """Create a user.

    Raises:
        BadRequest: invalid name, role or weak password.
        Conflict: the username is taken.
    """
    if not USERNAME.fullmatch(username):
        raise BadRequest("usernames are 2-64 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    weakness = check_password_strength(password, node.password_policy)
    if weakness:
        raise BadRequest(weakness)
    user = User(
        username=username,
        role=role,
        password_hash=hash_password(password, node.password_policy),
        disabled=False,
        failed_logins=0,
        created_at=node.utcnow(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists") from exc
    audit.record(
        session,
        actor=actor,
        action="user.add",
        outcome=audit.ALLOWED,
        at=node.utcnow(),
        object_type="user",
        object_id=username,
        reason=f"role {role}",
    )
    return user


def authenticate(session: Session, node: Node, username: str, password: str) -> User | None:
    """Return the user if the password is right and the account enabled, else None.

    Failure counts are kept per user; the caller records the outcome in the audit log.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        # Same Argon2id cost as a real check, so timing does not reveal which usernames exist.
        verify_password(password, node.dummy_password_hash)
        return None
    if not verify_password(password, user.password_hash) or user.disabled:
        user.failed_logins += 1
        return None
    user.failed_logins = 0
    return user


def load_principal(session: Session, username: str, role: str) -> Principal:
    """Re-read a token's user: it must still exist, be enabled and hold the token's role.

    Raises:
        Unauthenticated: otherwise.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled:
        raise Unauthenticated("the token's user no longer exists or is disabled")
    if user.role != role:
        raise Unauthenticated("the token's role no longer matches the user's role")
    return Principal(user.id, user.username, user.role)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
