"""The releaser's pages: releases and their sharing decisions (the held ones first), one release
in full (every rule's verdict, every removal, and what the partner would receive), and the
two-person rule's approve and refuse.

Each route calls the service function its API route in ``service.api.releases`` calls, with the
same roles, so every decision and audit record is the API's:

* following releases (``GET /console/releases``) is open to officers, releasers and auditors
  (the API's ``Reviewer``); titles only where the API shows them (roles that read content, and
  only reports the user is cleared to);
* one release (``GET /console/releases/{report}/{partner}``) to officers and releasers, recorded
  as a read by ``reports.show``;
* approving and refusing to officers and releasers, as in the API: the service's two-person rule
  (a releaser, another person than the submitter) refuses everyone else, with its audit record,
  and its refusal is shown as an error page.

The readable diff is built here from what ``reports.show`` returned and the decision's own list
of removals (presentation only: what is released was decided by the policy engine).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from policies import ROLE_MAY_READ_CONTENT
from service import identity, reports
from service.api.deps import NodeDep, ReadSession, RemoteAddr, WriteSession
from service.api.schemas import ReleaseDetail, ReleaseOut
from service.console.deps import FormUser, Lang, OfficerPage, ReviewerPage
from service.console.render import page

router = APIRouter(prefix="/console")

PAGE = 50
StateChoice = Annotated[reports.DeliveryState | Literal["any"], Query()]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Note = Annotated[str, Form(max_length=2000)]
VALUE_SHOWN = 400
"""Characters of a removed value shown on the page (the whole bundle is further down)."""


def release_url(report_id: str, partner: str) -> str:
    return f"/console/releases/{quote(report_id, safe='')}/{quote(partner, safe='')}"


def tlp_value(label: str) -> str:
    """``TLP:AMBER+STRICT`` as the TLP 2.0 value ``amber+strict`` (for the badge's class)."""
    return label[4:].lower() if label.upper().startswith("TLP:") else label.lower()


@router.get("/releases", response_class=HTMLResponse)
def list_releases(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: ReviewerPage,
    t: Lang,
    state: StateChoice = reports.DeliveryState.HELD,
    partner: Annotated[str, Query(max_length=63)] = "",
    offset: Offset = 0,
) -> HTMLResponse:
    """Releases, newest first, the held ones unless another state is chosen; titles only where
    ``GET /api/v1/releases`` shows them."""
    chosen = None if state == "any" else reports.DeliveryState(state)
    rows = reports.list_releases(session, state=chosen, partner=partner.strip() or None,
                                 limit=PAGE + 1, offset=offset)  # fmt: skip
    content = user.principal.role in ROLE_MAY_READ_CONTENT
    shown = [
        ReleaseOut.of(d, node, with_title=content
                      and reports.may_list(node, user.principal, reports.own_marking(d.report)))
        for d in rows[:PAGE]
    ]  # fmt: skip
    filters = {"state": str(state), "partner": partner.strip()}
    return page(
        request,
        "releases/list.html",
        node=node,
        t=t,
        user=user,
        releases=shown,
        content=content,
        state=str(state),
        states=["any", *(s.value for s in reports.DeliveryState)],
        partner=partner.strip(),
        partners=[p.node_id for p in identity.list_partners(session, removed=False)],
        previous_url=_list_url(filters, offset - PAGE) if offset > 0 else None,
        next_url=_list_url(filters, offset + PAGE) if len(rows) > PAGE else None,
        release_url=release_url,
        tlp_value=tlp_value,
    )


def _list_url(filters: dict[str, str], offset: int) -> str:
    wanted = {k: v for k, v in filters.items() if v}
    return "/console/releases?" + urlencode({**wanted, "offset": max(0, offset)})


@router.get("/releases/{report_id}/{partner}", response_class=HTMLResponse)
def show_release(
    request: Request,
    report_id: str,
    partner: str,
    node: NodeDep,
    session: ReadSession,
    user: OfficerPage,
    t: Lang,
    addr: RemoteAddr,
    done: Annotated[Literal["approved", "refused"] | None, Query()] = None,
) -> HTMLResponse:
    """One release in full, recorded as a read as ``GET /api/v1/reports/{id}/releases/{p}``."""
    shown = reports.show(session, node, user.principal, report_id, partner, addr)
    detail = ReleaseDetail.of_shown(shown, node)
    return page(
        request,
        "releases/release.html",
        node=node,
        t=t,
        user=user,
        release=detail,
        objects=object_changes(shown.submitted, shown.released, detail.decision),
        diff_lines=diff_lines(detail.diff),
        released_json=None
        if shown.released is None
        else json.dumps(shown.released, indent=2, sort_keys=True, ensure_ascii=False),
        action_url=release_url(report_id, partner),
        own_report=detail.submitted_by == user.principal.username,
        releaser=user.principal.role == "releaser",
        done=done,
        tlp_value=tlp_value,
    )


@router.post("/releases/{report_id}/{partner}/approve")
def approve_release(
    report_id: str,
    partner: str,
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    _: OfficerPage,
    addr: RemoteAddr,
    note: Note = "",
) -> RedirectResponse:
    """Approve a held release, as ``POST /api/v1/reports/{id}/releases/{p}/approve``: the
    policy loaded now decides again; the two-person rule is the service's."""
    reports.approve(session, node, user.principal, report_id, partner, note.strip() or None, addr)
    node.db.after_commit(session, node.wakeup.ring)
    return RedirectResponse(release_url(report_id, partner) + "?done=approved", status_code=303)


@router.post("/releases/{report_id}/{partner}/refuse")
def refuse_release(
    report_id: str,
    partner: str,
    node: NodeDep,
    session: WriteSession,
    user: FormUser,
    _: OfficerPage,
    addr: RemoteAddr,
    note: Note = "",
) -> RedirectResponse:
    """Refuse a held release, as ``POST /api/v1/reports/{id}/releases/{p}/refuse``: it is
    withheld for good."""
    reports.refuse(session, node, user.principal, report_id, partner, note.strip() or None, addr)
    return RedirectResponse(release_url(report_id, partner) + "?done=refused", status_code=303)


# --- the readable diff --------------------------------------------------------------------------


@dataclass
class PropertyChange:
    """A property removed from a released object, with the value the submission had there."""

    path: str
    rule: str
    reason: str
    value: str


@dataclass
class ObjectChange:
    """One submitted object and what became of it: ``removed`` (with the rule and reason, or
    None when the whole release is withheld), kept with some properties or references removed,
    or kept as submitted."""

    id: str
    type: str
    name: str
    released: bool
    rule: str | None = None
    reason: str | None = None
    properties: list[PropertyChange] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    changed: bool = False


def object_changes(
    submitted: dict[str, Any], released: dict[str, Any] | None, decision: dict[str, Any]
) -> list[ObjectChange]:
    """Every submitted object, in order, with what the partner receives of it."""
    removed = decision.get("removed") or {}
    gone = {o.get("id"): o for o in removed.get("objects", []) if isinstance(o, dict)}
    kept = {
        o.get("id"): o
        for o in (released or {}).get("objects", [])
        if isinstance(o, dict) and isinstance(o.get("id"), str)
    }
    changes = []
    for obj in submitted.get("objects", []):
        if not isinstance(obj, dict):
            continue
        ident = str(obj.get("id", ""))
        change = ObjectChange(ident, str(obj.get("type", "")), _label(obj), ident in kept)
        if not change.released:
            why = gone.get(ident) or {}
            change.rule, change.reason = why.get("rule"), why.get("reason")
        else:
            change.properties = [
                PropertyChange(str(p.get("path", "")), str(p.get("rule", "")),
                               str(p.get("reason", "")), _shown(_at(obj, str(p.get("path", "")))))
                for p in removed.get("properties", [])
                if isinstance(p, dict) and p.get("object_id") == ident
            ]  # fmt: skip
            change.refs = [
                r
                for r in removed.get("refs", [])
                if isinstance(r, dict) and r.get("object_id") == ident
            ]
            change.changed = kept[ident] != obj
        changes.append(change)
    return changes


def _label(obj: dict[str, Any]) -> str:
    """What an object is called, for a person reading the list (its name, else its kind of
    relationship, else its value)."""
    for key in ("name", "relationship_type", "value"):
        if isinstance(obj.get(key), str):
            return str(obj[key])
    return ""


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _at(value: Any, path: str) -> Any:
    """The value at a dotted ``path`` with ``[n]`` indexes (``RemovedProperty.path``)."""
    for name, index in _STEP.findall(path):
        if index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif name and isinstance(value, dict) and name in value:
            value = value[name]
        else:
            return None
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN] + "…"


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """The unified diff's lines, each with its CSS class (removed, added, header or context)."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++", "@@")):
            kind = "diff-header"
        elif line.startswith("-"):
            kind = "diff-removed"
        elif line.startswith("+"):
            kind = "diff-added"
        else:
            kind = "diff-context"
        lines.append((kind, line))
    return lines
