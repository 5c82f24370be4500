"""Officer endpoints: log in, submit reports, follow their release and delivery, read the inbox
and review its quarantine. Reads of content pass the local access rules
(``service.reports.access``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service import identity, reports
from service.api.body import read_body
from service.api.deps import NodeDep, Officer, ReadSession, RemoteAddr, WriteSession
from service.api.schemas import (
    InboundSummary,
    LoginRequest,
    PolicyCheckOut,
    ReportSummary,
    ReviewRequest,
    SubmitResponse,
    TokenResponse,
)

router = APIRouter(prefix="/api/v1", tags=["officer"])

Page = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
STIX_BUNDLE: dict[int | str, dict[str, Any]] = {
    200: {"content": {reports.STIX_MEDIA_TYPE: {}}, "description": "the STIX bundle"}
}


@router.post("/auth/login", response_model=TokenResponse)
def login(
    body: LoginRequest, node: NodeDep, session: WriteSession, addr: RemoteAddr
) -> TokenResponse:
    """Exchange a username and password for a short-lived bearer token."""
    user = identity.attempt_login(session, node, body.username, body.password, addr)
    token, ttl = node.tokens.issue(username=user.username, role=user.role, now=node.now(),
                                   generation=user.token_generation)  # fmt: skip
    return TokenResponse(access_token=token, expires_in=ttl, role=user.role)


@router.post("/reports", response_model=SubmitResponse, status_code=201)
async def submit_report(
    request: Request,
    node: NodeDep,
    session: WriteSession,
    user: Officer,
    addr: RemoteAddr,
    to: Annotated[list[str], Query(description="partner node ids", min_length=1)],
) -> SubmitResponse:
    """Submit a STIX 2.1 bundle (the raw JSON body) for delivery to the partners in ``to``.

    Each partner's sharing policy decides what it receives: the report as submitted, a redacted
    copy, or a release held for a second officer's approval. If any policy denies the release,
    nothing is submitted: ``403 policy_denied`` with every partner's decision."""
    data = await read_body(request, node.settings.max_report_bytes)

    def work() -> SubmitResponse:
        report, validated = reports.submit_bundle(session, node, user, data, to, addr)
        node.db.after_commit(session, node.wakeup.ring)  # the worker pushes it at once
        summary = ReportSummary.of(report, node).model_dump()
        return SubmitResponse(**summary, warnings=list(validated.warnings))

    return await run_in_threadpool(work)


@router.post("/policy/check", response_model=PolicyCheckOut)
async def policy_check(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: Officer,
    addr: RemoteAddr,
    partner: Annotated[str, Query(description="the partner node id", max_length=63)],
) -> PolicyCheckOut:
    """Explain, without submitting anything: would this bundle go to ``partner``, redacted how,
    by which rule of which policy version, and what exactly would it receive (a diff)."""
    data = await read_body(request, node.settings.max_report_bytes)

    def work() -> PolicyCheckOut:
        validated = reports.validate(node, data)
        return PolicyCheckOut.of(reports.explain_outbound(session, node, user, validated, partner,
                                                          addr))  # fmt: skip

    return await run_in_threadpool(work)


@router.get("/reports", response_model=list[ReportSummary])
def list_reports(
    node: NodeDep, session: ReadSession, user: Officer, limit: Page = 100, offset: Offset = 0
) -> list[ReportSummary]:
    """Reports submitted on this node that the caller is cleared to read, newest first, with
    their release and delivery state per partner."""
    return [ReportSummary.of(r, node) for r in reports.list_own(session, user, limit, offset)]


@router.get("/reports/{report_id}", response_model=ReportSummary)
def show_report(
    report_id: str, node: NodeDep, session: ReadSession, user: Officer, addr: RemoteAddr
) -> ReportSummary:
    """A report's metadata and release and delivery state per partner (following delivery is
    not reading the report, so it is not recorded as a read; its title still needs clearance)."""
    return ReportSummary.of(reports.get_own(session, node, user, report_id, addr), node)


@router.get("/reports/{report_id}/bundle", response_class=JSONResponse, responses=STIX_BUNDLE)
def report_bundle(
    report_id: str, node: NodeDep, session: ReadSession, user: Officer, addr: RemoteAddr
) -> JSONResponse:
    """The submitted STIX bundle itself; recorded in the audit log as a read."""
    bundle = reports.read_own(session, node, user, report_id, addr)
    return JSONResponse(bundle, media_type=reports.STIX_MEDIA_TYPE)


@router.get("/inbox", response_model=list[InboundSummary])
def inbox(
    node: NodeDep,
    session: ReadSession,
    user: Officer,
    limit: Page = 100,
    offset: Offset = 0,
    status: Annotated[
        Literal["accepted", "quarantined", "rejected"],
        Query(description="accepted: the inbox; quarantined: waiting for review"),
    ] = "accepted",
) -> list[InboundSummary]:
    """Reports received from partners that the caller may read, newest first: the inbox, or
    with ``status`` the quarantine (reports the inbound policy held for review) or the rejected
    ones."""
    rows = reports.list_inbox(session, node, user, status, limit, offset)
    return [InboundSummary.of(r, node) for r in rows]


@router.get("/inbox/{inbound_id}", response_model=InboundSummary)
def show_inbound(
    inbound_id: str, node: NodeDep, session: ReadSession, user: Officer, addr: RemoteAddr
) -> InboundSummary:
    """A received report's metadata and inbound decision (no content; the title needs
    clearance)."""
    return InboundSummary.of(reports.get_inbound(session, node, user, inbound_id, addr), node)


@router.get("/inbox/{inbound_id}/bundle", response_class=JSONResponse, responses=STIX_BUNDLE)
def inbound_bundle(
    inbound_id: str, node: NodeDep, session: ReadSession, user: Officer, addr: RemoteAddr
) -> JSONResponse:
    """A received STIX bundle, after re-verifying the partner's signatures over the stored signed
    message; recorded in the audit log as a read. Quarantined reports are read this way too,
    for review."""
    bundle = reports.read_inbound(session, node, user, inbound_id, addr)
    return JSONResponse(bundle, media_type=reports.STIX_MEDIA_TYPE)


@router.post("/inbox/{inbound_id}/accept", response_model=InboundSummary)
def accept_quarantined(
    inbound_id: str,
    body: ReviewRequest,
    node: NodeDep,
    session: WriteSession,
    user: Officer,
    addr: RemoteAddr,
) -> InboundSummary:
    """Accept a quarantined report into the inbox (the officer must be able to read it)."""
    row = reports.review(session, node, user, inbound_id, accept=True, note=body.note,
                         remote_addr=addr)  # fmt: skip
    return InboundSummary.of(row, node)


@router.post("/inbox/{inbound_id}/reject", response_model=InboundSummary)
def reject_quarantined(
    inbound_id: str,
    body: ReviewRequest,
    node: NodeDep,
    session: WriteSession,
    user: Officer,
    addr: RemoteAddr,
) -> InboundSummary:
    """Reject a quarantined report: it stays stored (and receipted) but out of the inbox."""
    row = reports.review(session, node, user, inbound_id, accept=False, note=body.note,
                         remote_addr=addr)  # fmt: skip
    return InboundSummary.of(row, node)
