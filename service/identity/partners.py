"""Partner nodes: pinning by fingerprint, and the key documents they publish later.

A partner is added only when the key document fetched from its URL (``service.federation``
fetches it, outside any transaction) is signed by keys whose fingerprint matches the one the
administrators compared out of band (docs/protocol.md K1-K6). Later documents must be signed by
the same pinned keys and carry a serial at least as high. ``service.keyring`` keeps the pinned
keys and the verified documents.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto.errors import CryptoError, FingerprintMismatch
from crypto.fingerprint import fingerprint as fingerprint_of
from crypto.keydoc import VerifiedKeyDocument, check_node_id, verify_key_document
from service.audit import ALLOWED, Actor, record
from service.errors import Conflict, NotFound, Unprocessable
from service.keyring import pinned_key
from service.models import Partner
from service.node import Node


def add_partner(
    session: Session,
    node: Node,
    *,
    node_id: str,
    url: str,
    fingerprint: str,
    document: bytes,
    name: str,
    actor: Actor,
) -> Partner:
    """Pin a partner whose key document matches ``fingerprint``.

    Raises:
        Unprocessable: the fingerprint does not match (code ``fingerprint_mismatch``), the document
            is invalid, or it names another node.
        Conflict: the partner is already pinned, or it is this node.
    """
    check_node_id(node_id)
    if node_id == node.node_id:
        raise Conflict(f"{node_id} is this node, not a partner")
    removed = session.scalar(select(Partner.removed_at).where(Partner.node_id == node_id))
    if removed is not None:
        raise Conflict(
            f"partner {node_id} was removed on {removed.isoformat()}; its records are kept: "
            f"partner repin {node_id} pins it again",
            code="partner_removed",
        )
    verified = verified_document(node_id, url, fingerprint, document)
    now = node.utcnow()
    partner = Partner(node_id=node_id, name=name, next_seq=1, added_at=now)
    pin_to(partner, verified, url, now)
    session.add(partner)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"partner {node_id} is already pinned") from exc
    record(
        session,
        actor=actor,
        action="partner.add",
        outcome=ALLOWED,
        at=now,
        object_type="partner",
        object_id=node_id,
        reason=f"pinned fingerprint {partner.fingerprint}",
    )
    return partner


def pin_to(partner: Partner, verified: VerifiedKeyDocument, url: str, now: datetime) -> None:
    """Pin ``partner`` to the keys of ``verified`` (fetched from ``url``), its serial as the
    high-water mark from now on (``add_partner``, and ``service.exchange.repin``)."""
    partner.fingerprint = fingerprint_of(verified.signing_key)
    partner.signing_key_id = verified.signing_key.key_id
    partner.ed25519_key = verified.signing_key.ed25519
    partner.ml_dsa_65_key = verified.signing_key.ml_dsa_65
    partner.key_document = verified.raw
    partner.key_serial = verified.serial
    partner.endpoint = url.rstrip("/")
    partner.keys_fetched_at = now


def verified_document(
    node_id: str, url: str, fingerprint: str, document: bytes
) -> VerifiedKeyDocument:
    """The key document fetched from ``url`` for ``node_id``, checked against the fingerprint
    its administrators read out (K1-K6).

    Raises:
        Unprocessable: the fingerprint does not match (code ``fingerprint_mismatch``), the document
            is invalid, or it names another node.
    """
    try:
        return verify_key_document(
            document, pinned_fingerprint=fingerprint, expected_node_id=node_id
        )
    except FingerprintMismatch as exc:
        raise Unprocessable(
            f"the key document served at {url} does not match the fingerprint you gave for "
            f"{node_id}; it was NOT pinned. Compare the fingerprint again out of band.",
            code="fingerprint_mismatch",
        ) from exc
    except CryptoError as exc:
        raise Unprocessable(
            f"invalid key document from {url}: {exc.diagnostics()}", code="invalid_key_document"
        ) from exc


def update_key_document(session: Session, node: Node, partner: Partner, document: bytes) -> bool:
    """Store a newer key document signed by the pinned keys. Returns True if it was newer.

    Raises:
        Unprocessable: not signed by the pinned keys, or an older serial (rollback).
    """
    try:
        verified = verify_key_document(
            document, pinned_key=pinned_key(partner), expected_node_id=partner.node_id
        )
    except CryptoError as exc:
        raise Unprocessable(f"refused key document: {exc.diagnostics()}") from exc
    partner.keys_fetched_at = node.utcnow()
    if verified.serial < partner.key_serial:
        raise Unprocessable(f"key document serial {verified.serial} is older than the pinned one")
    if verified.serial == partner.key_serial:
        return False
    partner.key_document = verified.raw
    partner.key_serial = verified.serial
    record(
        session,
        actor=Actor.system(),
        action="partner.keys_update",
        outcome=ALLOWED,
        at=node.utcnow(),
        object_type="partner",
        object_id=partner.node_id,
        reason=f"key document serial {verified.serial}",
    )
    return True


def get_partner(session: Session, node_id: str, *, lock: bool = False) -> Partner:
    """A pinned partner by node id (``lock``: its row locked until the transaction ends).

    Raises:
        NotFound: none is pinned under that id.
    """
    query = select(Partner).where(Partner.node_id == node_id)
    partner = session.scalar(query.with_for_update(of=Partner) if lock else query)
    if partner is None:
        raise NotFound(f"no partner {node_id!r}")
    return partner


def list_partners(session: Session, *, removed: bool = True) -> list[Partner]:
    """The pinned partners (``removed``: with those removed, whose records are kept)."""
    query = select(Partner).order_by(Partner.node_id)
    if not removed:
        query = query.where(Partner.removed_at.is_(None))
    return list(session.scalars(query))
