"""Receiving a batch of pushed envelopes: one signed request, one transaction, one receipt each.

``POST /federation/v1/envelopes/batch`` (docs/protocol.md section 6, B1-B4) carries up to
``wire.MAX_BATCH`` envelopes of one sender in sequence order. F1 is checked once for the request;
each envelope then goes through F2-F5 exactly as a single push (``store_envelope``), in a savepoint
of its own, so that one refused envelope costs only its own work and its refusal's audit record.
The signed answer lists, in the request's order, a receipt or a refusal for every envelope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crypto import httpsig
from crypto.canonical import canonicalize
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CryptoError
from service.audit import Actor, denial
from service.errors import BadRequest, ServiceError
from service.exchange.ingest import store_envelope
from service.exchange.pull import json_body
from service.federation import SignedAnswer, handle_signed, wire
from service.models import Partner
from service.node import Node
from service.reports import Route


def receive_batch(
    session: Session, node: Node, request: httpsig.HttpRequestParts, remote_addr: str | None
) -> SignedAnswer:
    """``POST /federation/v1/envelopes/batch``: B1-B4, in ``session``'s transaction.

    Raises:
        FederationRejected: the request fails F1 (recorded). A malformed batch is a signed 400.
    """

    def work(session: Session, partner: Partner, actor: Actor) -> bytes:
        # B1: a JSON object holding 1..MAX_BATCH base64url strings.
        body = json_body(request, wire.MAX_BATCH_BYTES)
        envelopes = body.get("envelopes")
        if (
            not isinstance(envelopes, list)
            or not 1 <= len(envelopes) <= wire.MAX_BATCH
            or not all(isinstance(e, str) for e in envelopes)
        ):
            raise BadRequest(f"'envelopes' must list 1 to {wire.MAX_BATCH} base64url strings")
        results = [_one(session, node, partner, actor, i, e) for i, e in enumerate(envelopes)]
        return canonicalize({"results": results})  # B4: signed by handle_signed

    return handle_signed(session, node, request, remote_addr, work, wire.JSON)


def _one(
    session: Session, node: Node, partner: Partner, actor: Actor, index: int, encoded: str
) -> dict[str, Any]:
    """B2 (F2-F5 in a savepoint) and B3 (a refusal rolls back only this one) for one envelope."""
    try:
        envelope = b64u_decode(encoded, field="envelope")
        if len(envelope) > node.settings.max_envelope_bytes:
            raise BadRequest(f"envelope of {len(envelope)} bytes exceeds the limit")
        with session.begin_nested():
            accepted = store_envelope(session, node, partner.id, envelope, actor, Route.PUSH)
    except CryptoError as exc:
        # As for a single push, a verification failure says only "rejected" to the peer.
        _refusal(session, node, actor, index, exc.diagnostics())
        return {"status": 401, "code": "rejected"}
    except ServiceError as exc:
        for consequence in exc.consequences:
            consequence.write(session)
        _refusal(session, node, actor, index, exc.diagnostics())
        return {"status": exc.status, "code": exc.code, "detail": exc.detail}
    return {"receipt": b64u_encode(accepted.receipt)}


def _refusal(session: Session, node: Node, actor: Actor, index: int, why: str) -> None:
    reason = f"{wire.ENVELOPE_BATCH_PATH} envelope {index}: {why}"
    denial(actor, "federation.refuse", node.utcnow(), reason).write(session)
