"""The drafts pages: uploading a file (an OpenCTI or MISP export, or any STIX 2.1 bundle), the
drafts waiting for an officer (uploads and what the home platforms posted over TAXII), and one
draft's review: what the import changed, which objects carry no marking, a preview of each
partner's copy, then submit or discard.

Each route calls the same function of ``service.drafts`` as the API's ``/api/v1/drafts``
routes, so the checks and the audit records (``draft.create``, ``draft.read``, ``draft.submit``,
``draft.discard``) are the API's. Nothing in a draft leaves the node until an officer submits it
here or with ``liaison draft submit``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import drafts
from service.api.deps import NodeDep, ReadSession, RemoteAddr, WriteSession
from service.console.deps import FormUser, Lang, OfficerPage, PostedForm
from service.console.i18n import Translator
from service.console.pages.officer import chosen_partners, partner_ids, previews
from service.console.render import page
from service.errors import BadRequest, PayloadTooLarge

router = APIRouter(prefix="/console")

LEVELS = ("clear", "green", "amber", "amber+strict", "red")
STATES = ("open", "submitted", "discarded")


@router.get("/reports/upload", response_class=HTMLResponse)
def upload_page(request: Request, node: NodeDep, user: OfficerPage, t: Lang) -> HTMLResponse:
    """Upload a file instead of writing the report in the form: it becomes a draft to review."""
    return page(request, "officer/upload.html", node=node, t=t, user=user,
                max_bytes=node.settings.max_report_bytes)  # fmt: skip


@router.post("/reports/upload")
def upload(
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    _officer: OfficerPage,
    posted: PostedForm,
    addr: RemoteAddr,
) -> Response:
    """Normalise the uploaded file into a draft (the API's ``POST /drafts``) and open it."""
    upload = posted.get("bundle_file")
    if upload is None or isinstance(upload, str):
        raise BadRequest("choose a file to upload: a STIX 2.1 bundle, or an OpenCTI or MISP export")
    data = upload.file.read(node.settings.max_report_bytes + 1)
    if len(data) > node.settings.max_report_bytes:
        raise PayloadTooLarge(
            f"the file is over the limit of {node.settings.max_report_bytes} bytes"
        )
    draft, _ = drafts.create_draft(session, node, data=data, actor=user.principal.actor(addr),
                                   origin=f"import:{user.principal.username}")  # fmt: skip
    return RedirectResponse(f"/console/drafts/{draft.id}", status_code=303)


@router.get("/drafts", response_class=HTMLResponse)
def list_page(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    state: str = "open",
) -> HTMLResponse:
    """Drafts in ``state`` (open by default), newest first, up to the officer's clearance."""
    if state not in STATES:
        raise BadRequest(f"state is one of {', '.join(STATES)}, not {state[:20]!r}")
    listed = drafts.list_drafts(session, node, user.principal, state, 200)
    return page(request, "officer/drafts.html", node=node, t=t, user=user, drafts=listed,
                state=state, states=STATES)  # fmt: skip


def _review(
    request: Request, node: NodeDep, session: Any, user: Any, t: Translator, draft_id: str,
    addr: str | None, **values: Any,
) -> HTMLResponse:  # fmt: skip
    opened = drafts.open_draft(session, node, user.principal, draft_id, addr)
    partners = partner_ids(session)
    chosen = values.pop("chosen", None) or ([opened.view.partner] if opened.view.partner else [])
    shown = {"preview": None, "warnings": (), "mark": None, "confirmed": False, **values}
    return page(request, "officer/draft.html", node=node, t=t, user=user, draft=opened,
                partners=partners, chosen=chosen, levels=LEVELS, **shown)  # fmt: skip


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def review_page(
    request: Request,
    draft_id: str,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    addr: RemoteAddr,
) -> HTMLResponse:
    """One draft: the import's changes, its unmarked objects, and the form to submit it (a read,
    recorded as ``draft.read``)."""
    return _review(request, node, session, user, t, draft_id, addr)


def _choices(posted: Any, partners: list[str]) -> tuple[list[str], str | None, bool]:
    asked = [v for v in posted.getlist("to") if isinstance(v, str)]
    chosen = chosen_partners(asked, partners)
    mark = posted.get("mark_unmarked")
    mark = mark if isinstance(mark, str) and mark else None
    return chosen, mark, posted.get("confirm") == "yes"


@router.post("/drafts/{draft_id}/preview", response_class=HTMLResponse)
def preview(
    request: Request,
    draft_id: str,
    node: NodeDep,
    session: ReadSession,
    user: FormUser,
    _officer: OfficerPage,
    posted: PostedForm,
    t: Lang,
    addr: RemoteAddr,
) -> HTMLResponse:
    """What each chosen partner would receive of the draft, marked as chosen (the API's policy
    check for each; nothing is submitted)."""
    partners = partner_ids(session)
    chosen, mark, confirmed = _choices(posted, partners)
    data = drafts.prepared_bundle(session, node, user.principal, draft_id, mark_unmarked=mark,
                                  addr=addr)  # fmt: skip
    found, warnings = previews(session, node, user, data, chosen, addr)
    return _review(request, node, session, user, t, draft_id, addr, chosen=chosen, mark=mark,
                   confirmed=confirmed, preview=found, warnings=warnings)  # fmt: skip


@router.post("/drafts/{draft_id}/submit")
def submit(
    draft_id: str,
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    _officer: OfficerPage,
    posted: PostedForm,
    addr: RemoteAddr,
) -> Response:
    """Submit the draft as the officer's report (the API's ``POST /drafts/{id}/submit``)."""
    partners = partner_ids(session)
    chosen, mark, confirmed = _choices(posted, partners)
    report, _, _ = drafts.submit_draft(
        session, node, user.principal, draft_id, chosen,
        mark_unmarked=mark, confirmed=confirmed, addr=addr,
    )  # fmt: skip
    node.db.after_commit(session, node.wakeup.ring)  # the worker pushes it at once
    return RedirectResponse(f"/console/reports/{report.id}?submitted=1", status_code=303)


@router.post("/drafts/{draft_id}/discard")
def discard(
    draft_id: str,
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    _officer: OfficerPage,
    addr: RemoteAddr,
) -> Response:
    """Close the draft without submitting it (kept, closed, for the audit trail)."""
    drafts.discard_draft(session, node, user.principal, draft_id, addr)
    return RedirectResponse("/console/drafts?state=discarded", status_code=303)
