"""Push: delivering leased deliveries to partners as soon as they are due.

A round takes the deliveries the outbox leased to this worker (``service.exchange.outbox.
claim_due``) and works in three steps, so that no database lock is held across the network and
a round costs two write transactions however many deliveries it carries:

1. *prepare* (one write transaction, a savepoint per delivery): check each lease is still ours
   and renew it, seal on the first attempt and store the envelope, so every retry sends the
   identical bytes (and a receipt for any attempt matches). A delivery whose partner's published
   encryption keys have all expired waits until that partner's newer key document has been
   fetched (outside any transaction) and stored (a transaction of its own), then is prepared
   again;
2. *send*: POST the envelopes through the ``PartnerClient`` (RFC 9421 signed, outside any
   transaction) in sequence-number order per partner, in batches of up to ``push_batch``
   (docs/protocol.md section 6, B1-B4: one request, one receipt or refusal each; a lone or a
   large envelope goes by itself, and a partner that does not serve batches gets single pushes),
   each only while its lease outlasts the request (else it is left for the next round);
3. *record* (one write transaction, a savepoint per delivery): count the attempt (the first is
   recorded in the audit log as the send, so no send is recorded that did not happen); on a
   ``200`` whose answer signature and receipt verify, mark it acknowledged and keep the
   receipt; on a final refusal the partner signed, mark it refused with the reason; otherwise
   schedule a retry with exponential backoff and jitter. Every outcome releases the lease.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.canonical import parse_strict
from crypto.encoding import b64u_decode
from crypto.errors import CryptoError, KeyExpired
from service.errors import ServiceError
from service.exchange import outbox
from service.exchange.ingest import SEQ_TAKEN
from service.exchange.keys import refresh_key_document
from service.federation import PartnerAnswer, PartnerClient, PartnerContact, wire
from service.models import Delivery
from service.node import Node
from service.reports import PENDING, DeliveryState, Route

ACKNOWLEDGED, REFUSED = DeliveryState.ACKNOWLEDGED, DeliveryState.REFUSED
# 401 is retried: the partner answers "rejected" for every verification failure, and several
# are transient (it has not pinned us yet, a clock out of step); the backoff bounds the cost.
_RETRYABLE_STATUS = {401, 408, 425, 429}
# A partner answering these to a batch does not take batches (or not this one): single pushes.
_NO_BATCH_STATUS = {404, 405, 413, 415}
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class _Prepared:
    delivery_id: int
    message_id: str
    envelope: bytes
    contact: PartnerContact
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one attempt came to, recorded in step 3: ``kind`` is ``ack`` (with the answer),
    ``refuse`` or ``retry`` (with the reason), or ``skip``: nothing was sent, and only the lease
    is given back."""

    kind: str
    reason: str = ""
    answer: PartnerAnswer | None = None
    sent: bool = True
    """Whether the envelope went out (counted as an attempt, its first recorded as the send)."""


class Pusher:
    """Pushes the deliveries it claims; ``owner`` names its leases."""

    def __init__(self, node: Node, *, owner: str | None = None) -> None:
        self.node = node
        self.owner = owner or f"{node.node_id}-{uuid.uuid4().hex[:12]}"
        self.single_only: set[int] = set()
        """Partners that answered a batch as if they had no batch endpoint."""

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
            await self.deliver_all(client, claimed)
        return len(claimed)

    async def deliver(self, client: PartnerClient, delivery_id: int) -> str:
        """One push attempt at one claimed delivery; returns the state it ends in."""
        return (await self.deliver_all(client, [delivery_id]))[delivery_id]

    async def deliver_all(self, client: PartnerClient, delivery_ids: list[int]) -> dict[int, str]:
        """One attempt at each claimed delivery (steps 1-3); returns the state each ends in
        (``skipped``: not ours, or not sent this round)."""
        outcomes: dict[int, _Outcome] = {}
        prepared, expired = self._prepare_all(delivery_ids, outcomes)
        if expired:
            refreshed: set[int] = set()
            for partner_id, endpoint in sorted(set(expired.values())):
                try:
                    await refresh_key_document(self.node, client, partner_id, endpoint)
                    refreshed.add(partner_id)
                except (CryptoError, ServiceError) as exc:
                    for delivery_id, (owner, _) in expired.items():
                        if owner == partner_id:
                            outcomes[delivery_id] = _Outcome(
                                "retry", f"cannot seal: {exc.diagnostics()}", sent=False
                            )
            again = [i for i, (owner, _) in expired.items() if owner in refreshed]
            more, still = self._prepare_all(again, outcomes)
            prepared.update(more)
            for delivery_id in still:
                outcomes[delivery_id] = _Outcome(
                    "retry", "cannot seal: key_expired: the partner's newest key document has "
                    "no encryption key valid now", sent=False,
                )  # fmt: skip
        for batch in self._batches(prepared.values()):
            if len(batch) == 1 or batch[0].contact.partner_id in self.single_only:
                for p in batch:
                    outcomes[p.delivery_id] = await self._send(client, p)
            else:
                outcomes.update(await self._send_batch(client, batch))
        return self._record_all(delivery_ids, outcomes)

    def _batches(self, prepared: Iterable[_Prepared]) -> Iterator[list[_Prepared]]:
        """Consecutive envelopes of one partner, in sending order, at most ``push_batch`` and
        ``wire.BATCH_BYTES`` of base64url text each; an envelope over half that goes alone."""
        limit = min(self.node.settings.push_batch, wire.MAX_BATCH)
        batch: list[_Prepared] = []
        size = 0
        for p in prepared:
            cost = (len(p.envelope) * 4 + 2) // 3 + 3
            alone = 2 * cost > wire.BATCH_BYTES
            if batch and (alone or len(batch) >= limit or size + cost > wire.BATCH_BYTES
                          or batch[0].contact.partner_id != p.contact.partner_id):  # fmt: skip
                yield batch
                batch, size = [], 0
            batch.append(p)
            size += cost
            if alone:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _prepare_all(
        self, delivery_ids: list[int], outcomes: dict[int, _Outcome]
    ) -> tuple[dict[int, _Prepared], dict[int, tuple[int, str]]]:
        """Step 1 for ``delivery_ids``, in one write transaction: the prepared ones in sending
        order, and those waiting for their partner's keys (by delivery: partner id and URL).
        A delivery that cannot be sealed gets its retry in ``outcomes``."""
        node = self.node
        prepared: dict[int, _Prepared] = {}
        expired: dict[int, tuple[int, str]] = {}
        if not delivery_ids:
            return prepared, expired
        with node.db.write() as session:
            rows = session.scalars(
                select(Delivery)
                .where(Delivery.id.in_(delivery_ids))
                .order_by(Delivery.partner_id, Delivery.seq, Delivery.id)
                .with_for_update(of=Delivery)
            )
            for delivery in rows:
                if delivery.state not in PENDING or not outbox.holds_lease(
                    delivery, self.owner, node
                ):
                    continue  # done meanwhile, or our lease expired and another worker has it
                # Renew the lease for this round: a batch claimed long ago must not expire in
                # flight (and each send checks that it still outlasts the request).
                outbox.renew_lease(node, delivery)
                partner = delivery.partner
                try:
                    with session.begin_nested():
                        if outbox.needs_sealing(node, delivery):
                            document = node.keyring.partner_document(partner)
                            try:
                                key = document.current_encryption_key(node.now())
                            except KeyExpired:
                                expired[delivery.id] = (partner.id, partner.endpoint)
                                continue
                            if not outbox.seal_delivery(session, node, delivery, key):
                                continue  # withheld: the policy changed before it was sent
                except (CryptoError, ServiceError) as exc:
                    outcomes[delivery.id] = _Outcome(
                        "retry", f"cannot seal: {exc.diagnostics()}", sent=False
                    )
                    continue
                assert delivery.envelope is not None and delivery.lease_until is not None
                prepared[delivery.id] = _Prepared(
                    delivery.id, delivery.message_id, delivery.envelope,
                    PartnerContact.of(partner, node.keyring), delivery.lease_until,
                )  # fmt: skip
        return prepared, expired

    async def _send(self, client: PartnerClient, p: _Prepared) -> _Outcome:
        """Step 2 for one delivery: only while its lease outlasts the request."""
        node = self.node
        deadline = node.utcnow() + timedelta(seconds=node.settings.delivery_timeout)
        if deadline >= p.lease_until:
            return _Outcome("skip", sent=False)  # the round ran long: the next one takes it up
        try:
            answer = await client.push(p.contact, p.envelope)
        except httpx.HTTPError as exc:
            return _Outcome("retry", f"network: {exc.__class__.__name__}: {exc}")
        if answer.status == 200:
            if answer.failure is not None:
                return _Outcome("retry", f"invalid receipt: {answer.failure.diagnostics()}")
            return _Outcome("ack", answer=answer)
        reason = answer.reason
        if _final(answer.status, answer.code):
            # Give up only on a refusal the partner signed: an unsigned one may come from a
            # proxy, or from anyone on the path who wants us to stop trying.
            if answer.failure is not None:
                return _Outcome(
                    "retry", f"{reason} (unsigned refusal, retrying: {answer.failure.code})"
                )
            return _Outcome("refuse", reason)
        return _Outcome("retry", reason)

    async def _send_batch(
        self, client: PartnerClient, batch: list[_Prepared]
    ) -> dict[int, _Outcome]:
        """Step 2 for a batch of one partner's envelopes: those whose leases outlast the request,
        in one request; each gets the outcome of its own result in the signed answer."""
        node = self.node
        deadline = node.utcnow() + timedelta(seconds=node.settings.delivery_timeout)
        outcomes = {p.delivery_id: _Outcome("skip", sent=False) for p in batch
                    if deadline >= p.lease_until}  # fmt: skip
        sendable = [p for p in batch if p.delivery_id not in outcomes]
        if not sendable:
            return outcomes
        contact = sendable[0].contact
        try:
            answer = await client.push_batch(contact, [p.envelope for p in sendable])
        except httpx.HTTPError as exc:
            reason = f"network: {exc.__class__.__name__}: {exc}"
            return {**outcomes, **{p.delivery_id: _Outcome("retry", reason) for p in sendable}}
        if answer.status in _NO_BATCH_STATUS:
            self.single_only.add(contact.partner_id)
            for p in sendable:
                outcomes[p.delivery_id] = await self._send(client, p)
            return outcomes
        results = _batch_results(answer, len(sendable))
        if isinstance(results, str):  # the whole answer is unusable: every envelope is retried
            return {**outcomes, **{p.delivery_id: _Outcome("retry", results) for p in sendable}}
        for p, result in zip(sendable, results, strict=True):
            outcomes[p.delivery_id] = _result_outcome(result)
        return outcomes

    def _record_all(self, delivery_ids: list[int], outcomes: dict[int, _Outcome]) -> dict[int, str]:
        """Step 3, in one write transaction: each outcome in a savepoint of its own."""
        node = self.node
        states = dict.fromkeys(delivery_ids, SKIPPED)
        if not outcomes:
            return states
        with node.db.write() as session:
            rows = session.scalars(
                select(Delivery)
                .where(Delivery.id.in_(list(outcomes)))
                .order_by(Delivery.id)
                .with_for_update(of=Delivery)
            )
            for delivery in rows:
                outcome = outcomes[delivery.id]
                with session.begin_nested():
                    states[delivery.id] = self._record(session, delivery, outcome)
        return states

    def _record(self, session: Session, delivery: Delivery, outcome: _Outcome) -> str:
        node = self.node
        if outcome.kind == "skip":
            if delivery.lease_owner == self.owner:
                outbox.release(delivery)
            return SKIPPED
        if outcome.sent:
            outbox.mark_sent(session, node, delivery, Route.PUSH)
        if outcome.kind == "ack":
            assert outcome.answer is not None
            try:
                with session.begin_nested():
                    outbox.accept_receipt(session, node, delivery, outcome.answer.body, "push")
                return ACKNOWLEDGED
            except CryptoError as exc:
                outcome = _Outcome("retry", f"invalid receipt: {exc.diagnostics()}")
        if outcome.kind == "refuse":
            if delivery.state == ACKNOWLEDGED:  # a pull acknowledged it meanwhile
                return ACKNOWLEDGED
            outbox.mark_refused(session, node, delivery, outcome.reason)
            return REFUSED
        if delivery.state in PENDING:
            outbox.schedule_retry(node, delivery, outcome.reason)
            if delivery.state == outbox.QUEUED and delivery.envelope is not None:
                delivery.state = outbox.SENT
        return str(delivery.state)


def _batch_results(answer: PartnerAnswer, count: int) -> list[dict[str, Any]] | str:
    """The per-envelope results of a batch answer (B4), or why the whole answer is unusable."""
    if answer.status != 200:
        return answer.reason
    if answer.failure is not None:
        return f"invalid batch answer: {answer.failure.diagnostics()}"
    try:
        body = parse_strict(answer.body, max_bytes=wire.MAX_ANSWER_BYTES, max_depth=4)
    except CryptoError as exc:
        return f"invalid batch answer: {exc.diagnostics()}"
    results = body.get("results") if isinstance(body, dict) else None
    if (
        not isinstance(results, list)
        or len(results) != count
        or not all(isinstance(r, dict) for r in results)
    ):
        return f"invalid batch answer: not {count} results"
    return results


def _result_outcome(result: dict[str, Any]) -> _Outcome:
    """One envelope's result in a signed batch answer: its receipt (checked, C1-C4, when it is
    recorded) or a refusal, which the answer's signature covers."""
    if "receipt" in result:
        try:
            receipt = b64u_decode(result["receipt"], field="receipt")
        except CryptoError as exc:
            return _Outcome("retry", f"invalid receipt: {exc.diagnostics()}")
        return _Outcome("ack", answer=PartnerAnswer(200, receipt))
    status = result.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        return _Outcome("retry", "invalid batch answer: a result with neither receipt nor status")
    reason = f"HTTP {status} {result.get('code')}: {result.get('detail', '')}".rstrip(": ")[:2000]
    if _final(status, result.get("code")):
        return _Outcome("refuse", reason)
    return _Outcome("retry", reason)


def _final(status: int, code: object) -> bool:
    """A refusal to give up on: a 4xx other than the retryable ones, and other than a sequence
    number taken by another message (only a forgery under our keys does that: it is free again
    once the partner has re-pinned us, docs/protocol.md K8)."""
    if code == SEQ_TAKEN:
        return False
    return 400 <= status < 500 and status not in _RETRYABLE_STATUS
