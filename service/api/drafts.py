"""Drafts endpoints: import a file as a draft, review it (the normaliser's changes, what is still
unmarked), submit it as a report or discard it. Officers only; content up to their clearance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from service import drafts
from service.api.body import read_body
from service.api.deps import NodeDep, Officer, ReadSession, RemoteAddr, WriteSession
from service.api.schemas import DraftDetail, DraftOut, DraftSubmit, ReportSummary, SubmitResponse

router = APIRouter(prefix="/api/v1/drafts", tags=["drafts"])


@router.get("", response_model=list[DraftOut])
def list_drafts(
    node: NodeDep,
    session: ReadSession,
    user: Officer,
    state: Annotated[str, Query(pattern="^(open|submitted|discarded)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DraftOut]:
    """Drafts in ``state``, newest first, up to the officer's clearance."""
    return [DraftOut.of(v) for v in drafts.list_drafts(session, node, user, state, limit)]


@router.post("", response_model=DraftDetail, status_code=201)
async def import_file(
    request: Request, node: NodeDep, session: WriteSession, user: Officer, addr: RemoteAddr
) -> DraftDetail:
    """Import a STIX 2.1 bundle or TAXII envelope (an OpenCTI or MISP export, or plain STIX): it
    is normalised and kept as a draft, with every change listed for the officer to confirm."""
    data = await read_body(request, node.settings.max_report_bytes)

    def work() -> DraftDetail:
        row, _ = drafts.create_draft(session, node, data=data, origin=f"import:{user.username}",
                                     actor=user.actor(addr))  # fmt: skip
        return DraftDetail.opened(drafts.open_draft(session, node, user, row.id, addr))

    return await run_in_threadpool(work)


@router.get("/{draft_id}", response_model=DraftDetail)
def get_draft(
    draft_id: str, node: NodeDep, session: ReadSession, user: Officer, addr: RemoteAddr
) -> DraftDetail:
    """A draft with the normaliser's changes and the objects still unmarked (a read)."""
    return DraftDetail.opened(drafts.open_draft(session, node, user, draft_id, addr))


@router.get("/{draft_id}/bundle")
def get_draft_bundle(
    draft_id: str, node: NodeDep, session: ReadSession, user: Officer, addr: RemoteAddr
) -> dict[str, Any]:
    """The draft's bundle as normalised (a read)."""
    return drafts.open_draft(session, node, user, draft_id, addr).bundle


@router.post("/{draft_id}/submit", response_model=SubmitResponse, status_code=201)
def submit_draft(
    draft_id: str,
    body: DraftSubmit,
    node: NodeDep,
    session: WriteSession,
    user: Officer,
    addr: RemoteAddr,
) -> SubmitResponse:
    """Submit a draft as the officer's report to ``to``: unmarked objects get ``mark_unmarked``,
    and the normaliser's changes must be confirmed (``confirm_changes``)."""
    report, validated, _ = drafts.submit_draft(
        session, node, user, draft_id, body.to,
        mark_unmarked=body.mark_unmarked, confirmed=body.confirm_changes, addr=addr,
    )  # fmt: skip
    node.db.after_commit(session, node.wakeup.ring)
    summary = ReportSummary.of(report, node).model_dump()
    return SubmitResponse(**summary, warnings=list(validated.warnings))


@router.post("/{draft_id}/discard", response_model=DraftOut)
def discard_draft(
    draft_id: str, node: NodeDep, session: WriteSession, user: Officer, addr: RemoteAddr
) -> DraftOut:
    """Close a draft without submitting it."""
    return DraftOut.of(drafts.discard_draft(session, node, user, draft_id, addr))
