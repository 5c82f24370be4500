"""Pull catch-up: a node asks its partner for the envelopes addressed to it after a cursor.

Push alone cannot help a node that was down for longer than the sender's backoff, was restored
from a backup, or cannot accept inbound connections. So each node also pulls (docs/protocol.md
section 7): it sends ``POST /federation/v1/pull`` with its cursor for that partner (every sequence
number up to it has arrived), receives the envelopes with higher sequence numbers, processes each
exactly as a pushed one (F2-F5: verified, stored once, receipt issued), and returns the receipts
with ``POST /federation/v1/receipts``, which the sender checks (C1-C4) before marking anything
acknowledged. Both requests are RFC 9421-signed and their answers signed; the cursor is persisted
(``partners.received_through``) and advances only over contiguous sequence numbers, so a gap is
asked for again until it is filled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from crypto import httpsig
from crypto.canonical import canonicalize, parse_strict
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CryptoError, KeyExpired, MalformedInput, UnknownKey
from service import audit, federation, outbox, witness
from service.audit import Actor
from service.errors import BadRequest, ServiceError
from service.models import Partner
from service.node import Node

log = logging.getLogger("liaison.pull")

PULL_PATH = "/federation/v1/pull"
RECEIPTS_PATH = "/federation/v1/receipts"
JSON = "application/json"
MAX_PULL_LIMIT = 200
DEFAULT_PULL_LIMIT = 100
MAX_RECEIPTS = 1000
MAX_PULL_RESPONSE_BYTES = 64 * 1024 * 1024


# -- the side that holds the envelopes --------------------------------------------------------


def _json_body(request: httpsig.HttpRequestParts, max_bytes: int) -> dict[str, Any]:
    try:
        body = parse_strict(request.body, max_bytes=max_bytes, max_depth=4)
    except MalformedInput as exc:
        raise BadRequest(f"invalid JSON body: {exc.message}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def serve_pull(
    node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> federation.SignedAnswer:
    """Answer a partner's pull: the envelopes addressed to it with ``seq > after``.

    Raises:
        FederationRejected: the request fails F1 (audited).
        BadRequest: a malformed body.
    """

    def work(session: Any, partner: Partner) -> bytes:
        body = _json_body(request, 4096)
        after, limit = body.get("after"), body.get("limit", DEFAULT_PULL_LIMIT)
        if set(body) - {"after", "limit"} or not _natural(after) or not _natural(limit):
            raise BadRequest('the body is {"after": seq, "limit": n}, both non-negative integers')
        assert isinstance(after, int) and isinstance(limit, int)
        limit = max(1, min(limit, MAX_PULL_LIMIT))
        deliveries = outbox.pullable(session, partner.id, after, limit + 1)
        more = len(deliveries) > limit
        envelopes = []
        for delivery in deliveries[:limit]:
            if outbox.needs_sealing(node, delivery):
                try:
                    key = node.partners.document(partner).current_encryption_key(node.now())
                except KeyExpired:
                    more = True  # cannot seal until the partner's new keys are fetched
                    break
                if not outbox.seal_delivery(session, node, delivery, key):
                    continue  # withheld: its number is in ``void`` below
            if delivery.state in outbox.PENDING:
                outbox.mark_sent(session, node, delivery, "pull")
            assert delivery.envelope is not None
            envelopes.append(b64u_encode(delivery.envelope))
        # Sequence numbers the partner will never receive (deliveries we gave up on), so its
        # cursor can move past them instead of asking for them forever.
        void = outbox.refused_seqs(session, partner.id, after, MAX_PULL_LIMIT)
        audit.record(session, actor=Actor("partner", partner.node_id, None, remote_addr),
                     action="federation.pull", outcome=audit.ALLOWED, at=node.utcnow(),
                     object_type="partner", object_id=partner.node_id,
                     reason=f"after {after}: {len(envelopes)} envelopes")  # fmt: skip
        return canonicalize({"envelopes": envelopes, "more": more, "void": void})

    return federation.handle_signed(node, request, remote_addr, work)


def serve_receipts(
    node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> federation.SignedAnswer:
    """Accept receipts for envelopes a partner pulled (C1-C4 each; invalid ones are counted).

    Raises:
        FederationRejected: the request fails F1 (audited).
        BadRequest: a malformed body.
    """

    def work(session: Any, partner: Partner) -> bytes:
        body = _json_body(request, 32 * 1024 * 1024)
        receipts = body.get("receipts")
        if set(body) != {"receipts"} or not isinstance(receipts, list):
            raise BadRequest('the body is {"receipts": [b64u, ...]}')
        if len(receipts) > MAX_RECEIPTS:
            raise BadRequest(f"at most {MAX_RECEIPTS} receipts per request")
        actor = Actor("partner", partner.node_id, None, remote_addr)
        counts = outbox.accept_receipts(session, node, partner.id, receipts, via="pull",
                                        actor=actor)  # fmt: skip
        return canonicalize(
            {"accepted": counts.accepted, "unknown": counts.unknown, "invalid": counts.invalid}
        )

    return federation.handle_signed(node, request, remote_addr, work)


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# -- the side that pulls ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PullResult:
    partner: str
    received: int
    duplicates: int
    refused: int
    receipts_accepted: int


class Puller:
    """Pulls from every pinned partner in turn; used by the delivery worker."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def pull_all(self) -> int:
        node = self.node
        with node.db.transaction() as session:
            partners = [(p.id, p.node_id) for p in session.scalars(select(Partner))]
        total = 0
        assert node.http_client is not None
        async with node.http_client() as client:
            for partner_id, node_id in partners:
                try:
                    result = await self.pull_from(client, partner_id)
                    total += result.received
                except (ServiceError, CryptoError, httpx.HTTPError) as exc:
                    reason = exc.diagnostics() if hasattr(exc, "diagnostics") else repr(exc)
                    self._record(partner_id, f"pull from {node_id} failed: {reason}")
        return total

    async def witness_all(self) -> dict[str, str]:
        """Witness every pinned partner's audit log once (``service.witness``); returns what
        happened per partner (``cosigned``, ``unchanged``, an alert kind, or ``failed``)."""
        node = self.node
        with node.db.transaction() as session:
            partners = [(p.id, p.node_id) for p in session.scalars(select(Partner))]
        results: dict[str, str] = {}
        assert node.http_client is not None
        async with node.http_client() as client:
            for partner_id, node_id in partners:
                try:
                    results[node_id] = await witness.witness_partner(self, client, partner_id)
                except (ServiceError, CryptoError, httpx.HTTPError) as exc:
                    log.warning("witnessing %s failed (will retry): %r", node_id, exc)
                    results[node_id] = "failed"
        return results

    def _record(self, partner_id: int, error: str | None) -> None:
        with self.node.db.transaction() as session:
            partner = session.get(Partner, partner_id)
            if partner is not None:
                partner.last_pull_at = self.node.utcnow()
                partner.last_pull_error = error

    async def signed_post(
        self, client: httpx.AsyncClient, partner: Partner, path: str, body: bytes
    ) -> bytes:
        """POST a signed JSON request to the partner and return the verified answer body.

        Raises:
            ServiceError: the partner answered with an error.
            CryptoError: the answer's signature does not verify (T1-T7).
            httpx.HTTPError: the network failed.
        """
        node = self.node
        identity = node.identity
        target = node.partners.document(partner).endpoint + path
        request = httpsig.HttpRequestParts("POST", target, {"content-type": JSON}, body)
        headers = httpsig.sign_request(
            request, key=identity.signing, keyid=identity.signing.public.key_id, now=node.now()
        )
        signed = httpsig.HttpRequestParts("POST", target, {**request.headers, **headers}, body)
        response = await client.post(
            partner.endpoint + path, content=body, headers={"content-type": JSON, **headers}
        )
        if response.status_code != 200:
            from service.delivery import problem_reason

            raise ServiceError(f"{partner.node_id} answered {problem_reason(response)}")
        if len(response.content) > MAX_PULL_RESPONSE_BYTES:
            raise ServiceError(f"{partner.node_id} sent an oversize answer")
        answer = httpsig.HttpResponseParts(200, dict(response.headers), response.content)
        keyid, key = partner.signing_key_id, partner.ed25519_key

        def resolve(asked: str) -> bytes:
            if asked != keyid:
                raise UnknownKey(f"answer signed by {asked!r}, not by {partner.node_id}")
            return key

        httpsig.verify_response(answer, signed, resolve_key=resolve, now=node.now(),
                                max_skew=node.settings.clock_skew,
                                max_age=node.settings.request_max_age)  # fmt: skip
        return response.content

    async def pull_from(self, client: httpx.AsyncClient, partner_id: int) -> PullResult:
        """Pull everything a partner holds for us beyond our cursor, and send back receipts."""
        node = self.node
        received = duplicates = refused = acknowledged = 0
        node_id = ""
        more = True
        while more:
            with node.db.transaction() as session:
                partner = session.get(Partner, partner_id)
                assert partner is not None
                after, node_id = partner.received_through, partner.node_id
            request = canonicalize({"after": after, "limit": DEFAULT_PULL_LIMIT})
            answer = parse_strict(
                await self.signed_post(client, partner, PULL_PATH, request),
                max_bytes=MAX_PULL_RESPONSE_BYTES,
            )
            if not isinstance(answer, dict) or not isinstance(answer.get("envelopes"), list):
                raise MalformedInput("a pull answer holds 'envelopes' and 'more'")
            more = answer.get("more") is True
            void = answer.get("void", [])
            if not isinstance(void, list) or not all(_natural(v) for v in void):
                raise MalformedInput("'void' must list sequence numbers")
            receipts = []
            actor = Actor("partner", f"{partner.node_id}/{partner.signing_key_id}")
            for encoded in answer["envelopes"]:
                try:
                    envelope = b64u_decode(encoded, field="envelope")
                    accepted = federation.store_envelope(node, partner.id, envelope, actor, "pull")
                except (CryptoError, ServiceError) as exc:
                    refused += 1
                    detail = exc.diagnostics()
                    with node.db.transaction() as session:
                        audit.record(session, actor=actor, action="federation.refuse",
                                     outcome=audit.DENIED, at=node.utcnow(),
                                     reason=f"pulled envelope: {detail}")  # fmt: skip
                    continue
                receipts.append(b64u_encode(accepted.receipt))
                if accepted.duplicate:
                    duplicates += 1
                else:
                    received += 1
            if receipts:
                result = parse_strict(
                    await self.signed_post(
                        client, partner, RECEIPTS_PATH, canonicalize({"receipts": receipts})
                    )
                )
                acknowledged += int(result.get("accepted", 0)) if isinstance(result, dict) else 0
            with node.db.transaction() as session:
                current = session.get(Partner, partner_id, with_for_update=True)
                assert current is not None
                federation.advance_cursor(session, current, frozenset(void))
                progressed = current.received_through > after
            if more and not progressed:
                break  # the partner keeps offering what we cannot take: try again next round
        self._record(partner_id, None)
        return PullResult(node_id, received, duplicates, refused, acknowledged)
