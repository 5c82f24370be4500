"""The delivery worker: seals queued reports, sends them to partners, and records receipts.

The worker reads delivery jobs from the database, never from the officer's request, and works in
three short transactions per attempt so that no database lock is held across the network:

1. *prepare*: seal the report on the first attempt and store the envelope bytes, so every retry
   sends the identical envelope (and a receipt for any attempt matches);
2. *send*: POST the envelope with an RFC 9421 signature (outside any transaction);
3. *record*: on a ``200`` whose response signature and receipt verify (docs/protocol.md C1-C4),
   mark it acknowledged and keep the receipt; on a refusal mark it refused with the reason; on
   anything else schedule a retry with exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select

from crypto import httpsig
from crypto.envelope import seal
from crypto.errors import CryptoError, KeyExpired, UnknownKey
from crypto.receipt import verify_receipt
from service import audit
from service.audit import Actor
from service.errors import ServiceError
from service.federation import ENVELOPE_MEDIA_TYPE
from service.models import Delivery
from service.node import Node
from service.partners import ENVELOPES_PATH, fetch_key_document, pinned_key, update_key_document
from service.reports import ACKNOWLEDGED, QUEUED, REFUSED, SENT, STIX_MEDIA_TYPE, body_context

log = logging.getLogger("liaison.delivery")

RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 300.0
# 401 is retried: the partner answers "rejected" for every verification failure, and several
# are transient (it has not pinned us yet, a clock out of step); the backoff bounds the cost.
_RETRYABLE_STATUS = {401, 408, 425, 429}
# Lock only the delivery row: PostgreSQL refuses FOR UPDATE on the outer-joined partner.
_LOCK = {"of": Delivery}


@dataclass(frozen=True, slots=True)
class _Prepared:
    delivery_id: int
    partner_id: int
    partner: str
    message_id: str
    envelope: bytes
    digest: bytes
    connect_url: str
    signed_url: str
    partner_ed25519: bytes
    partner_keyid: str


class DeliveryWorker:
    def __init__(self, node: Node, *, batch: int = 50) -> None:
        self.node = node
        self.batch = batch

    def due(self) -> list[int]:
        now = self.node.utcnow()
        with self.node.db.transaction() as session:
            query = (
                select(Delivery.id)
                .where(Delivery.state.in_((QUEUED, SENT)), Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(self.batch)
            )
            return list(session.scalars(query))

    async def run_once(self) -> int:
        """Attempt every delivery that is due now; returns how many were attempted."""
        due = self.due()
        if not due:
            return 0
        assert self.node.http_client is not None
        async with self.node.http_client() as client:
            for delivery_id in due:
                await self.deliver(client, delivery_id)
        return len(due)

    async def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                attempted = await self.run_once()
            except Exception:  # a bug or a database outage must not kill the worker
                log.exception("delivery round failed")
                attempted = 0
            if not attempted:
                idle = self.node.settings.delivery_idle_seconds
                await asyncio.to_thread(self.node.wakeup.wait, idle)

    async def deliver(self, client: httpx.AsyncClient, delivery_id: int) -> str:
        """One attempt at one delivery; returns the state it ends in."""
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
        reason = _problem_reason(response)
        if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_STATUS:
            return self._refuse(prepared, reason)
        return self._retry(delivery_id, reason)

    async def _prepare(self, client: httpx.AsyncClient, delivery_id: int) -> _Prepared | None:
        node = self.node
        with node.db.transaction() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=_LOCK)
            if delivery is None or delivery.state not in (QUEUED, SENT):
                return None
            partner = delivery.partner
            if delivery.envelope is None:
                try:
                    key = node.partners.document(partner).current_encryption_key(node.now())
                except KeyExpired:
                    key = None
                if key is None:
                    # The published keys have all expired: fetch the partner's newer document.
                    document = await fetch_key_document(client, partner.endpoint)
                    update_key_document(session, node, partner, document)
                    key = node.partners.document(partner).current_encryption_key(node.now())
                report = delivery.report
                sealed = seal(
                    sender=node.identity,
                    recipient_id=partner.node_id,
                    recipient_key=key,
                    body=node.data_key.open(report.body_ct, body_context(report.id)),
                    content_type=STIX_MEDIA_TYPE,
                    message_id=delivery.message_id,
                    seq=delivery.seq,
                    now=node.now(),
                    lifetime=node.settings.envelope_lifetime,
                )
                delivery.envelope = sealed.data
                delivery.envelope_sha256 = sealed.digest
            first = delivery.sent_at is None
            delivery.attempts += 1
            delivery.state = SENT
            delivery.sent_at = delivery.sent_at or node.utcnow()
            if first:
                audit.record(
                    session,
                    actor=Actor.system(),
                    action="report.send",
                    outcome=audit.ALLOWED,
                    at=node.utcnow(),
                    object_type="delivery",
                    object_id=delivery.message_id,
                    reason=f"to {partner.node_id}",
                )
            signed_base = node.partners.document(partner).endpoint
            assert delivery.envelope_sha256 is not None
            return _Prepared(
                delivery_id=delivery.id,
                partner_id=partner.id,
                partner=partner.node_id,
                message_id=delivery.message_id,
                envelope=delivery.envelope,
                digest=delivery.envelope_sha256,
                connect_url=partner.endpoint + ENVELOPES_PATH,
                signed_url=signed_base + ENVELOPES_PATH,
                partner_ed25519=partner.ed25519_key,
                partner_keyid=partner.signing_key_id,
            )

    def _acknowledge(
        self, p: _Prepared, request: httpsig.HttpRequestParts, response: httpx.Response
    ) -> str:
        node = self.node
        answer = httpsig.HttpResponseParts(
            response.status_code, dict(response.headers), response.content
        )
        try:
            httpsig.verify_response(
                answer,
                request,
                resolve_key=lambda keyid: _partner_key(p, keyid),
                now=node.now(),
                max_skew=node.settings.clock_skew,
                max_age=node.settings.request_max_age,
            )
            with node.db.transaction() as session:
                delivery = session.get(Delivery, p.delivery_id, with_for_update=_LOCK)
                assert delivery is not None
                receipt = verify_receipt(
                    response.content,
                    receiver_key=pinned_key(delivery.partner),
                    expected_receiver=p.partner,
                    expected_sender=node.node_id,
                    expected_message_id=p.message_id,
                    expected_envelope_sha256=p.digest,
                    now=node.now(),
                    max_skew=node.settings.clock_skew,
                )
                delivery.state = ACKNOWLEDGED
                delivery.receipt = receipt.raw
                delivery.acknowledged_at = node.utcnow()
                delivery.last_error = None
                audit.record(
                    session,
                    actor=Actor("partner", p.partner),
                    action="receipt.accept",
                    outcome=audit.ALLOWED,
                    at=node.utcnow(),
                    object_type="delivery",
                    object_id=p.message_id,
                )
        except CryptoError as exc:
            return self._retry(p.delivery_id, f"invalid receipt: {exc.diagnostics()}")
        return ACKNOWLEDGED

    def _refuse(self, p: _Prepared, reason: str) -> str:
        node = self.node
        with node.db.transaction() as session:
            delivery = session.get(Delivery, p.delivery_id, with_for_update=_LOCK)
            assert delivery is not None
            delivery.state = REFUSED
            delivery.last_error = reason
            audit.record(
                session,
                actor=Actor("partner", p.partner),
                action="report.refused",
                outcome=audit.DENIED,
                at=node.utcnow(),
                object_type="delivery",
                object_id=p.message_id,
                reason=reason,
            )
        return REFUSED

    def _retry(self, delivery_id: int, reason: str) -> str:
        node = self.node
        with node.db.transaction() as session:
            delivery = session.get(Delivery, delivery_id, with_for_update=_LOCK)
            if delivery is None:
                return "skipped"
            delay = min(RETRY_BASE_SECONDS * 2 ** max(delivery.attempts - 1, 0), RETRY_MAX_SECONDS)
            delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
            delivery.last_error = reason[:2000]
            delivery.next_attempt_at = node.utcnow() + timedelta(seconds=delay)
            if delivery.state == QUEUED and delivery.envelope is not None:
                delivery.state = SENT
            return delivery.state


def _partner_key(p: _Prepared, keyid: str) -> bytes:
    """The pinned key of the partner we sent to: a response signed by anyone else is refused."""
    if keyid != p.partner_keyid:
        raise UnknownKey(f"response signed by {keyid!r}, not by {p.partner}")
    return p.partner_ed25519


def _problem_reason(response: httpx.Response) -> str:
    """A one-line reason from a partner's problem+json answer (or its status)."""
    try:
        body = response.json()
        code, detail = body.get("code"), body.get("detail")
        if code or detail:
            return f"HTTP {response.status_code} {code}: {detail}"[:2000]
    except ValueError:
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
