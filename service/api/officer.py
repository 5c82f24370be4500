"""Officer endpoints: log in, submit reports, follow their delivery, read the inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service import audit, reports, sharing, users
from service.api.body import read_body
from service.api.schemas import (
    InboundSummary,
    LoginRequest,
    ReportSummary,
    SubmitResponse,
    TokenResponse,
)
from service.deps import NodeDep, Officer, RemoteAddr
from service.errors import ServiceError

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
    """Submit a STIX 2.1 bundle (the raw JSON body) for delivery to the partners in ``to``."""
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
    """Reports submitted on this node, newest first, with their delivery state per partner."""
    with node.db.transaction() as session:
        return [ReportSummary.of(r, node) for r in reports.list_own(session, limit, offset)]


@router.get("/reports/{report_id}", response_model=ReportSummary)
def show_report(report_id: str, node: NodeDep, user: Officer) -> ReportSummary:
    """A report's metadata and delivery state per partner (no content: following delivery is
    not reading the report, so it is not recorded as a read)."""
    with node.db.transaction() as session:
        return ReportSummary.of(reports.get_own(session, report_id), node)


@router.get("/reports/{report_id}/bundle")
def report_bundle(report_id: str, node: NodeDep, user: Officer, addr: RemoteAddr) -> JSONResponse:
    """The submitted STIX bundle itself; recorded in the audit log as a read."""
    with node.db.transaction() as session:
        report = reports.get_own(session, report_id)
        bundle = reports.read_own_body(node, report)
        reports.record_read(session, node, user, "report", report.id, addr)
    return JSONResponse(bundle, media_type=STIX_JSON)


@router.get("/inbox", response_model=list[InboundSummary])
def inbox(
    node: NodeDep, user: Officer, limit: Page = 100, offset: Offset = 0
) -> list[InboundSummary]:
    """Reports received from partners, newest first."""
    with node.db.transaction() as session:
        return [InboundSummary.of(r, node) for r in reports.list_inbox(session, limit, offset)]


@router.get("/inbox/{inbound_id}", response_model=InboundSummary)
def show_inbound(inbound_id: str, node: NodeDep, user: Officer) -> InboundSummary:
    """A received report's metadata (no content)."""
    with node.db.transaction() as session:
        return InboundSummary.of(reports.get_inbound(session, inbound_id), node)


@router.get("/inbox/{inbound_id}/bundle")
def inbound_bundle(inbound_id: str, node: NodeDep, user: Officer, addr: RemoteAddr) -> JSONResponse:
    """A received STIX bundle, after re-verifying the partner's signatures over the stored signed
    message; recorded in the audit log as a read."""
    with node.db.transaction() as session:
        row = reports.get_inbound(session, inbound_id)
        bundle = reports.read_inbound_body(node, row)
        reports.record_read(session, node, user, "inbound", row.id, addr)
    return JSONResponse(bundle, media_type=STIX_JSON)
