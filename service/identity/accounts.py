"""Accounts over their life: an administrator disables or enables a user, sets a new password,
changes a role or a clearance.

Disabling a user, changing their password or their role *ends* what they hold at once: the
user's token generation is raised, so every token issued before is refused at its next request
(``service.identity.users.load_principal``), and every console session of the user is deleted.
A clearance change needs neither: each request re-reads the clearance. The last enabled
administrator can be neither disabled nor demoted (nobody could then manage the node); each
change is an audit record (``user.disable``, ``user.enable``, ``user.passwd``, ``user.set_role``,
``user.set_clearance``) with what it ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import ROLE_MAY_READ_CONTENT
from service.audit import ALLOWED, Actor, record, refusal_recorded
from service.auth import ROLES, check_password_strength, hash_password
from service.errors import BadRequest, Conflict, NotFound
from service.identity.sessions import end_user_sessions
from service.identity.users import parse_clearance
from service.models import User
from service.node import Node

ADMIN = "admin"


def _refusal_recorded(node: Node, actor: Actor, action: str, username: str) -> Any:
    return refusal_recorded(actor, action, node.utcnow, object_type="user",
                            object_id=username[:128])  # fmt: skip


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def _keep_an_admin(session: Session, user: User, what: str) -> None:
    """Refuse to disable or demote the last enabled administrator.

    Raises:
        Conflict: ``last_admin``.
    """
    if user.role != ADMIN or user.disabled:
        return
    # Lock the other administrators' rows: two admins demoting each other at once must not both
    # succeed.
    others = select(User.id).where(User.role == ADMIN, User.id != user.id, User.disabled.is_(False))
    locked = session.scalars(others.with_for_update()).all()
    if not locked:
        raise Conflict(
            f"{user.username} is the last enabled administrator and cannot be {what}: "
            "add or enable another administrator first",
            code="last_admin",
        )


def _end_all(session: Session, user: User) -> str:
    """End every token (a new generation) and console session of ``user``; says what ended."""
    user.token_generation += 1
    ended = end_user_sessions(session, user.id)
    return f"tokens of generation {user.token_generation - 1} and {ended} console sessions ended"


def _record(
    session: Session, node: Node, actor: Actor, action: str, user: User, reason: str
) -> None:
    record(session, actor=actor, action=action, outcome=ALLOWED, at=node.utcnow(),
           object_type="user", object_id=user.username, reason=reason)  # fmt: skip


def disable_user(session: Session, node: Node, username: str, actor: Actor) -> User:
    """Disable an account: it cannot log in, and what it holds ends now.

    Raises:
        NotFound: no such user.
        Conflict: already disabled (``already_disabled``), or the last enabled administrator.
    """
    with _refusal_recorded(node, actor, "user.disable", username):
        user = _user(session, username)
        if user.disabled:
            raise Conflict(f"user {username!r} is already disabled", code="already_disabled")
        _keep_an_admin(session, user, "disabled")
        user.disabled = True
        _record(session, node, actor, "user.disable", user, _end_all(session, user))
        return user


def enable_user(session: Session, node: Node, username: str, actor: Actor) -> User:
    """Enable a disabled account again (with its failed-login count cleared).

    Raises:
        NotFound: no such user.
        Conflict: not disabled (``not_disabled``).
    """
    with _refusal_recorded(node, actor, "user.enable", username):
        user = _user(session, username)
        if not user.disabled:
            raise Conflict(f"user {username!r} is not disabled", code="not_disabled")
        user.disabled = False
        user.failed_logins = 0
        user.last_failed_login_at = None
        _record(session, node, actor, "user.enable", user, "enabled")
        return user


def set_password(session: Session, node: Node, username: str, password: str, actor: Actor) -> User:
    """Give an account a new password (a lost one, or one that may have leaked); what it holds
    ends now, and its failed-login count is cleared.

    Raises:
        NotFound: no such user.
        BadRequest: a weak password.
    """
    with _refusal_recorded(node, actor, "user.passwd", username):
        weakness = check_password_strength(password, node.password_policy)
        if weakness:
            raise BadRequest(weakness)
        user = _user(session, username)
        user.password_hash = hash_password(password, node.password_policy)
        user.failed_logins = 0
        user.last_failed_login_at = None
        _record(
            session, node, actor, "user.passwd", user, "password set; " + _end_all(session, user)
        )
        return user


def set_role(session: Session, node: Node, username: str, role: str, actor: Actor) -> User:
    """Change an account's role; what it holds ends now (its tokens carry the old role).

    Raises:
        NotFound: no such user.
        BadRequest: not a role.
        Conflict: the role it has already (``same_role``), or demoting the last administrator.
    """
    with _refusal_recorded(node, actor, "user.set_role", username):
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}, not {role[:20]!r}")
        user = _user(session, username)
        if user.role == role:
            raise Conflict(f"user {username!r} already has the role {role}", code="same_role")
        if role != ADMIN:
            _keep_an_admin(session, user, "demoted")
        before, user.role = user.role, role
        _record(session, node, actor, "user.set_role", user,
                f"{before} -> {role}; " + _end_all(session, user))  # fmt: skip
        return user


def set_clearance(
    session: Session, node: Node, username: str, clearance: str, actor: Actor
) -> User:
    """Change the highest TLP an officer or releaser reads (every request re-reads it).

    Raises:
        NotFound: no such user.
        BadRequest: not a TLP level, or a role that reads no content.
    """
    with _refusal_recorded(node, actor, "user.set_clearance", username):
        level = parse_clearance(clearance)
        user = _user(session, username)
        if user.role not in ROLE_MAY_READ_CONTENT:
            raise BadRequest(
                f"role {user.role!r} reads no report content, so it takes no clearance"
            )
        before, user.clearance = user.clearance, level.value
        _record(session, node, actor, "user.set_clearance", user, f"{before} -> {level.value}")
        return user
