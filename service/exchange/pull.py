"""Pull catch-up: a node asks its partner for the envelopes addressed to it after a cursor.

Push alone cannot help a node that was down for longer than the sender's backoff, was restored
from a backup, or cannot accept inbound connections. So each node also pulls (docs/protocol.md
section 7): it sends ``POST /federation/v1/pull`` with its cursor for that partner (every sequence
number up to it has arrived), receives the envelopes with higher sequence numbers, processes each
exactly as a pushed one (F2-F5: verified, stored once, receipt issued), and returns the receipts
with ``POST /federation/v1/receipts``, which the sender checks (C1-C4) before marking anything
acknowledged. Both requests are RFC 9421-signed and their answers signed; the cursor is persisted
(``partners.received_through``) and advances only over contiguous sequence numbers, so a gap is
asked for again until it is filled. A page of envelopes is stored in one transaction, each in a
savepoint of its own, and no transaction is open while the partner is asked.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.canonical import canonicalize, parse_strict
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CryptoError, KeyExpired, MalformedInput
from service.audit import ALLOWED, DENIED, Actor, record
from service.errors import BadRequest, ServiceError
from service.exchange import outbox
from service.exchange.ingest import advance_cursor, store_envelope
from service.exchange.keys import refresh_due, refresh_key_document
from service.federation import PartnerClient, PartnerContact, SignedAnswer, handle_signed, wire
from service.models import Partner
from service.node import Node
from service.reports import PENDING, Route

log = logging.getLogger("liaison.pull")


# -- the side that holds the envelopes --------------------------------------------------------


def json_body(request: httpsig.HttpRequestParts, max_bytes: int) -> dict[str, Any]:
    """A partner request's strict JSON object body.

    Raises:
        BadRequest: not JSON, or not an object.
    """
    try:
        body = parse_strict(request.body, max_bytes=max_bytes, max_depth=4)
    except MalformedInput as exc:
        raise BadRequest(f"invalid JSON body: {exc.message}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def serve_pull(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """Answer a partner's pull: the envelopes addressed to it with ``seq > after``.

    Raises:
        FederationRejected: the request fails F1 (recorded).
    A malformed body is a signed ``400`` problem.
    """

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        body = json_body(request, 4096)
        after, limit = body.get("after"), body.get("limit", wire.DEFAULT_PULL_LIMIT)
        if set(body) - {"after", "limit"} or not natural(after) or not natural(limit):
            raise BadRequest('the body is {"after": seq, "limit": n}, both non-negative integers')
        assert isinstance(after, int) and isinstance(limit, int)
        limit = max(1, min(limit, wire.MAX_PULL_LIMIT))
        deliveries = outbox.pullable(session, partner.id, after, limit + 1)
        more = len(deliveries) > limit
        envelopes = []
        for delivery in deliveries[:limit]:
            if outbox.needs_sealing(node, delivery):
                try:
                    key = node.keyring.partner_document(partner).current_encryption_key(node.now())
                except KeyExpired:
                    more = True  # cannot seal until the partner's new keys are fetched
                    break
                if not outbox.seal_delivery(session, node, delivery, key):
                    continue  # withheld: its number is in ``void`` below
            if delivery.state in PENDING:
                outbox.mark_sent(session, node, delivery, Route.PULL)
            assert delivery.envelope is not None
            envelopes.append(b64u_encode(delivery.envelope))
        # Sequence numbers the partner will never receive (deliveries we gave up on), so its
        # cursor can move past them instead of asking for them forever.
        void = outbox.refused_seqs(session, partner.id, after, wire.MAX_PULL_LIMIT)
        record(session, actor=Actor.partner(partner.node_id, remote_addr),
               action="federation.pull", outcome=ALLOWED, at=node.utcnow(),
               object_type="partner", object_id=partner.node_id,
               reason=f"after {after}: {len(envelopes)} envelopes")  # fmt: skip
        return canonicalize({"envelopes": envelopes, "more": more, "void": void})

    return handle_signed(session, node, request, remote_addr, work)


def serve_receipts(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """Accept receipts for envelopes a partner pulled (C1-C4 each; invalid ones are counted).

    Raises:
        FederationRejected: the request fails F1 (recorded).
    A malformed body is a signed ``400`` problem.
    """

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        body = json_body(request, 32 * 1024 * 1024)
        receipts = body.get("receipts")
        if set(body) != {"receipts"} or not isinstance(receipts, list):
            raise BadRequest('the body is {"receipts": [b64u, ...]}')
        if len(receipts) > wire.MAX_RECEIPTS:
            raise BadRequest(f"at most {wire.MAX_RECEIPTS} receipts per request")
        sender = Actor.partner(partner.node_id, remote_addr)
        counts = outbox.accept_receipts(
            session, node, partner.id, receipts, via=Route.PULL, actor=sender
        )
        return canonicalize(
            {"accepted": counts.accepted, "unknown": counts.unknown, "invalid": counts.invalid}
        )

    return handle_signed(session, node, request, remote_addr, work)


# -- the side that pulls ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PullResult:
    partner: str
    received: int
    duplicates: int
    refused: int
    receipts_accepted: int


def pinned_partners(node: Node) -> list[tuple[int, str]]:
    """Every pinned partner's row id and node id, but those suspended (nothing is asked of a
    partner whose keys are not trusted)."""
    query = select(Partner.id, Partner.node_id).where(Partner.suspended_at.is_(None))
    with node.db.read() as session:
        return list(session.execute(query.order_by(Partner.node_id)))


def read_contact(node: Node, partner_id: int) -> PartnerContact:
    """How to reach a partner, read in a transaction of its own before talking to it.

    Raises:
        CryptoError: its stored key document no longer verifies under the pinned keys.
    """
    with node.db.read() as session:
        partner = session.get(Partner, partner_id)
        assert partner is not None
        return PartnerContact.of(partner, node.keyring)


class Puller:
    """Pulls from every pinned partner in turn; the worker calls it on its schedule."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def pull_all(self, client: PartnerClient | None = None) -> int:
        """Pull from every partner; returns how many new reports arrived. A partner that fails
        is recorded on its row (``last_pull_error``) and tried again next round. ``client``: the
        worker's (else one of its own for this round)."""
        total = 0
        async with AsyncExitStack() as stack:
            if client is None:
                client = await stack.enter_async_context(PartnerClient.open(self.node))
            for partner_id, node_id in pinned_partners(self.node):
                await self._refresh_keys_if_due(client, partner_id, node_id)
                try:
                    result = await self.pull_from(client, read_contact(self.node, partner_id))
                    total += result.received
                except (ServiceError, CryptoError, httpx.HTTPError) as exc:
                    reason = exc.diagnostics() if hasattr(exc, "diagnostics") else repr(exc)
                    self._record(partner_id, f"pull from {node_id} failed: {reason}")
        return total

    async def _refresh_keys_if_due(
        self, client: PartnerClient, partner_id: int, node_id: str
    ) -> None:
        """Fetch the partner's key document every ``key_refresh_seconds``; a failure is recorded
        on its row and does not stop the pull."""
        endpoint = refresh_due(self.node, partner_id)
        if endpoint is None:
            return
        try:
            await refresh_key_document(self.node, client, partner_id, endpoint)
        except (ServiceError, CryptoError, httpx.HTTPError) as exc:
            reason = exc.diagnostics() if hasattr(exc, "diagnostics") else repr(exc)
            self._record(partner_id, f"key document of {node_id} not refreshed: {reason}")

    def _record(self, partner_id: int, error: str | None) -> None:
        with self.node.db.write() as session:
            partner = session.get(Partner, partner_id)
            if partner is not None:
                partner.last_pull_at = self.node.utcnow()
                partner.last_pull_error = error

    def _cursor(self, partner_id: int) -> tuple[int, str]:
        with self.node.db.read() as session:
            partner = session.get(Partner, partner_id)
            assert partner is not None
            return partner.received_through, f"{partner.node_id}/{partner.signing_key_id}"

    async def pull_from(self, client: PartnerClient, contact: PartnerContact) -> PullResult:
        """Pull everything a partner holds for us beyond our cursor, and send back receipts.

        Raises:
            ServiceError, CryptoError, httpx.HTTPError: the exchange itself failed.
        """
        node = self.node
        received = duplicates = refused = acknowledged = 0
        more = True
        while more:
            after, name = self._cursor(contact.partner_id)
            answer = await client.pull(contact, after)
            if not isinstance(answer.get("envelopes"), list):
                raise MalformedInput("a pull answer holds 'envelopes' and 'more'")
            more = answer.get("more") is True
            void = answer.get("void", [])
            if not isinstance(void, list) or not all(natural(v) for v in void):
                raise MalformedInput("'void' must list sequence numbers")
            receipts = []
            actor = Actor.partner(name)
            # The page in one transaction, each envelope in a savepoint: one refused envelope
            # rolls back only its own work (as in a batch push, B2-B3).
            with node.db.write() as session:
                for encoded in answer["envelopes"]:
                    try:
                        envelope = b64u_decode(encoded, field="envelope")
                        with session.begin_nested():
                            accepted = store_envelope(session, node, contact.partner_id,
                                                      envelope, actor, Route.PULL)  # fmt: skip
                    except (CryptoError, ServiceError) as exc:
                        refused += 1
                        record(session, actor=actor, action="federation.refuse", outcome=DENIED,
                               at=node.utcnow(),
                               reason=f"pulled envelope: {exc.diagnostics()}")  # fmt: skip
                        continue
                    receipts.append(b64u_encode(accepted.receipt))
                    if accepted.duplicate:
                        duplicates += 1
                    else:
                        received += 1
            if receipts:
                result = await client.send_receipts(contact, receipts)
                count = result.get("accepted", 0)
                acknowledged += count if natural(count) else 0
            with node.db.write() as session:
                current = session.get(Partner, contact.partner_id, with_for_update=True)
                assert current is not None
                advance_cursor(session, current, frozenset(void))
                progressed = current.received_through > after
            if more and not progressed:
                break  # the partner keeps offering what we cannot take: try again next round
        self._record(contact.partner_id, None)
        return PullResult(contact.node_id, received, duplicates, refused, acknowledged)
