"""Integration credentials: the home network's own platforms (OpenCTI, MISP, any TAXII client)
as principals of the TAXII surface (``service.taxii``), each with its own name and rights.

A credential names the partners whose API roots it may use, the collections in them
(``inbox`` and ``sent`` to read, ``drafts`` to write), whether it reads, writes or both, and a
clearance ceiling. TLP:RED is never served over TAXII: the ceiling is at most TLP:AMBER+STRICT,
and RED reports are never indexed for TAXII at all (``service.taxii.index``).

The secret is ``lx1_<name>_<43 characters>``: 256 random bits (base64url) after the
credential's name, so one string is enough for a bearer token or an API-key header and the
name finds the row without a search over secrets. Only its SHA-256 is stored, and it is
compared with :func:`hmac.compare_digest`; an unknown name costs the same comparison against
a dummy digest. A revoked credential keeps its row for the audit trail and authenticates nobody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from policies import TLP
from service.audit import ALLOWED, Actor, ActorType, denial, record
from service.errors import BadRequest, Conflict, NotFound, Unauthenticated
from service.models import Integration, Partner
from service.node import Node

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
SECRET_PREFIX = "lx1_"  # noqa: S105 - a format marker, not a secret
_RANDOM_CHARS = 43  # base64url of 32 bytes, unpadded
READ_COLLECTIONS = ("inbox", "sent")
WRITE_COLLECTIONS = ("drafts",)
COLLECTIONS = (*READ_COLLECTIONS, *WRITE_COLLECTIONS)
HIGHEST_CLEARANCE = TLP.AMBER_STRICT
_DUMMY_DIGEST = hashlib.sha256(b"liaison: no such integration").digest()


@dataclass(frozen=True, slots=True)
class IntegrationPrincipal:
    """An authenticated integration, as re-read from the database for this request."""

    id: int
    name: str
    partners: frozenset[str]
    collections: frozenset[str]
    can_read: bool
    can_write: bool
    clearance: TLP

    def actor(self, remote_addr: str | None = None) -> Actor:
        return Actor(ActorType.INTEGRATION, self.name, None, remote_addr)

    def may_read(self, partner: str, collection: str) -> bool:
        return (
            self.can_read
            and collection in READ_COLLECTIONS
            and partner in self.partners
            and collection in self.collections
        )

    def may_write(self, partner: str, collection: str) -> bool:
        return (
            self.can_write
            and collection in WRITE_COLLECTIONS
            and partner in self.partners
            and collection in self.collections
        )

    @classmethod
    def of(cls, row: Integration) -> IntegrationPrincipal:
        return cls(row.id, row.name, _split(row.partners), _split(row.collections),
                   row.can_read, row.can_write, TLP(row.clearance))  # fmt: skip


def _split(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(",") if part)


def _join(values: Iterable[str]) -> str:
    return ",".join(sorted(set(values)))


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def new_secret(name: str) -> str:
    token = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")
    return f"{SECRET_PREFIX}{name}_{token}"


def name_in_secret(secret: str) -> str | None:
    """The credential name a secret carries, or None if it does not have the secret's shape."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) < len(SECRET_PREFIX) + 3 + _RANDOM_CHARS:
        return None
    if secret[-_RANDOM_CHARS - 1] != "_":
        return None
    name = secret[len(SECRET_PREFIX) : -_RANDOM_CHARS - 1]
    return name if NAME.fullmatch(name) else None


def create_integration(
    session: Session,
    node: Node,
    *,
    name: str,
    partners: Iterable[str],
    read: bool,
    write: bool,
    clearance: str,
    actor: Actor,
    collections: Iterable[str] = (),
    label: str = "",
) -> tuple[Integration, str]:
    """Create a credential; returns it and its secret, which is shown this once and never
    stored. ``collections`` defaults to those its rights allow (``inbox`` and ``sent`` to read,
    ``drafts`` to write).

    Raises:
        BadRequest: an invalid name, no right, no partner, an unknown collection, a collection
            its rights cannot use, or a clearance that is not a TLP level or is TLP:RED.
        NotFound: a partner that is not pinned on this node.
        Conflict: the name is taken (revoked credentials keep their names).
    """
    if not NAME.fullmatch(name):
        raise BadRequest("integration names are 2-64 lower-case letters, digits, '.', '_' or '-'")
    if not (read or write):
        raise BadRequest("give the integration --read, --write or both")
    wanted = set(partners)
    if not wanted:
        raise BadRequest("name at least one partner whose collections the integration may use")
    try:
        level = TLP(clearance.lower())
    except ValueError:
        levels = ", ".join(level.value for level in TLP if level <= HIGHEST_CLEARANCE)
        raise BadRequest(f"clearance must be a TLP level ({levels}), not {clearance!r}") from None
    if level > HIGHEST_CLEARANCE:
        raise BadRequest(
            "TLP:RED is never served over TAXII: the highest clearance is amber+strict"
        )
    chosen = set(collections) or {
        *(READ_COLLECTIONS if read else ()),
        *(WRITE_COLLECTIONS if write else ()),
    }
    if unknown := chosen - set(COLLECTIONS):
        raise BadRequest(f"unknown collection {sorted(unknown)[0]!r}: use {', '.join(COLLECTIONS)}")
    for collection in sorted(chosen):
        if collection in READ_COLLECTIONS and not read:
            raise BadRequest(f"collection {collection!r} is read: give the integration --read")
        if collection in WRITE_COLLECTIONS and not write:
            raise BadRequest(f"collection {collection!r} is written: give the integration --write")
    pinned = set(session.scalars(select(Partner.node_id).where(Partner.node_id.in_(wanted))))
    if missing := wanted - pinned:
        raise NotFound(f"no partner {sorted(missing)[0]!r} is pinned on this node")
    secret = new_secret(name)
    row = Integration(
        name=name,
        label=label.strip()[:200],
        partners=_join(wanted),
        collections=_join(chosen),
        can_read=read,
        can_write=write,
        clearance=level.value,
        secret_sha256=digest(secret),
        created_at=node.utcnow(),
        created_by=actor.name[:64],
    )
    try:
        with session.begin_nested():  # added inside it, so that a taken name rolls back alone
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"integration {name!r} already exists") from exc
    rights = "+".join(r for r, on in (("read", read), ("write", write)) if on)
    record(session, actor=actor, action="integration.add", outcome=ALLOWED, at=node.utcnow(),
           object_type="integration", object_id=name,
           reason=f"{rights}; partners {row.partners}; collections {row.collections}; "
                  f"clearance {level.label}")  # fmt: skip
    return row, secret


def list_integrations(session: Session) -> list[Integration]:
    return list(session.scalars(select(Integration).order_by(Integration.name)))


def revoke_integration(session: Session, node: Node, name: str, actor: Actor) -> Integration:
    """Revoke a credential at once: its next request is refused.

    Raises:
        NotFound: no such integration.
        Conflict: it is already revoked (``already_revoked``).
    """
    row = session.scalar(select(Integration).where(Integration.name == name).with_for_update())
    if row is None:
        raise NotFound(f"no integration {name!r}")
    if row.revoked_at is not None:
        raise Conflict(f"integration {name!r} is already revoked", code="already_revoked")
    row.revoked_at = node.utcnow()
    row.revoked_by = actor.name[:64]
    record(session, actor=actor, action="integration.revoke", outcome=ALLOWED, at=node.utcnow(),
           object_type="integration", object_id=name)  # fmt: skip
    return row


def authenticate_integration(
    session: Session,
    node: Node,
    secret: str,
    *,
    claimed_name: str | None,
    where: str,
    remote_addr: str | None,
) -> IntegrationPrincipal:
    """The integration whose secret this is; ``claimed_name`` is the user name of Basic
    authentication, which must be the secret's own name.

    Every failure gives the client the same answer and the audit log the precise reason.

    Raises:
        Unauthenticated: ``integration_auth_failed``, carrying its ``auth.integration`` denial.
    """
    name = name_in_secret(secret)
    row = None
    if name is not None:
        row = session.scalar(select(Integration).where(Integration.name == name))
    stored = row.secret_sha256 if row is not None else _DUMMY_DIGEST
    matches = hmac.compare_digest(stored, digest(secret))
    reason = None
    if name is None:
        reason = "the secret does not have the shape of an integration secret"
    elif row is None or not matches:
        reason = f"wrong secret for integration {name!r}"
    elif claimed_name is not None and claimed_name != name:
        reason = f"the user name {claimed_name!r} is not the secret's integration {name!r}"
    elif row.revoked_at is not None:
        reason = f"integration {name!r} was revoked"
    if reason is not None:
        if row is not None and name is not None:
            who = Actor(ActorType.INTEGRATION, name, None, remote_addr)
        else:
            who = Actor(ActorType.ANONYMOUS, claimed_name or "-", None, remote_addr)
        raise Unauthenticated(
            "the TAXII credential is missing, wrong or revoked", code="integration_auth_failed"
        ).recording(denial(who, "auth.integration", node.utcnow(), f"{where}: {reason}"))
    assert row is not None
    return IntegrationPrincipal.of(row)
