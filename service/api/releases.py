"""Release endpoints: the sharing-policy decisions on submitted reports, and the two-person rule
(a second officer with the releaser role approves or refuses a held release)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from policies import ROLE_MAY_READ_CONTENT, bundle_diff
from service import access, releases, reports
from service.api.schemas import ReleaseDetail, ReleaseOut, ReviewRequest
from service.deps import NodeDep, Officer, RemoteAddr, Reviewer
from service.errors import ServiceError
from service.models import Delivery

router = APIRouter(prefix="/api/v1", tags=["releases"])

Page = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
State = Annotated[
    str | None,
    Query(
        description="queued, sent, acknowledged, refused, held or withheld",
        pattern="^(queued|sent|acknowledged|refused|held|withheld)$",
    ),
]


@router.get("/releases", response_model=list[ReleaseOut])
def list_releases(
    node: NodeDep,
    user: Reviewer,
    state: State = None,
    partner: Annotated[str | None, Query(max_length=63)] = None,
    limit: Page = 100,
    offset: Offset = 0,
) -> list[ReleaseOut]:
    """Releases of submitted reports, newest first, with the decision that released, redacted
    or holds each (``state=held``: waiting for a releaser). Auditors see decisions and
    metadata; only officers and releasers see titles, and only of reports they are cleared to."""
    with node.db.transaction() as session:
        rows = releases.list_releases(session, state=state, partner=partner, limit=limit,
                                      offset=offset)  # fmt: skip
        content = user.role in ROLE_MAY_READ_CONTENT

        def titled(d: Delivery) -> bool:
            return content and access.may_list(node, user, reports.own_marking(d.report))

        return [ReleaseOut.of(d, node, with_title=titled(d)) for d in rows]


@router.get("/reports/{report_id}/releases/{partner}", response_model=ReleaseDetail)
def show_release(
    report_id: str, partner: str, node: NodeDep, user: Officer, addr: RemoteAddr
) -> ReleaseDetail:
    """One release in full: the decision (every rule's verdict, every removal), the diff from
    the submitted bundle to what the partner receives, and that bundle. Recorded as a read."""
    with node.db.transaction() as session:
        shown = releases.show(session, node, user, report_id, partner, addr)
        if isinstance(shown, ServiceError):
            error = shown
        else:
            error = None
            answer = _detail(shown, node)
    if error is not None:
        raise error
    return answer


def _detail(shown: releases.Shown, node: NodeDep) -> ReleaseDetail:
    d = shown.delivery
    summary = ReleaseOut.of(d, node, with_title=True)
    return ReleaseDetail(
        **summary.model_dump(),
        decision=json.loads(d.decision) if d.decision else {},
        diff=bundle_diff(shown.submitted, shown.released, tofile=f"released to {summary.partner}"),
        released=shown.released,
    )


@router.post("/reports/{report_id}/releases/{partner}/approve", response_model=ReleaseOut)
def approve_release(
    report_id: str,
    partner: str,
    body: ReviewRequest,
    node: NodeDep,
    user: Officer,
    addr: RemoteAddr,
) -> ReleaseOut:
    """Approve a held release (releaser role, not the submitter). The policy loaded now decides
    again: the release is queued with what it allows, or withheld if it now denies."""
    with node.db.transaction() as session:
        review = releases.approve(session, node, user, report_id, partner, body.note, addr)
        answer = ReleaseOut.of(review.delivery, node, with_title=True)
    if review.error is not None:
        raise review.error
    node.wakeup.ring()
    return answer


@router.post("/reports/{report_id}/releases/{partner}/refuse", response_model=ReleaseOut)
def refuse_release(
    report_id: str,
    partner: str,
    body: ReviewRequest,
    node: NodeDep,
    user: Officer,
    addr: RemoteAddr,
) -> ReleaseOut:
    """Refuse a held release (releaser role, not the submitter): it is withheld for good."""
    with node.db.transaction() as session:
        review = releases.refuse(session, node, user, report_id, partner, body.note, addr)
        answer = ReleaseOut.of(review.delivery, node, with_title=False)
    if review.error is not None:
        raise review.error
    return answer
