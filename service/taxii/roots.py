"""API roots and collections: one API root per partner, three collections in each.

A partner ``SY`` is the API root ``/sy/`` (its node id in lower case: one path segment). Its
collections are ``inbox`` (read: what SY sent and an officer here accepted), ``sent`` (read:
exactly the copies released to SY) and ``drafts`` (write: bundles posted here become drafts an
officer must review and submit). Collection ids are UUIDv5 of the node, the partner and the
collection's name, so they never change and need no table; the name is also the collection's
``alias`` and may stand for the id in a URL.

A credential sees only the roots of the partners it names and, in them, the collections it
names; anything else is "not found", as if it did not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import NotFound
from service.identity import IntegrationPrincipal
from service.models import Partner
from service.node import Node
from service.taxii.media import STIX_MEDIA_TYPE

NAMESPACE = uuid.UUID("4c6a6a8e-7d1b-5e0f-9a52-6c1a1c7e0b21")
KINDS = ("inbox", "sent", "drafts")
TITLES = {
    "inbox": "What {name} sent (accepted here)",
    "sent": "What was released to {name}",
    "drafts": "Drafts for {name}: reviewed and submitted by an officer",
}
DESCRIPTIONS = {
    "inbox": "Reports the partner sent that an officer of this node accepted, object by object, "
    "up to this credential's clearance. TLP:RED is never served over TAXII.",
    "sent": "Exactly the copies released to the partner, as its sharing policy redacted them, "
    "up to this credential's clearance.",
    "drafts": "Objects posted here become a draft report. Nothing leaves this node until an "
    "officer reviews the draft and submits it.",
}


@dataclass(frozen=True, slots=True)
class Root:
    partner_id: int
    node_id: str
    name: str

    @property
    def segment(self) -> str:
        return self.node_id.lower()


@dataclass(frozen=True, slots=True)
class Collection:
    root: Root
    kind: str
    id: str

    @property
    def path(self) -> str:
        """How the audit log names it: ``sy/inbox``."""
        return f"{self.root.segment}/{self.kind}"


def collection_id(node_id: str, partner: str, kind: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{node_id}/{partner}/{kind}"))


def roots(session: Session, caller: IntegrationPrincipal) -> list[Root]:
    """The API roots ``caller`` may use: the pinned partners it names, by node id."""
    rows = session.execute(
        select(Partner.id, Partner.node_id, Partner.name)
        .where(Partner.node_id.in_(sorted(caller.partners)))
        .order_by(Partner.node_id)
    )
    return [Root(pid, node_id, name) for pid, node_id, name in rows]


def root(session: Session, caller: IntegrationPrincipal, segment: str) -> Root:
    """The API root at ``/{segment}/``.

    Raises:
        NotFound: no such root, or not one of the caller's.
    """
    for candidate in roots(session, caller):
        if candidate.segment == segment:
            return candidate
    raise NotFound(f"no API root /{segment}/ for this credential")


def collections(node: Node, where: Root, caller: IntegrationPrincipal) -> list[Collection]:
    return [
        Collection(where, kind, collection_id(node.node_id, where.node_id, kind))
        for kind in KINDS
        if kind in caller.collections
    ]


def collection(node: Node, where: Root, caller: IntegrationPrincipal, key: str) -> Collection:
    """A collection of ``where`` by id or alias.

    Raises:
        NotFound: no such collection, or not one of the caller's.
    """
    for candidate in collections(node, where, caller):
        if key in (candidate.id, candidate.kind):
            return candidate
    raise NotFound(f"no collection {key!r} in /{where.segment}/ for this credential")


def describe(found: Collection, caller: IntegrationPrincipal) -> dict[str, Any]:
    """The TAXII collection resource (section 5.2.1) as ``caller`` may use it."""
    partner = found.root.name or found.root.node_id
    return {
        "id": found.id,
        "title": TITLES[found.kind].format(name=partner),
        "description": DESCRIPTIONS[found.kind],
        "alias": found.kind,
        "can_read": caller.may_read(found.root.node_id, found.kind),
        "can_write": caller.may_write(found.root.node_id, found.kind),
        "media_types": [STIX_MEDIA_TYPE],
    }
