"""Administrator endpoints of the offline courier (docs/protocol.md section 8)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from service.api.body import read_body
from service.api.deps import Admin, NodeDep, RemoteAddr, WriteSession
from service.api.schemas import EnvelopesImportOut, ExportRequest, ReceiptsImportOut
from service.exchange import courier
from service.federation import wire

router = APIRouter(prefix="/api/v1/admin/courier", tags=["admin"])


@router.post(
    "/export",
    response_class=Response,
    responses={200: {"content": {wire.JSON: {}}, "description": "the envelopes file"}},
)
def export(
    body: ExportRequest, node: NodeDep, session: WriteSession, admin: Admin, addr: RemoteAddr
) -> Response:
    """The envelopes file for a partner: what it has not acknowledged, sealed, plus void seqs."""
    data = courier.export(
        session, node, body.partner, admin.actor(addr), after_seq=body.after, limit=body.limit
    )
    return Response(data, media_type=wire.JSON)


@router.post("/import", response_model=EnvelopesImportOut | ReceiptsImportOut)
async def import_file(
    request: Request, node: NodeDep, admin: Admin, addr: RemoteAddr
) -> EnvelopesImportOut | ReceiptsImportOut:
    """Apply a courier file (the body): envelopes, answered with the receipts file to carry
    back, or receipts. Each envelope is stored in a transaction of its own, as a pushed one."""
    data = await read_body(request, courier.MAX_FILE_BYTES)
    result = await run_in_threadpool(courier.import_file, node, data, admin.actor(addr))
    if isinstance(result, courier.EnvelopesImported):
        return EnvelopesImportOut.of(result)
    return ReceiptsImportOut.of(result)
