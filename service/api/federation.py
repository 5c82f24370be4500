"""Partner-facing endpoints: the signed key document, envelope delivery, pull and receipts."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from crypto.httpsig import HttpRequestParts
from service import federation, pull, reconcile, witness
from service.api.body import read_body
from service.deps import NodeDep, RemoteAddr
from service.errors import BadRequest
from service.node import Node

router = APIRouter(prefix="/federation/v1", tags=["federation"])

Handler = Callable[[Node, HttpRequestParts, str | None], federation.SignedAnswer]


@router.get("/key-document")
def key_document(node: NodeDep) -> Response:
    """This node's signed key document (docs/protocol.md section 2)."""
    return Response(node.key_document, media_type="application/json")


async def _signed_request(
    request: Request, node: Node, addr: str | None, media_type: str, limit: int, handler: Handler
) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != media_type:
        raise BadRequest(f"send this request as {media_type}")
    body = await read_body(request, limit)
    # @target-uri is rebuilt from our configured public URL, never from the Host header.
    target = node.settings.public_url + request.url.path
    if request.url.query:
        target += "?" + request.url.query
    parts = HttpRequestParts(request.method, target, dict(request.headers), body)
    answer = await run_in_threadpool(handler, node, parts, addr)
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


@router.post("/envelopes")
async def receive(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """Accept an envelope from a pinned partner; answer with a signed receipt (F1-F5)."""
    return await _signed_request(
        request,
        node,
        addr,
        federation.ENVELOPE_MEDIA_TYPE,
        node.settings.max_envelope_bytes,
        federation.receive_envelope,
    )


@router.post("/pull")
async def serve_pull(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """Envelopes addressed to the calling partner with sequence numbers after its cursor."""
    return await _signed_request(request, node, addr, pull.JSON, 4096, pull.serve_pull)


@router.post("/receipts")
async def receipts(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """Receipts for envelopes the calling partner pulled."""
    return await _signed_request(
        request, node, addr, pull.JSON, 32 * 1024 * 1024, pull.serve_receipts
    )


@router.post("/audit/checkpoint")
async def audit_checkpoint(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """A signed checkpoint of our audit log and a consistency proof, for a witnessing partner."""
    return await _signed_request(request, node, addr, pull.JSON, 8192, witness.serve_checkpoint)


@router.post("/audit/cosignature")
async def audit_cosignature(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """A partner's cosignature of one of our checkpoints."""
    return await _signed_request(request, node, addr, pull.JSON, 8192, witness.serve_cosignature)


@router.post("/audit/reconcile")
async def audit_reconcile(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """What we hold from the calling partner and what we addressed to it, by message id."""
    return await _signed_request(request, node, addr, pull.JSON, 1024, reconcile.serve)
