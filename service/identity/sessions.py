"""Web console sessions, held on the server.

The browser holds one random 256-bit token (in a ``__Host-`` cookie set by ``service.console``);
the database holds only its SHA-256, the user, the session's CSRF token and its times. A session
ends when the user logs out (its row is deleted), after ``console_idle_seconds`` without a
request, or ``console_max_seconds`` after login, whichever comes first; every request re-reads
the user, so a disabled account or a changed role ends the session at its next request. Expired
rows are deleted when the same user next logs in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from policies import TLP
from service.audit import ALLOWED, Actor, record
from service.errors import Unauthenticated
from service.identity.users import Principal
from service.models import ConsoleSession, User
from service.node import Node

TOUCH_EVERY = timedelta(seconds=60)
"""``last_seen_at`` is written at most this often, so reading pages is not a write each time;
the idle timeout is thus exact to within a minute."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """What the browser is given at login: the token (only here, never stored) and its lifetime."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A console request's caller: the user as re-read now, and its session."""

    principal: Principal
    language: str
    csrf_token: str
    token_hash: str
    needs_touch: bool


def open_session(
    session: Session, node: Node, user: User, remote_addr: str | None
) -> OpenedSession:
    """Start a console session for ``user`` (whose login was just checked and recorded)."""
    now = node.utcnow()
    session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.user_id == user.id, ConsoleSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=node.settings.console_max_seconds)
    session.add(
        ConsoleSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            remote_addr=remote_addr,
        )
    )
    return OpenedSession(token, csrf_token, expires_at)


def resume_session(session: Session, node: Node, token: str) -> ConsoleUser:
    """The user of a session token, if the session is still open.

    Raises:
        Unauthenticated: ``session_expired`` for a session past its idle or absolute limit,
            ``login_required`` for an unknown token or a user disabled since.
    """
    row = session.get(ConsoleSession, _digest(token))
    if row is None:
        raise Unauthenticated("this session has ended: log in again", code="login_required")
    now = node.utcnow()
    idle = timedelta(seconds=node.settings.console_idle_seconds)
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        raise Unauthenticated("the session expired: log in again", code="session_expired")
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise Unauthenticated("this account is disabled", code="login_required")
    principal = Principal(user.id, user.username, user.role, TLP(user.clearance))
    return ConsoleUser(
        principal,
        user.language,
        row.csrf_token,
        row.token_hash,
        needs_touch=now - row.last_seen_at >= TOUCH_EVERY,
    )


def touch_session(session: Session, node: Node, token_hash: str) -> None:
    """Note activity on a session (keeps it from idling out)."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == token_hash)
        .values(last_seen_at=node.utcnow())
    )


def end_session(session: Session, node: Node, token: str, actor: Actor) -> bool:
    """Log out: delete the session (whatever its state) and record it. False if none was open."""
    ended = session.scalars(
        delete(ConsoleSession)
        .where(ConsoleSession.token_hash == _digest(token))
        .returning(ConsoleSession.user_id)
    ).first()
    if ended is not None:
        record(session, actor=actor, action="auth.logout", outcome=ALLOWED, at=node.utcnow())
    return ended is not None


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every console session of a user (a disabled account, a changed password)."""
    ended = session.scalars(
        delete(ConsoleSession)
        .where(ConsoleSession.user_id == user_id)
        .returning(ConsoleSession.token_hash)
    )
    return len(ended.all())


def set_language(session: Session, user_id: int, language: str) -> None:
    """Keep the user's console language (one of ``service.models.LANGUAGES``)."""
    session.execute(update(User).where(User.id == user_id).values(language=language))
