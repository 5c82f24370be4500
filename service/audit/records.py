"""The access log: one record per login, submission, read, send, receipt, receive and denial.

A record is written in the same transaction as the action it describes (:func:`record`), so an
action whose record cannot be written does not happen. A refused action is rolled back, so its
record travels with the error instead (:class:`Entry`, ``ServiceError.recording``) and is written
in a transaction of its own (``service.db.Database.persist``). Records never hold report content:
ids, names, outcomes, reasons. When the transaction commits, ``service.audit.log`` makes each
record the next leaf of the log's Merkle tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from service.audit.log import pend
from service.errors import ServiceError
from service.models import AuditEvent


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


ALLOWED, DENIED, ERROR = Outcome.ALLOWED, Outcome.DENIED, Outcome.ERROR


class ActorType(StrEnum):
    USER = "user"
    PARTNER = "partner"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"
    INTEGRATION = "integration"
    """One of the home network's platforms, through the TAXII surface (service.taxii)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user with a role, a partner node (with its key id), or the node itself."""

    type: str  # an ActorType
    name: str
    role: str | None = None
    remote_addr: str | None = None

    @classmethod
    def system(cls, name: str = "node") -> Actor:
        return cls(ActorType.SYSTEM, name)

    @classmethod
    def partner(cls, name: str, remote_addr: str | None = None) -> Actor:
        return cls(ActorType.PARTNER, name, None, remote_addr)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    at: datetime,
    object_type: str | None = None,
    object_id: str | None = None,
    reason: str | None = None,
    policy_version: str | None = None,
) -> AuditEvent:
    """Add a record to ``session``'s transaction (it is sequenced when that commits)."""
    event = AuditEvent(
        at=at,
        actor_type=str(actor.type),
        actor=actor.name[:128],
        role=actor.role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=str(outcome),
        reason=(reason or None) and reason[:2000],
        remote_addr=actor.remote_addr,
        policy_version=policy_version,
    )
    session.add(event)
    pend(session, event)
    return event


@dataclass(frozen=True, slots=True)
class Entry:
    """A record not written yet: what a refusal carries (``ServiceError.recording``) until it is
    written in a transaction of its own, after the refused action rolled back."""

    actor: Actor
    action: str
    outcome: str
    at: datetime
    object_type: str | None = None
    object_id: str | None = None
    reason: str | None = None
    policy_version: str | None = None

    def write(self, session: Session) -> None:
        record(session, actor=self.actor, action=self.action, outcome=self.outcome, at=self.at,
               object_type=self.object_type, object_id=self.object_id, reason=self.reason,
               policy_version=self.policy_version)  # fmt: skip


def denial(
    actor: Actor,
    action: str,
    at: datetime,
    reason: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    policy_version: str | None = None,
) -> Entry:
    """The record of a denied action, to attach to the error that refuses it."""
    return Entry(actor, action, DENIED, at, object_type, object_id, reason, policy_version)


@contextmanager
def refusal_recorded(
    actor: Actor,
    action: str,
    clock: Callable[[], datetime],
    *,
    object_type: str,
    object_id: str | None = None,
) -> Iterator[None]:
    """Any :class:`ServiceError` raised inside carries the denial of ``action`` (its reason
    the error's own), so that a refused change is recorded although nothing changed."""
    try:
        yield
    except ServiceError as exc:
        refusal = denial(actor, action, clock(), exc.diagnostics(), object_type=object_type,
                         object_id=object_id)  # fmt: skip
        raise exc.recording(refusal) from None
