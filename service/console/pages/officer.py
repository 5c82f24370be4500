"""The officer pages: my reports and their state per partner, writing a report in a form with a
preview of what each partner would receive, the inbox, one received report made readable, and
the quarantine's review (uploads become drafts: ``service.console.pages.drafts``).

Each route calls the same service function as its API route in ``service.api.officer``, so the
checks, the sharing decisions and the audit records are the API's: a report opened here is
recorded as a read exactly as ``GET /api/v1/inbox/{id}/bundle`` records it.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import identity, reports
from service.api.deps import NodeDep, ReadSession, RemoteAddr, WriteSession
from service.api.schemas import InboundSummary, ReportSummary
from service.console import forms
from service.console.deps import FormUser, Lang, OfficerPage, PostedForm
from service.console.render import page
from service.errors import BadRequest
from service.node import Node

router = APIRouter(prefix="/console")

PAGE = 50
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Status = Annotated[Literal["accepted", "quarantined", "rejected"], Query()]


def _author(node: Node) -> str:
    return node.settings.node_name or f"{node.node_id} liaison office"


def partner_ids(session: Any) -> list[str]:
    return [p.node_id for p in identity.list_partners(session, removed=False)]


@router.get("/reports", response_class=HTMLResponse)
def my_reports(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    offset: Offset = 0,
) -> HTMLResponse:
    """The officer's dashboard: reports submitted here (up to their clearance), newest first,
    each with its state per partner."""
    rows = reports.list_own(session, user.principal, PAGE + 1, offset)
    summaries = [ReportSummary.of(r, node) for r in rows[:PAGE]]
    return page(
        request,
        "officer/reports.html",
        node=node,
        t=t,
        user=user,
        reports=summaries,
        offset=offset,
        more=len(rows) > PAGE,
        page_size=PAGE,
    )


@router.get("/reports/new", response_class=HTMLResponse)
def new_report(
    request: Request, node: NodeDep, session: ReadSession, user: OfficerPage, t: Lang
) -> HTMLResponse:
    """The report form, empty."""
    partners = partner_ids(session)
    return _form_page(request, node, t, user, forms.new_form(partners), partners)


def _form_page(
    request: Request,
    node: Node,
    t: Any,
    user: Any,
    form: forms.ReportForm,
    partners: list[str],
    *,
    status: int = 200,
    preview: list[dict[str, Any]] | None = None,
    warnings: tuple[str, ...] = (),
) -> HTMLResponse:
    return page(
        request,
        "officer/compose.html",
        node=node,
        t=t,
        user=user,
        status=status,
        form=form,
        partners=partners,
        preview=preview,
        warnings=warnings,
        sections=forms.SECTIONS,
        choices=CHOICES,
    )


CHOICES = {
    "statuses": ("unknown", "wanted", "detained", "escaped", "released", "deceased"),
    "documents": ("passport", "national-id", "other"),
    "facilities": ("prison", "detention-centre", "camp", "checkpoint", "other"),
    "indicators": ("phone", "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256"),
    "relations": reports.RELATIONSHIP_TYPES,
    "tlp": ("clear", "green", "amber", "amber+strict", "red"),
}


@router.post("/reports/new/rows", response_class=HTMLResponse)
def more_rows(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: FormUser,
    posted: PostedForm,
    t: Lang,
) -> HTMLResponse:
    """The form as posted, with one more row in each section (no script needed)."""
    form = forms.read_form(posted, more_rows=True)
    return _form_page(request, node, t, user, form, partner_ids(session))


def _compose(node: Node, form: forms.ReportForm) -> bytes | None:
    """The form's bundle as JSON bytes, or None with the problems filed in the form."""
    draft = forms.to_draft(form)
    if draft is None:
        return None
    try:
        bundle = reports.compose(
            draft, author_name=_author(node), now=node.utcnow(), draft_id=uuid.UUID(form.draft_id)
        )
    except reports.DraftInvalid as exc:
        form.take(exc.errors)
        return None
    return json.dumps(bundle, ensure_ascii=False).encode()


def previews(
    session: Any, node: Node, user: Any, data: bytes, partners: list[str], addr: str | None
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    validated = reports.validate(node, data)
    previews = []
    for partner in partners:
        explained = reports.explain_outbound(
            session, node, user.principal, validated, partner, addr
        )
        previews.append(
            {
                "partner": partner,
                "decision": explained.decision,
                "diff": explained.diff.splitlines(),
            }
        )
    return previews, validated.warnings


@router.post("/reports/new/preview", response_class=HTMLResponse)
def preview_report(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: FormUser,
    posted: PostedForm,
    t: Lang,
    addr: RemoteAddr,
) -> HTMLResponse:
    """What each chosen partner would receive of the form's report, and why (the API's
    ``POST /policy/check`` for each; nothing is submitted)."""
    form = forms.read_form(posted)
    partners = partner_ids(session)
    data = _compose(node, form)
    if data is None:
        return _form_page(request, node, t, user, form, partners, status=422)
    chosen = chosen_partners(form.partners, partners)
    found, warnings = previews(session, node, user, data, chosen, addr)
    return _form_page(request, node, t, user, form, partners, preview=found, warnings=warnings)


def chosen_partners(asked: list[str], partners: list[str]) -> list[str]:
    if not asked:
        raise BadRequest("choose at least one partner to send the report to")
    unknown = sorted(set(asked) - set(partners))
    if unknown:
        raise BadRequest(f"no such partner: {', '.join(unknown)}")
    return list(dict.fromkeys(asked))


@router.post("/reports/new/submit")
def submit_form(
    request: Request,
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    posted: PostedForm,
    t: Lang,
    addr: RemoteAddr,
) -> Response:
    """Submit the form's report (the API's ``POST /reports``): each partner's policy decides;
    a refusal by any policy submits nothing and is shown with every decision."""
    form = forms.read_form(posted)
    already = reports.own_by_bundle(session, f"bundle--{form.draft_id}")
    if already is not None:  # the same form posted again: show the report it became
        return RedirectResponse(f"/console/reports/{already.id}?submitted=1", status_code=303)
    data = _compose(node, form)
    if data is None:
        return _form_page(request, node, t, user, form, partner_ids(session), status=422)
    return _submit(session, node, user, data, form.partners, addr)


def _submit(
    session: Any, node: Node, user: Any, data: bytes, to: list[str], addr: str | None
) -> Response:
    if not to:
        raise BadRequest("choose at least one partner to send the report to")
    report, _ = reports.submit_bundle(session, node, user.principal, data, to, addr)
    node.db.after_commit(session, node.wakeup.ring)  # the worker pushes it at once
    return RedirectResponse(f"/console/reports/{report.id}?submitted=1", status_code=303)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def my_report(
    request: Request,
    report_id: str,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    addr: RemoteAddr,
) -> HTMLResponse:
    """One report's state per partner (following delivery is not reading it: not recorded as a
    read, as in the API)."""
    summary = ReportSummary.of(
        reports.get_own(session, node, user.principal, report_id, addr), node
    )
    return page(
        request,
        "officer/report.html",
        node=node,
        t=t,
        user=user,
        report=summary,
        submitted=request.query_params.get("submitted") == "1",
        readable=None,
    )


@router.get("/reports/{report_id}/content", response_class=HTMLResponse)
def my_report_content(
    request: Request,
    report_id: str,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    addr: RemoteAddr,
) -> HTMLResponse:
    """The report's content, readable (recorded as a read, as ``GET .../bundle`` is)."""
    report, bundle = reports.open_own(session, node, user.principal, report_id, addr)
    summary = ReportSummary.of(report, node)
    return page(
        request,
        "officer/report.html",
        node=node,
        t=t,
        user=user,
        report=summary,
        submitted=False,
        readable=reports.describe(bundle),
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    status: Status = "accepted",
    offset: Offset = 0,
) -> HTMLResponse:
    """What partners sent (up to the officer's clearance), or the quarantine, or the rejected."""
    rows = reports.list_inbox(session, node, user.principal, status, PAGE + 1, offset)
    items = [InboundSummary.of(r, node) for r in rows[:PAGE]]
    return page(
        request,
        "officer/inbox.html",
        node=node,
        t=t,
        user=user,
        items=items,
        inbox_status=status,
        offset=offset,
        more=len(rows) > PAGE,
        page_size=PAGE,
    )


@router.get("/inbox/{inbound_id}", response_class=HTMLResponse)
def received(
    request: Request,
    inbound_id: str,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    addr: RemoteAddr,
) -> HTMLResponse:
    """One received report, readable, after re-verifying the partner's signatures (recorded as
    a read). A quarantined one is shown with the review form."""
    row, bundle = reports.open_inbound(session, node, user.principal, inbound_id, addr)
    item = InboundSummary.of(row, node)
    return page(
        request,
        "officer/received.html",
        node=node,
        t=t,
        user=user,
        item=item,
        readable=reports.describe(bundle),
    )


@router.post("/inbox/{inbound_id}/review")
def review(
    inbound_id: str,
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    posted: PostedForm,
    addr: RemoteAddr,
) -> Response:
    """Accept a quarantined report into the inbox, or reject it, with a note."""
    decision, note = posted.get("decision"), posted.get("note")
    if decision not in ("accept", "reject"):
        raise BadRequest("choose accept or reject")
    note_text = note.strip()[:2000] if isinstance(note, str) and note.strip() else None
    reports.review(
        session,
        node,
        user.principal,
        inbound_id,
        accept=decision == "accept",
        note=note_text,
        remote_addr=addr,
    )
    return RedirectResponse(f"/console/inbox/{inbound_id}", status_code=303)
