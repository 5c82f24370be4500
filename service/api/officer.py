"""Officer endpoints: log in, submit reports, follow their release and delivery, read the inbox
and review its quarantine. Reads of content pass the local access rules (``service.access``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service import access, audit, quarantine, releases, reports, sharing, users
from service.api.body import read_body
from service.api.schemas import (
    InboundSummary,
    LoginRequest,
    ReportSummary,
    ReviewRequest,
    SubmitResponse,
    TokenResponse,
)
from service.deps import NodeDep, Officer, RemoteAddr
from service.errors import NotFound, ServiceError

router = APIRouter(prefix="/api/v1", tags=["officer"])
STIX_JSON = "application/stix+json;version=2.1"

Page = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


@router.post("/auth/login", response_model=TokenResponse)
def login(body: LoginRequest, node: NodeDep, addr: RemoteAddr) -> TokenResponse:
    """Exchange a username and password for a short-lived bearer token."""
    with node.db.transaction() as session:
        outcome = users.attempt_login(session, node, body.username, body.password, addr)
    if isinstance(outcome, ServiceError):
        raise outcome
    user = outcome
    token, ttl = node.tokens.issue(username=user.username, role=user.role, now=node.now())
    return TokenResponse(access_token=token, expires_in=ttl, role=user.role)


@router.post("/reports", response_model=SubmitResponse, status_code=201)
async def submit_report(
    request: Request,
    node: NodeDep,
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
        try:
            validated = reports.validate(node, data)
            with node.db.transaction() as session:
                report = reports.submit(session, node, user, validated, to, addr)
                answer = SubmitResponse(
                    **ReportSummary.of(report, node).model_dump(), warnings=list(validated.warnings)
                )
        except ServiceError as exc:
            if isinstance(exc, releases.PolicyRefused):
                releases.record_denials(node, user, exc, addr)
            with node.db.transaction() as session:
                audit.record(
                    session,
                    actor=user.actor(addr),
                    action="report.submit",
                    outcome=audit.DENIED,
                    at=node.utcnow(),
                    reason=exc.diagnostics(),
                )
            raise
        node.wakeup.ring()
        return answer

    return await run_in_threadpool(work)


@router.post("/policy/check")
async def policy_check(
    request: Request,
    node: NodeDep,
    user: Officer,
    addr: RemoteAddr,
    partner: Annotated[str, Query(description="the partner node id", max_length=63)],
) -> dict[str, object]:
    """Explain, without submitting anything: would this bundle go to ``partner``, redacted how,
    by which rule of which policy version, and what exactly would it receive (a diff)."""
    data = await read_body(request, node.settings.max_report_bytes)

    def work() -> dict[str, object]:
        validated = reports.validate(node, data)
        explained = sharing.explain_outbound(node, user, validated, partner, addr)
        return {
            "decision": explained.record,
            "diff": explained.diff,
            "released": explained.decision.released,
        }

    return await run_in_threadpool(work)


@router.get("/reports", response_model=list[ReportSummary])
def list_reports(
    node: NodeDep, user: Officer, limit: Page = 100, offset: Offset = 0
) -> list[ReportSummary]:
    """Reports submitted on this node that the caller is cleared to read, newest first, with
    their release and delivery state per partner."""
    with node.db.transaction() as session:
        return [ReportSummary.of(r, node) for r in reports.list_own(session, user, limit, offset)]


@router.get("/reports/{report_id}", response_model=ReportSummary)
def show_report(report_id: str, node: NodeDep, user: Officer, addr: RemoteAddr) -> ReportSummary:
    """A report's metadata and release and delivery state per partner (following delivery is
    not reading the report, so it is not recorded as a read; its title still needs clearance)."""
    with node.db.transaction() as session:
        report = reports.get_own(session, report_id)
        refusal = access.read_refusal(session, node, user, reports.own_marking(report),
                                      object_type="report", object_id=report.id,
                                      remote_addr=addr)  # fmt: skip
        answer = None if refusal else ReportSummary.of(report, node)
    if refusal is not None:
        raise refusal
    assert answer is not None
    return answer


@router.get("/reports/{report_id}/bundle")
def report_bundle(report_id: str, node: NodeDep, user: Officer, addr: RemoteAddr) -> JSONResponse:
    """The submitted STIX bundle itself; recorded in the audit log as a read."""
    with node.db.transaction() as session:
        report = reports.get_own(session, report_id)
        refusal = access.read_refusal(session, node, user, reports.own_marking(report),
                                      object_type="report", object_id=report.id,
                                      remote_addr=addr)  # fmt: skip
        if refusal is None:
            bundle = reports.read_own_body(node, report)
            reports.record_read(session, node, user, "report", report.id, addr)
    if refusal is not None:
        raise refusal
    return JSONResponse(bundle, media_type=STIX_JSON)


@router.get("/inbox", response_model=list[InboundSummary])
def inbox(
    node: NodeDep,
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
    with node.db.transaction() as session:
        rows = reports.list_inbox(session, node, user, status, limit, offset)
        return [InboundSummary.of(r, node) for r in rows]


@router.get("/inbox/{inbound_id}", response_model=InboundSummary)
def show_inbound(inbound_id: str, node: NodeDep, user: Officer, addr: RemoteAddr) -> InboundSummary:
    """A received report's metadata and inbound decision (no content; the title needs
    clearance)."""
    with node.db.transaction() as session:
        row = reports.get_inbound(session, inbound_id)
        refusal = access.read_refusal(session, node, user, quarantine.marking(row),
                                      object_type="inbound", object_id=row.id,
                                      remote_addr=addr)  # fmt: skip
        answer = None if refusal else InboundSummary.of(row, node)
    if refusal is not None:
        raise refusal
    assert answer is not None
    return answer


@router.get("/inbox/{inbound_id}/bundle")
def inbound_bundle(inbound_id: str, node: NodeDep, user: Officer, addr: RemoteAddr) -> JSONResponse:
    """A received STIX bundle, after re-verifying the partner's signatures over the stored signed
    message; recorded in the audit log as a read. Quarantined reports are read this way too,
    for review."""
    with node.db.transaction() as session:
        row = reports.get_inbound(session, inbound_id)
        refusal = access.read_refusal(session, node, user, quarantine.marking(row),
                                      object_type="inbound", object_id=row.id,
                                      remote_addr=addr)  # fmt: skip
        if refusal is None:
            bundle = reports.read_inbound_body(node, row)
            reports.record_read(session, node, user, "inbound", row.id, addr)
    if refusal is not None:
        raise refusal
    return JSONResponse(bundle, media_type=STIX_JSON)


def _review(
    node: NodeDep, user: Officer, addr: RemoteAddr, inbound_id: str, body: ReviewRequest,
    accept: bool,
) -> InboundSummary:  # fmt: skip
    with node.db.transaction() as session:
        row = quarantine.lock(session, inbound_id)
        if row is None:
            raise NotFound(f"no received report {inbound_id!r}")
        error = quarantine.review(session, node, user, row, accept=accept, note=body.note,
                                  remote_addr=addr)  # fmt: skip
        answer = InboundSummary.of(row, node)
    if error is not None:
        raise error
    return answer


@router.post("/inbox/{inbound_id}/accept", response_model=InboundSummary)
def accept_quarantined(
    inbound_id: str, body: ReviewRequest, node: NodeDep, user: Officer, addr: RemoteAddr
) -> InboundSummary:
    """Accept a quarantined report into the inbox (the officer must be able to read it)."""
    return _review(node, user, addr, inbound_id, body, accept=True)


@router.post("/inbox/{inbound_id}/reject", response_model=InboundSummary)
def reject_quarantined(
    inbound_id: str, body: ReviewRequest, node: NodeDep, user: Officer, addr: RemoteAddr
) -> InboundSummary:
    """Reject a quarantined report: it stays stored (and receipted) but out of the inbox."""
    return _review(node, user, addr, inbound_id, body, accept=False)
