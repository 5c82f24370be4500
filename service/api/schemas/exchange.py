"""Bodies of the courier API (docs/protocol.md section 8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.exchange import courier


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
