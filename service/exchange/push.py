"""Push: delivering leased deliveries to partners as soon as they are due.

For each delivery the outbox leased to this worker (``service.exchange.outbox.claim_due``), one
attempt works in short transactions, so that no database lock is held across the network:

1. *prepare* (a write transaction): check the lease is still ours, seal on the first attempt and
   store the envelope, so every retry sends the identical bytes (and a receipt for any attempt
   matches). If every encryption key the partner published has expired, the transaction ends
   first, the partner's newer key document is fetched, and stored in a transaction of its own;
2. *send*: POST the envelope through the ``PartnerClient`` (RFC 9421 signed, outside any
   transaction);
3. *record* (a write transaction): on a ``200`` whose answer signature and receipt verify, mark
   it acknowledged and keep the receipt; on a final refusal the partner signed, mark it refused
   with the reason; otherwise schedule a retry with exponential backoff and jitter. Every outcome
   releases the lease.
"""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx

from crypto.errors import CryptoError, KeyExpired
from service.errors import ServiceError
from service.exchange import outbox
from service.federation import PartnerAnswer, PartnerClient, PartnerContact
from service.identity import update_key_document
from service.models import Delivery, Partner
from service.node import Node
from service.reports import PENDING, DeliveryState

ACKNOWLEDGED, REFUSED = DeliveryState.ACKNOWLEDGED, DeliveryState.REFUSED
# 401 is retried: the partner answers "rejected" for every verification failure, and several
# are transient (it has not pinned us yet, a clock out of step); the backoff bounds the cost.
_RETRYABLE_STATUS = {401, 408, 425, 429}
# Lock only the delivery row: PostgreSQL refuses FOR UPDATE on the outer-joined partner.
_LOCK = {"of": Delivery}
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class _Prepared:
    delivery_id: int
    message_id: str
    envelope: bytes
    contact: PartnerContact


@dataclass(frozen=True, slots=True)
class _KeysExpired:
    """The delivery must be sealed, and the partner's pinned key document has no encryption key
    valid now: fetch its newer one (outside any transaction), then prepare again."""

    partner_id: int
    endpoint: str


class Pusher:
    """Pushes the deliveries it claims; ``owner`` names its leases."""

    def __init__(self, node: Node, *, owner: str | None = None) -> None:
        self.node = node
        self.owner = owner or f"{node.node_id}-{uuid.uuid4().hex[:12]}"

    async def run_once(self, client: PartnerClient | None = None) -> int:
        """Claim and attempt every delivery due now; returns how many were attempted.
        ``client``: the worker's, whose connections stay open between rounds (else one of its
        own for this round)."""
        node = self.node
        claimed = outbox.claim_due(node, self.owner, node.settings.delivery_batch)
        if not claimed:
            return 0
        async with AsyncExitStack() as stack:
            if client is None:
                client = await stack.enter_async_context(PartnerClient.open(node))
            for delivery_id in claimed:
                await self.deliver(client, delivery_id)
        return len(claimed)

    async def deliver(self, client: PartnerClient, delivery_id: int) -> str:
        """One push attempt at one claimed delivery; returns the state it ends in."""
        try:
            prepared = self._prepare(delivery_id)
            if isinstance(prepared, _KeysExpired):
                await self._refresh_keys(client, prepared)
                prepared = self._prepare(delivery_id)
                if isinstance(prepared, _KeysExpired):
                    raise KeyExpired("the partner's newest key document has no valid key")
        except (CryptoError, ServiceError) as exc:
            return self._retry(delivery_id, f"cannot seal: {exc.diagnostics()}")
        if prepared is None:
            return SKIPPED
        try:
            answer = await client.push(prepared.contact, prepared.envelope)
        except httpx.HTTPError as exc:
            return self._retry(delivery_id, f"network: {exc.__class__.__name__}: {exc}")
        if answer.status == 200:
            return self._acknowledge(prepared, answer)
        reason = answer.reason
        if 400 <= answer.status < 500 and answer.status not in _RETRYABLE_STATUS:
            # Give up only on a refusal the partner signed: an unsigned one may come from a
            # proxy, or from anyone on the path who wants us to stop trying.
            if answer.failure is not None:
                return self._retry(
                    delivery_id, f"{reason} (unsigned refusal, retrying: {answer.failure.code})"
                )
            return self._refuse(prepared, reason)
        return self._retry(delivery_id, reason)

    def _prepare(self, delivery_id: int) -> _Prepared | _KeysExpired | None:
        node = self.node
        with node.db.write() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=_LOCK)
            if delivery is None or delivery.state not in PENDING:
                return None
            if not outbox.holds_lease(delivery, self.owner, node):
                return None  # our lease expired and another worker took the job over
            # Renew the lease for this send: a batch claimed long ago must not expire in flight.
            outbox.renew_lease(node, delivery)
            partner = delivery.partner
            if outbox.needs_sealing(node, delivery):
                try:
                    key = node.keyring.partner_document(partner).current_encryption_key(node.now())
                except KeyExpired:
                    return _KeysExpired(partner.id, partner.endpoint)
                if not outbox.seal_delivery(session, node, delivery, key):
                    return None  # withheld: the policy changed before it was sent
            outbox.mark_sent(session, node, delivery, "push")
            assert delivery.envelope is not None
            return _Prepared(delivery.id, delivery.message_id, delivery.envelope,
                             PartnerContact.of(partner, node.keyring))  # fmt: skip

    async def _refresh_keys(self, client: PartnerClient, expired: _KeysExpired) -> None:
        """Fetch the partner's key document (no transaction open), then store it if newer.

        Raises:
            PartnerUnreachable: it could not be fetched.
            Unprocessable: it is not signed by the pinned keys, or is older (rollback).
        """
        document = await client.fetch_key_document(expired.endpoint)
        with self.node.db.write() as session:
            partner = session.get(Partner, expired.partner_id, with_for_update=True)
            if partner is not None:
                update_key_document(session, self.node, partner, document)

    def _acknowledge(self, p: _Prepared, answer: PartnerAnswer) -> str:
        if answer.failure is not None:
            return self._retry(p.delivery_id, f"invalid receipt: {answer.failure.diagnostics()}")
        node = self.node
        try:
            with node.db.write() as session:
                delivery = session.get(Delivery, p.delivery_id, with_for_update=_LOCK)
                assert delivery is not None
                outbox.accept_receipt(session, node, delivery, answer.body, "push")
        except CryptoError as exc:
            return self._retry(p.delivery_id, f"invalid receipt: {exc.diagnostics()}")
        return ACKNOWLEDGED

    def _refuse(self, p: _Prepared, reason: str) -> str:
        with self.node.db.write() as session:
            delivery = session.get(Delivery, p.delivery_id, with_for_update=_LOCK)
            assert delivery is not None
            if delivery.state == ACKNOWLEDGED:  # a pull acknowledged it meanwhile
                return ACKNOWLEDGED
            outbox.mark_refused(session, self.node, delivery, reason)
        return REFUSED

    def _retry(self, delivery_id: int, reason: str) -> str:
        with self.node.db.write() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=_LOCK)
            if delivery is None:
                return SKIPPED
            if delivery.state in PENDING:
                outbox.schedule_retry(self.node, delivery, reason)
                if delivery.state == outbox.QUEUED and delivery.envelope is not None:
                    delivery.state = outbox.SENT
            return str(delivery.state)
