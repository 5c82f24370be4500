"""The delivery worker: pushes leased deliveries to partners and pulls what partners hold for us.

Each round the worker claims the deliveries that are due (``service.outbox.claim_due``), and for
each works in short transactions so that no database lock is held across the network:

1. *prepare*: check the lease is still ours, seal on the first attempt and store the envelope, so
   every retry sends the identical bytes (and a receipt for any attempt matches);
2. *send*: POST the envelope with an RFC 9421 signature (outside any transaction);
3. *record*: on a ``200`` whose response signature and receipt verify, mark it acknowledged and
   keep the receipt; on a final refusal mark it refused with the reason; otherwise schedule a
   retry with exponential backoff and jitter. Every outcome releases the lease.

A submission rings the node's doorbell so that the worker pushes at once, without a polling delay.
Every ``pull_interval_seconds``, and as soon as a pushed envelope reveals a gap in a partner's
sequence numbers, the worker also pulls from each partner (``service.pull``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from dataclasses import dataclass

import httpx

from crypto import httpsig
from crypto.errors import CryptoError, KeyExpired, UnknownKey
from service import outbox
from service.errors import ServiceError
from service.federation import ENVELOPE_MEDIA_TYPE
from service.models import Delivery
from service.node import Node
from service.partners import ENVELOPES_PATH, fetch_key_document, update_key_document
from service.pull import Puller
from service.reports import ACKNOWLEDGED, QUEUED, REFUSED, SENT

log = logging.getLogger("liaison.delivery")

# 401 is retried: the partner answers "rejected" for every verification failure, and several
# are transient (it has not pinned us yet, a clock out of step); the backoff bounds the cost.
_RETRYABLE_STATUS = {401, 408, 425, 429}
# Lock only the delivery row: PostgreSQL refuses FOR UPDATE on the outer-joined partner.
_LOCK = {"of": Delivery}
GAP_GRACE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Prepared:
    delivery_id: int
    partner: str
    message_id: str
    envelope: bytes
    connect_url: str
    signed_url: str
    partner_ed25519: bytes
    partner_keyid: str


class DeliveryWorker:
    def __init__(self, node: Node, *, owner: str | None = None) -> None:
        self.node = node
        self.owner = owner or f"{node.node_id}-{uuid.uuid4().hex[:12]}"
        self.puller = Puller(node)
        self._last_pull = 0.0
        self._gap_seen_at: float | None = None
        self._last_witness: float | None = None

    async def run_once(self) -> int:
        """Claim and attempt every delivery due now; returns how many were attempted."""
        node = self.node
        claimed = outbox.claim_due(node, self.owner, node.settings.delivery_batch)
        if not claimed:
            return 0
        assert node.http_client is not None
        async with node.http_client() as client:
            for delivery_id in claimed:
                await self.deliver(client, delivery_id)
        return len(claimed)

    async def pull_if_due(self, *, force: bool = False) -> int:
        """Pull from every partner when the interval has passed (or a gap was seen)."""
        interval = self.node.settings.pull_interval_seconds
        now = time.monotonic()
        if self.node.pull_requested.is_set() and self._gap_seen_at is None:
            self._gap_seen_at = now
        # A gap is acted on after a short grace: pushes of concurrent submissions may simply be
        # arriving out of order, and the missing one is usually a moment behind.
        gap_due = self._gap_seen_at is not None and now - self._gap_seen_at >= GAP_GRACE_SECONDS
        if not force and not gap_due and now - self._last_pull < interval:
            return 0
        self._last_pull = now
        self._gap_seen_at = None
        self.node.pull_requested.clear()
        return await self.puller.pull_all()

    async def witness_if_due(self) -> None:
        """Witness the partners' audit logs every ``witness_interval_seconds`` (not at every
        pull: gap-triggered pulls can come in bursts, and a witness round asks the partner to
        sign a checkpoint)."""
        now = time.monotonic()
        if self._last_witness is not None and (
            now - self._last_witness < self.node.settings.witness_interval_seconds
        ):
            return
        self._last_witness = now
        await self.puller.witness_all()

    async def run_forever(self, stop: threading.Event) -> None:
        first = True
        while not stop.is_set():
            attempted = 0
            try:
                attempted = await self.run_once()
                attempted += await self.pull_if_due(force=first)
                if not first:
                    await self.witness_if_due()
                first = False
            except Exception:  # a bug or a database outage must not kill the worker
                log.exception("delivery round failed")
            if not attempted:
                idle = self.node.settings.delivery_idle_seconds
                await asyncio.to_thread(self.node.wakeup.wait, idle)

    async def deliver(self, client: httpx.AsyncClient, delivery_id: int) -> str:
        """One push attempt at one claimed delivery; returns the state it ends in."""
        try:
            prepared = await self._prepare(client, delivery_id)
        except (CryptoError, ServiceError) as exc:
            return self._retry(delivery_id, f"cannot seal: {exc.diagnostics()}")
        if prepared is None:
            return "skipped"
        request = httpsig.HttpRequestParts(
            "POST", prepared.signed_url, {"content-type": ENVELOPE_MEDIA_TYPE}, prepared.envelope
        )
        identity = self.node.identity
        headers = httpsig.sign_request(
            request, key=identity.signing, keyid=identity.signing.public.key_id, now=self.node.now()
        )
        signed_request = httpsig.HttpRequestParts(
            request.method, request.target_uri, {**request.headers, **headers}, request.body
        )
        try:
            response = await client.post(
                prepared.connect_url,
                content=prepared.envelope,
                headers={"content-type": ENVELOPE_MEDIA_TYPE, **headers},
            )
        except httpx.HTTPError as exc:
            return self._retry(delivery_id, f"network: {exc.__class__.__name__}: {exc}")
        if response.status_code == 200:
            return self._acknowledge(prepared, signed_request, response)
        reason = problem_reason(response)
        if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_STATUS:
            # Give up only on a refusal the partner signed: an unsigned one may come from a
            # proxy, or from anyone on the path who wants us to stop trying.
            try:
                self._verify_answer(prepared, signed_request, response)
            except CryptoError as exc:
                return self._retry(
                    delivery_id, f"{reason} (unsigned refusal, retrying: {exc.code})"
                )
            return self._refuse(prepared, reason)
        return self._retry(delivery_id, reason)

    def _verify_answer(
        self, p: _Prepared, request: httpsig.HttpRequestParts, response: httpx.Response
    ) -> None:
        """T1-T7 on the partner's answer, bound to the request we sent.

        Raises:
            CryptoError: not signed by the partner we sent to, or not for this request.
        """
        node = self.node
        answer = httpsig.HttpResponseParts(
            response.status_code, dict(response.headers), response.content
        )
        httpsig.verify_response(
            answer,
            request,
            resolve_key=lambda keyid: _partner_key(p, keyid),
            now=node.now(),
            max_skew=node.settings.clock_skew,
            max_age=node.settings.request_max_age,
        )

    async def _prepare(self, client: httpx.AsyncClient, delivery_id: int) -> _Prepared | None:
        node = self.node
        with node.db.transaction() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=_LOCK)
            if delivery is None or delivery.state not in outbox.PENDING:
                return None
            if not outbox.holds_lease(delivery, self.owner, node):
                return None  # our lease expired and another worker took the job over
            # Renew the lease for this send: a batch claimed long ago must not expire in flight.
            outbox.renew_lease(node, delivery)
            partner = delivery.partner
            if outbox.needs_sealing(node, delivery):
                try:
                    key = node.partners.document(partner).current_encryption_key(node.now())
                except KeyExpired:
                    # The published keys have all expired: fetch the partner's newer document.
                    document = await fetch_key_document(client, partner.endpoint)
                    update_key_document(session, node, partner, document)
                    key = node.partners.document(partner).current_encryption_key(node.now())
                if not outbox.seal_delivery(session, node, delivery, key):
                    return None  # withheld: the policy changed before it was sent
            outbox.mark_sent(session, node, delivery, "push")
            assert delivery.envelope is not None
            return _Prepared(
                delivery_id=delivery.id,
                partner=partner.node_id,
                message_id=delivery.message_id,
                envelope=delivery.envelope,
                connect_url=partner.endpoint + ENVELOPES_PATH,
                signed_url=node.partners.document(partner).endpoint + ENVELOPES_PATH,
                partner_ed25519=partner.ed25519_key,
                partner_keyid=partner.signing_key_id,
            )

    def _acknowledge(
        self, p: _Prepared, request: httpsig.HttpRequestParts, response: httpx.Response
    ) -> str:
        node = self.node
        try:
            self._verify_answer(p, request, response)
            with node.db.transaction() as session:
                delivery = session.get(Delivery, p.delivery_id, with_for_update=_LOCK)
                assert delivery is not None
                outbox.accept_receipt(session, node, delivery, response.content, "push")
        except CryptoError as exc:
            return self._retry(p.delivery_id, f"invalid receipt: {exc.diagnostics()}")
        return ACKNOWLEDGED

    def _refuse(self, p: _Prepared, reason: str) -> str:
        with self.node.db.transaction() as session:
            delivery = session.get(Delivery, p.delivery_id, with_for_update=_LOCK)
            assert delivery is not None
            if delivery.state == ACKNOWLEDGED:  # a pull acknowledged it meanwhile
                return ACKNOWLEDGED
            outbox.mark_refused(session, self.node, delivery, reason)
        return REFUSED

    def _retry(self, delivery_id: int, reason: str) -> str:
        with self.node.db.transaction() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=_LOCK)
            if delivery is None:
                return "skipped"
            if delivery.state in outbox.PENDING:
                outbox.schedule_retry(self.node, delivery, reason)
                if delivery.state == QUEUED and delivery.envelope is not None:
                    delivery.state = SENT
            return delivery.state


def _partner_key(p: _Prepared, keyid: str) -> bytes:
    """The pinned key of the partner we sent to: a response signed by anyone else is refused."""
    if keyid != p.partner_keyid:
        raise UnknownKey(f"response signed by {keyid!r}, not by {p.partner}")
    return p.partner_ed25519


def problem_reason(response: httpx.Response) -> str:
    """A one-line reason from a partner's problem+json answer (or its status)."""
    try:
        body = response.json()
        code, detail = body.get("code"), body.get("detail")
        if code or detail:
            return f"HTTP {response.status_code} {code}: {detail}"[:2000]
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}"


def start_worker(node: Node) -> tuple[threading.Thread, threading.Event]:
    """Run the worker in a thread of its own (its own event loop) until the event is set."""
    stop = threading.Event()
    worker = DeliveryWorker(node)
    thread = threading.Thread(
        target=lambda: asyncio.run(worker.run_forever(stop)), name="liaison-delivery", daemon=True
    )
    thread.start()
    return thread, stop
