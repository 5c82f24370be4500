"""Partner-facing endpoints: the signed key document and envelope delivery."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from crypto.httpsig import HttpRequestParts
from service import federation
from service.api.body import read_body
from service.deps import NodeDep, RemoteAddr
from service.errors import BadRequest

router = APIRouter(prefix="/federation/v1", tags=["federation"])


@router.get("/key-document")
def key_document(node: NodeDep) -> Response:
    """This node's signed key document (docs/protocol.md section 2)."""
    return Response(node.key_document, media_type="application/json")


@router.post("/envelopes")
async def receive(request: Request, node: NodeDep, addr: RemoteAddr) -> Response:
    """Accept an envelope from a pinned partner and answer with a signed receipt."""
    if (
        request.headers.get("content-type", "").split(";")[0].strip()
        != federation.ENVELOPE_MEDIA_TYPE
    ):
        raise BadRequest(f"send envelopes as {federation.ENVELOPE_MEDIA_TYPE}")
    body = await read_body(request, node.settings.max_envelope_bytes)
    # @target-uri is rebuilt from our configured public URL, never from the Host header.
    target = node.settings.public_url + request.url.path
    if request.url.query:
        target += "?" + request.url.query
    parts = HttpRequestParts(request.method, target, dict(request.headers), body)
    answer = await run_in_threadpool(federation.receive_envelope, node, parts, addr)
    return Response(answer.body, headers=answer.headers)
