"""Partner-facing endpoints: the signed key document, envelope delivery, pull and receipts,
witnessing and reconciling. Each runs in the request's write transaction: the nonce of its
signature is remembered with what it causes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from crypto.httpsig import HttpRequestParts
from service import exchange
from service.api.body import read_body
from service.api.deps import NodeDep, RemoteAddr, WriteSession
from service.errors import BadRequest
from service.federation import SignedAnswer, wire
from service.node import Node

router = APIRouter(prefix=wire.PREFIX, tags=["federation"])

Responses = dict[int | str, dict[str, Any]]
Handler = Callable[[Session, Node, HttpRequestParts, str | None], SignedAnswer]
SIGNED: Responses = {200: {"description": "a signed answer (RFC 9421 response signature)"}}


KEY_DOCUMENT: Responses = {
    200: {"content": {wire.JSON: {}}, "description": "the signed key document"}
}


@router.get("/key-document", response_class=Response, responses=KEY_DOCUMENT)
def key_document(node: NodeDep) -> Response:
    """This node's signed key document (docs/protocol.md section 2)."""
    return Response(node.key_document, media_type=wire.JSON)


async def _signed_request(
    request: Request,
    session: Session,
    node: Node,
    addr: str | None,
    media_type: str,
    limit: int,
    handler: Handler,
) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != media_type:
        raise BadRequest(f"send this request as {media_type}")
    body = await read_body(request, limit)
    # @target-uri is rebuilt from our configured public URL, never from the Host header.
    target = node.settings.public_url + request.url.path
    if request.url.query:
        target += "?" + request.url.query
    parts = HttpRequestParts(request.method, target, dict(request.headers), body)
    answer = await run_in_threadpool(handler, session, node, parts, addr)
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


@router.post("/envelopes", response_class=Response, responses=SIGNED)
async def receive(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """Accept an envelope from a pinned partner; answer with a signed receipt (F1-F5)."""
    return await _signed_request(request, session, node, addr, wire.ENVELOPE_MEDIA_TYPE,
                                 node.settings.max_envelope_bytes,
                                 exchange.receive_envelope)  # fmt: skip


@router.post("/envelopes/batch", response_class=Response, responses=SIGNED)
async def receive_batch(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """Accept up to 100 envelopes from a pinned partner in one signed request; answer with a
    receipt or a refusal for each, in order (B1-B4)."""
    return await _signed_request(request, session, node, addr, wire.JSON, wire.MAX_BATCH_BYTES,
                                 exchange.receive_batch)  # fmt: skip


@router.post("/pull", response_class=Response, responses=SIGNED)
async def serve_pull(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """Envelopes addressed to the calling partner with sequence numbers after its cursor."""
    return await _signed_request(request, session, node, addr, wire.JSON, 4096,
                                 exchange.serve_pull)  # fmt: skip


@router.post("/receipts", response_class=Response, responses=SIGNED)
async def receipts(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """Receipts for envelopes the calling partner pulled."""
    return await _signed_request(request, session, node, addr, wire.JSON, 32 * 1024 * 1024,
                                 exchange.serve_receipts)  # fmt: skip


@router.post("/audit/checkpoint", response_class=Response, responses=SIGNED)
async def audit_checkpoint(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """A signed checkpoint of our audit log and a consistency proof, for a witnessing partner."""
    return await _signed_request(request, session, node, addr, wire.JSON, 8192,
                                 exchange.serve_checkpoint)  # fmt: skip


@router.post("/audit/cosignature", response_class=Response, responses=SIGNED)
async def audit_cosignature(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """A partner's cosignature of one of our checkpoints."""
    return await _signed_request(request, session, node, addr, wire.JSON, 8192,
                                 exchange.serve_cosignature)  # fmt: skip


@router.post("/audit/reconcile", response_class=Response, responses=SIGNED)
async def audit_reconcile(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> Response:
    """What we hold from the calling partner and what we addressed to it, by message id."""
    return await _signed_request(request, session, node, addr, wire.JSON, 1024,
                                 exchange.serve_reconcile)  # fmt: skip
