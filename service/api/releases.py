"""Release endpoints: the sharing-policy decisions on submitted reports, and the two-person rule
(a second officer with the releaser role approves or refuses a held release)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from policies import ROLE_MAY_READ_CONTENT
from service import reports
from service.api.deps import NodeDep, Officer, ReadSession, RemoteAddr, Reviewer, WriteSession
from service.api.schemas import ReleaseDetail, ReleaseOut, ReviewRequest

router = APIRouter(prefix="/api/v1", tags=["releases"])

Page = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
State = Annotated[
    reports.DeliveryState | None,
    Query(description="queued, sent, acknowledged, refused, held or withheld"),
]


@router.get("/releases", response_model=list[ReleaseOut])
def list_releases(
    node: NodeDep,
    session: ReadSession,
    user: Reviewer,
    state: State = None,
    partner: Annotated[str | None, Query(max_length=63)] = None,
    limit: Page = 100,
    offset: Offset = 0,
) -> list[ReleaseOut]:
    """Releases of submitted reports, newest first, with the decision that released, redacted
    or holds each (``state=held``: waiting for a releaser). Auditors see decisions and
    metadata; only officers and releasers see titles, and only of reports they are cleared to."""
    rows = reports.list_releases(session, state=state, partner=partner, limit=limit,
                                 offset=offset)  # fmt: skip
    content = user.role in ROLE_MAY_READ_CONTENT
    return [
        ReleaseOut.of(d, node, with_title=content
                      and reports.may_list(node, user, reports.own_marking(d.report)))
        for d in rows
    ]  # fmt: skip


@router.get("/reports/{report_id}/releases/{partner}", response_model=ReleaseDetail)
def show_release(
    report_id: str,
    partner: str,
    node: NodeDep,
    session: ReadSession,
    user: Officer,
    addr: RemoteAddr,
) -> ReleaseDetail:
    """One release in full: the decision (every rule's verdict, every removal), the diff from
    the submitted bundle to what the partner receives, and that bundle. Recorded as a read."""
    return ReleaseDetail.of_shown(reports.show(session, node, user, report_id, partner, addr), node)


@router.post("/reports/{report_id}/releases/{partner}/approve", response_model=ReleaseOut)
def approve_release(
    report_id: str,
    partner: str,
    body: ReviewRequest,
    node: NodeDep,
    session: WriteSession,
    user: Officer,
    addr: RemoteAddr,
) -> ReleaseOut:
    """Approve a held release (releaser role, not the submitter). The policy loaded now decides
    again: the release is queued with what it allows, or withheld if it now denies."""
    delivery = reports.approve(session, node, user, report_id, partner, body.note, addr)
    node.db.after_commit(session, node.wakeup.ring)
    return ReleaseOut.of(delivery, node, with_title=True)


@router.post("/reports/{report_id}/releases/{partner}/refuse", response_model=ReleaseOut)
def refuse_release(
    report_id: str,
    partner: str,
    body: ReviewRequest,
    node: NodeDep,
    session: WriteSession,
    user: Officer,
    addr: RemoteAddr,
) -> ReleaseOut:
    """Refuse a held release (releaser role, not the submitter): it is withheld for good."""
    delivery = reports.refuse(session, node, user, report_id, partner, body.note, addr)
    return ReleaseOut.of(delivery, node, with_title=False)
