"""Administrator endpoints of the offline courier (docs/protocol.md section 8)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service import courier
from service.api.body import read_body
from service.deps import Admin, NodeDep, RemoteAddr

router = APIRouter(prefix="/api/v1/admin/courier", tags=["admin"])
JSON = "application/json"


class ExportRequest(BaseModel):
    partner: str = Field(min_length=1, max_length=63, description="the partner's node id")
    after: int = Field(0, ge=0, le=2**53 - 1, description="only sequence numbers above this")
    limit: int = Field(courier.DEFAULT_EXPORT_LIMIT, ge=1, le=courier.MAX_EXPORT_LIMIT)


class RefusalOut(BaseModel):
    index: int
    reason: str


class EnvelopesImportOut(BaseModel):
    kind: Literal["envelopes"] = "envelopes"
    sender: str = Field(alias="from")
    received: int
    duplicates: int
    refused: list[RefusalOut]
    receipts_file: dict[str, Any] = Field(description="the receipts file to carry back")

    @classmethod
    def of(cls, result: courier.EnvelopesImported) -> EnvelopesImportOut:
        return cls.model_validate(
            {
                "from": result.sender,
                "received": result.received,
                "duplicates": result.duplicates,
                "refused": [{"index": r.index, "reason": r.reason} for r in result.refused],
                "receipts_file": result.receipts_file.to_json(),
            }
        )


class ReceiptsImportOut(BaseModel):
    kind: Literal["receipts"] = "receipts"
    sender: str = Field(alias="from")
    accepted: int
    unknown: int
    invalid: int

    @classmethod
    def of(cls, result: courier.ReceiptsImported) -> ReceiptsImportOut:
        return cls.model_validate(
            {
                "from": result.sender,
                "accepted": result.accepted,
                "unknown": result.unknown,
                "invalid": result.invalid,
            }
        )


@router.post(
    "/export",
    response_class=Response,
    responses={200: {"content": {JSON: {}}, "description": "the envelopes file"}},
)
def export(body: ExportRequest, node: NodeDep, admin: Admin, addr: RemoteAddr) -> Response:
    """The envelopes file for a partner: what it has not acknowledged, sealed, plus void seqs."""
    data = courier.export(
        node, body.partner, admin.actor(addr), after_seq=body.after, limit=body.limit
    )
    return Response(data, media_type=JSON)


@router.post("/import", response_model=EnvelopesImportOut | ReceiptsImportOut)
async def import_file(
    request: Request, node: NodeDep, admin: Admin, addr: RemoteAddr
) -> EnvelopesImportOut | ReceiptsImportOut:
    """Apply a courier file (the body): envelopes, answered with the receipts file to carry
    back, or receipts."""
    data = await read_body(request, courier.MAX_FILE_BYTES)
    result = await run_in_threadpool(courier.import_file, node, data, admin.actor(addr))
    if isinstance(result, courier.EnvelopesImported):
        return EnvelopesImportOut.of(result)
    return ReceiptsImportOut.of(result)
