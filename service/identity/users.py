"""Users of the node (officers, auditors, administrators) and logging in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies import ROLE_MAY_READ_CONTENT, TLP
from service.audit import ALLOWED, DENIED, Actor, ActorType, Entry, record
from service.auth import ROLES, check_password_strength, hash_password, verify_password
from service.errors import BadRequest, Conflict, ServiceError, TooManyRequests, Unauthenticated
from service.models import User
from service.node import Node

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, as re-read from the database for this request."""

    id: int
    username: str
    role: str
    clearance: TLP = TLP.AMBER_STRICT

    def actor(self, remote_addr: str | None = None) -> Actor:
        return Actor(ActorType.USER, self.username, self.role, remote_addr)


DEFAULT_CLEARANCE = TLP.AMBER_STRICT
"""Officers read up to TLP:AMBER+STRICT unless created with another clearance: TLP:RED is for
named recipients only, so reading it needs a clearance given on purpose."""


def parse_clearance(value: str) -> TLP:
    """A TLP level as a clearance (``clear``, ``green``, ``amber``, ``amber+strict``, ``red``).

    Raises:
        BadRequest: not a TLP level.
    """
    try:
        return TLP(value.lower())
    except ValueError:
        levels = ", ".join(level.value for level in TLP)
        raise BadRequest(f"clearance must be a TLP level ({levels}), not {value!r}") from None


def create_user(
    session: Session,
    node: Node,
    *,
    username: str,
    role: str,
    password: str,
    actor: Actor,
    clearance: str | None = None,
) -> User:
    """Create a user; officers and releasers read reports up to ``clearance`` (default
    :data:`DEFAULT_CLEARANCE`).

    Raises:
        BadRequest: invalid name, role, clearance or weak password, or a clearance given to a
            role that reads no content.
        Conflict: the username is taken.
    """
    if not USERNAME.fullmatch(username):
        raise BadRequest("usernames are 2-64 lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    if clearance is not None and role not in ROLE_MAY_READ_CONTENT:
        raise BadRequest(f"role {role!r} reads no report content, so it takes no clearance")
    level = parse_clearance(clearance) if clearance is not None else DEFAULT_CLEARANCE
    weakness = check_password_strength(password, node.password_policy)
    if weakness:
        raise BadRequest(weakness)
    user = User(
        username=username,
        role=role,
        password_hash=hash_password(password, node.password_policy),
        clearance=level.value,
        disabled=False,
        failed_logins=0,
        created_at=node.utcnow(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists") from exc
    record(
        session,
        actor=actor,
        action="user.add",
        outcome=ALLOWED,
        at=node.utcnow(),
        object_type="user",
        object_id=username,
        reason=f"role {role}"
        + (f", clearance {level.label}" if role in ROLE_MAY_READ_CONTENT else ""),
    )
    return user


LOCKOUT_BASE_SECONDS = 30
LOCKOUT_MAX_SECONDS = 3600


def login_delay(user: User, node: Node) -> int:
    """Seconds this account must still wait before another login attempt is considered.

    After ``login_failures_before_delay`` consecutive failures each further failure doubles the
    wait, from 30 s up to an hour; a success resets it. Guessing a password online thus costs
    hours per handful of tries, while the real officer is delayed at most an hour.
    """
    excess = user.failed_logins - node.settings.login_failures_before_delay
    if excess < 0 or user.last_failed_login_at is None:
        return 0
    wait = min(LOCKOUT_BASE_SECONDS * 2**excess, LOCKOUT_MAX_SECONDS)
    elapsed = (node.utcnow() - user.last_failed_login_at).total_seconds()
    return max(0, int(wait - elapsed))


@dataclass(frozen=True, slots=True)
class FailedLogin:
    """A failed login's count on the account, kept although the login is refused."""

    user_id: int
    at: datetime

    def write(self, session: Session) -> None:
        session.execute(
            update(User)
            .where(User.id == self.user_id)
            .values(failed_logins=User.failed_logins + 1, last_failed_login_at=self.at)
        )


def attempt_login(
    session: Session, node: Node, username: str, password: str, remote_addr: str | None
) -> User:
    """Check a login and record it in ``session``; return the user.

    Unknown users cost the same Argon2id run as known ones and get the same answer, so neither
    timing nor wording of a failed login tells which usernames exist. After
    ``login_failures_before_delay`` consecutive failures the account must wait (see
    :func:`login_delay`); attempts during the wait are refused without checking the password, so
    guesses made then are worthless. That ``429`` does reveal that the account exists (unknown
    names never wait): recorded in docs/threat-model.md as a known gap.

    Raises:
        Unauthenticated: wrong username or password, or a disabled account (``login_failed``).
        TooManyRequests: the account must wait (``login_throttled``).
        Both carry the failure's audit record, and a wrong password its count on the account,
        to be written although the login fails.
    """
    user = session.scalar(select(User).where(User.username == username))
    actor = Actor(ActorType.USER, username, user.role if user else None, remote_addr)
    now = node.utcnow()
    error: ServiceError | None = None
    if user is None:
        verify_password(password, node.dummy_password_hash)
        error = Unauthenticated("wrong username or password", code="login_failed")
    elif wait := login_delay(user, node):
        error = TooManyRequests(
            f"too many failed logins for this account; try again in {wait} s",
            code="login_throttled",
        )
    elif not verify_password(password, user.password_hash) or user.disabled:
        error = Unauthenticated("wrong username or password", code="login_failed")
        error.recording(FailedLogin(user.id, now))
    if error is not None:
        raise error.recording(Entry(actor, "auth.login", DENIED, now, reason=error.detail))
    assert user is not None
    user.failed_logins = 0
    user.last_failed_login_at = None
    record(session, actor=actor, action="auth.login", outcome=ALLOWED, at=now)
    return user


def load_principal(session: Session, username: str, role: str, generation: int = 0) -> Principal:
    """Re-read a token's user: it must still exist, be enabled, hold the token's role, and the
    token must be of the user's current generation (not ended by a disable, a password or role
    change since it was issued).

    Raises:
        Unauthenticated: otherwise.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled:
        raise Unauthenticated("the token's user no longer exists or is disabled")
    if user.role != role:
        raise Unauthenticated("the token's role no longer matches the user's role")
    if user.token_generation != generation:
        raise Unauthenticated("the token was ended (the account was changed since it was issued)")
    return Principal(user.id, user.username, user.role, TLP(user.clearance))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
