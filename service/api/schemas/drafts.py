"""Bodies of the drafts API: imported bundles waiting for an officer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.drafts import DraftView, OpenedDraft


class DraftOut(BaseModel):
    id: str
    state: str = Field(description="open, submitted or discarded")
    origin: str = Field(description="taxii:<integration> or import:<user>")
    source_format: str = Field(description="what the normaliser recognised: opencti, misp, stix")
    partner: str | None = Field(description="the API root it was posted to (TAXII drafts)")
    created_at: str
    title: str
    tlp: str | None = Field(description="its highest marking (None: nothing is marked)")
    object_count: int
    unmarked_count: int
    report_id: str | None
    reviewed_by: str | None

    @classmethod
    def of(cls, view: DraftView) -> DraftOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class ChangeOut(BaseModel):
    object_id: str | None
    kind: str
    detail: str


class DraftDetail(DraftOut):
    changes: list[ChangeOut] = Field(description="every change the normaliser made, to confirm")
    unmarked: list[str] = Field(description="objects with no TLP marking: name one on submit")

    @classmethod
    def opened(cls, draft: OpenedDraft) -> DraftDetail:
        base = DraftOut.of(draft.view).model_dump()
        return cls(**base, changes=[ChangeOut(**c) for c in draft.changes],
                   unmarked=draft.unmarked)  # fmt: skip


class DraftSubmit(BaseModel):
    to: list[str] = Field(min_length=1, max_length=50, description="partner node ids")
    mark_unmarked: str | None = Field(
        None, max_length=20, description="the TLP level the officer gives unmarked objects"
    )
    confirm_changes: bool = Field(
        False, description="the officer has seen the normaliser's changes and confirms them"
    )
