"""Re-pinning a partner that has a new signing identity, and re-basing what a thief moved.

A partner whose key file was copied makes new keys and reads its new fingerprint out again;
this node's administrators compare it out of band and re-pin (``liaison partner repin SY
--fingerprint ...``), with the same check as ``partner add`` (K1-K6: the key document fetched
from its URL must be signed by keys with that fingerprint). Re-pinning (docs/protocol.md K7-K9):

* keeps the old signing key in ``partner_keys``, with when it was pinned and, if the partner was
  suspended with ``--compromised-since``, since when it was not trusted: what the partner signed
  before stays verifiable (stored reports, receipts, cosignatures: ``keyring.signed_by``);
* pins the new key and its key document whatever its serial: a serial the thief pushed up with the
  old key no longer blocks the genuine documents (K6 is re-based);
* with a compromise on record, distrusts every report received since then under the old key
  (``inbound.distrusted_at``): it stays in quarantine and in the damage report, and no longer
  holds its sequence number, so a number the thief used is free for the genuine message. The
  cursor goes back below the first such number and the partner is pulled from: the genuine
  partner sends again what it did send in the window, under its new key, and those copies are
  trusted again (K9, ``ingest._resealed_copy``). What was never sent again is the forgery;
* leaves this node's own undelivered envelopes to be sealed again, to the new encryption keys,
  on their next attempt (``outbox.needs_sealing``).

A suspension stays as it was: resume once the partner is back. A removed partner is restored
(still suspended). Recorded as ``partner.repin``, and so is a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto.envelope import parse_header
from service.audit import ALLOWED, Actor, record, refusal_recorded
from service.errors import Conflict
from service.exchange.ingest import advance_cursor
from service.identity import get_partner, pin_to, verified_document
from service.models import Delivery, Inbound, Partner, PartnerKey
from service.node import Node
from service.reports import PENDING


@dataclass(frozen=True, slots=True)
class Repin:
    partner: Partner
    previous_fingerprint: str
    distrusted: list[str] = field(default_factory=list)
    """Received reports signed by the old key since the compromise, no longer trusted."""
    to_reseal: int = 0
    """Undelivered envelopes to the partner, sealed again to its new keys on their next attempt."""


def repin_partner(
    session: Session,
    node: Node,
    node_id: str,
    *,
    url: str,
    fingerprint: str,
    document: bytes,
    actor: Actor,
) -> Repin:
    """Pin ``node_id`` to the keys of ``document`` (fetched from ``url``) if they match
    ``fingerprint`` (see the module's docstring).

    Raises:
        NotFound: no such partner.
        Unprocessable: the fingerprint does not match (``fingerprint_mismatch``), or the document
            is invalid.
        Conflict: the document holds the key already pinned (``same_key``).
    """
    with refusal_recorded(actor, "partner.repin", node.utcnow, object_type="partner",
                          object_id=node_id[:63]):  # fmt: skip
        partner = get_partner(session, node_id, lock=True)
        verified = verified_document(node_id, url, fingerprint, document)
        if verified.signing_key.key_id == partner.signing_key_id:
            raise Conflict(f"{node_id} is already pinned to these keys: nothing to re-pin",
                           code="same_key")  # fmt: skip
    now = node.utcnow()
    previous = partner.fingerprint
    old_key = partner.signing_key_id
    partner.previous_keys.append(PartnerKey(
        signing_key_id=old_key, fingerprint=previous, ed25519_key=partner.ed25519_key,
        ml_dsa_65_key=partner.ml_dsa_65_key, pinned_at=partner.repinned_at or partner.added_at,
        unpinned_at=now, compromised_since=partner.compromised_since,
    ))  # fmt: skip
    pin_to(partner, verified, url, now)  # the serial re-based: the thief's do not count
    partner.repinned_at = now
    partner.removed_at = None
    distrusted = _distrust(session, node, partner, old_key) if partner.compromised_since else []
    to_reseal = int(session.scalar(
        select(func.count()).select_from(Delivery)
        .where(Delivery.partner_id == partner.id, Delivery.state.in_(PENDING),
               Delivery.envelope.is_not(None))
    ) or 0)  # fmt: skip
    since = partner.compromised_since
    record(session, actor=actor, action="partner.repin", outcome=ALLOWED, at=now,
           object_type="partner", object_id=partner.node_id,
           reason=f"fingerprint {previous} replaced by {partner.fingerprint} (key document "
                  f"serial {verified.serial}); "
                  + (f"{len(distrusted)} reports signed by the old key since "
                     f"{since.isoformat()} distrusted; " if since else "")
                  + f"{to_reseal} undelivered envelopes to be sealed again")  # fmt: skip
    node.db.after_commit(session, node.request_pull)  # the genuine partner re-sends the window
    node.db.after_commit(session, node.wakeup.ring)
    return Repin(partner, previous, distrusted, to_reseal)


def _distrust(session: Session, node: Node, partner: Partner, old_key: str) -> list[str]:
    """Distrust what ``old_key`` signed from the compromise on, and move the cursor below it."""
    assert partner.compromised_since is not None
    rows = session.scalars(
        select(Inbound)
        .where(Inbound.partner_id == partner.id, Inbound.received_at >= partner.compromised_since,
               Inbound.distrusted_at.is_(None))
        .order_by(Inbound.seq)
        .with_for_update(of=Inbound)
    )  # fmt: skip
    now = node.utcnow()
    distrusted = []
    for row in rows:
        header, _ = parse_header(row.envelope, max_bytes=len(row.envelope))
        if header.sender_key != old_key:
            continue
        row.distrusted_at = now
        distrusted.append(row)
    if distrusted:
        partner.received_through = min(partner.received_through, distrusted[0].seq - 1)
        session.flush()
        advance_cursor(session, partner)
    return [row.id for row in distrusted]
