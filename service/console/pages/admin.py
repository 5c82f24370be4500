"""The administrator pages: the partners and how synchronisation with each stands (and the damage
report after a compromise), the users (and adding one), and this node's identity with the
fingerprint to read out and its data keys.

Each route calls the service functions of its API route in ``service.api.admin`` and
``service.api.node`` (``identity.list_partners`` with ``exchange.partner_status``, as
``liaison partner list`` and ``liaison partner status`` show them; ``identity.create_user``), so
the checks and the audit records are the API's: a user added here is recorded as ``user.add``
exactly as ``POST /api/v1/admin/users`` records it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from crypto.fingerprint import fingerprint
from policies import ROLE_MAY_READ_CONTENT, TLP
from service import exchange, identity
from service.api.deps import NodeDep, ReadSession, RemoteAddr, WriteSession
from service.audit import Actor, denial
from service.auth import ROLES
from service.console.deps import SESSION_COOKIE, AdminPage, FormUser, Lang
from service.console.i18n import Translator
from service.console.render import page
from service.errors import BadRequest, Conflict
from service.federation import PartnerClient
from service.identity import ConsoleUser
from service.keyring import key_serial, previous_signing_keys
from service.models import User
from service.node import Node

router = APIRouter(prefix="/console")

PAGE = 50
PARTNER_PAGE = 20
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
CLEARANCES = tuple(level.value for level in TLP)
DONE = ("suspended", "resumed", "removed", "repinned")
"""What a partner form did, for the notice on the page it returns to."""


def _done(node_id: str, did: str) -> Response:
    return RedirectResponse(f"/console/admin/partners?changed={quote(node_id)}&did={did}",
                            status_code=303)  # fmt: skip


@router.get("/admin/partners", response_class=HTMLResponse)
def partners(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: AdminPage,
    t: Lang,
    offset: Offset = 0,
    changed: Annotated[str | None, Query(max_length=63)] = None,
    did: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """Each pinned partner with how synchronisation stands: what we still owe it (backlog,
    oldest undelivered, last success, last error), what it sent us (gaps, last pull and its
    error), and the key we pinned; with the forms to suspend, resume, re-pin or remove it."""
    pinned = identity.list_partners(session)
    shown = [
        (p, exchange.partner_status(session, p)) for p in pinned[offset : offset + PARTNER_PAGE]
    ]
    changed_row = next((p for p in pinned if p.node_id == changed), None)
    return page(request, "admin/partners.html", node=node, t=t, user=user, partners=shown,
                offset=offset, more=len(pinned) > offset + PARTNER_PAGE,
                page_size=PARTNER_PAGE, changed=changed_row,
                did=did if did in DONE else None)  # fmt: skip


def _time(text: str, refused: Callable[[str], BadRequest]) -> datetime | None:
    """A time typed into a form (UTC unless it says otherwise); None when left empty.

    Raises:
        BadRequest: not a time (``refused`` makes it, with its audit record).
    """
    if not text.strip():
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise refused(f"{text.strip()!r} is not a time such as 2026-12-01T08:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _refusal(action: str, node: Node, actor: Actor, node_id: str) -> Callable[[str], BadRequest]:
    def refused(reason: str) -> BadRequest:
        return BadRequest(reason).recording(
            denial(actor, action, node.utcnow(), reason, object_type="partner",
                   object_id=node_id[:63])
        )  # fmt: skip

    return refused


@router.post("/admin/partners/{node_id}/suspend")
def suspend_partner(
    node_id: str, node: NodeDep, session: WriteSession, user: FormUser, _admin: AdminPage,
    addr: RemoteAddr, compromised_since: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    """Suspend a partner as ``liaison partner suspend`` does (a refusal is an error page and a
    ``partner.suspend`` denial)."""
    actor = user.principal.actor(addr)
    since = _time(compromised_since, _refusal("partner.suspend", node, actor, node_id))
    exchange.suspend_partner(session, node, node_id, actor=actor, compromised_since=since,
                             reason=reason)  # fmt: skip
    return _done(node_id, "suspended")


@router.post("/admin/partners/{node_id}/resume")
def resume_partner(
    node_id: str, node: NodeDep, session: WriteSession, user: FormUser, _admin: AdminPage,
    addr: RemoteAddr,
) -> Response:  # fmt: skip
    exchange.resume_partner(session, node, node_id, actor=user.principal.actor(addr))
    return _done(node_id, "resumed")


@router.post("/admin/partners/{node_id}/remove")
def remove_partner(
    node_id: str, node: NodeDep, session: WriteSession, user: FormUser, _admin: AdminPage,
    addr: RemoteAddr, confirm: Annotated[str, Form(max_length=63)] = "",
) -> Response:  # fmt: skip
    """Remove a partner as ``liaison partner remove --yes`` does, once its id is typed again."""
    actor = user.principal.actor(addr)
    if confirm.strip() != node_id:
        raise _refusal("partner.remove", node, actor, node_id)(
            f"type {node_id} in the box to confirm the removal"
        )
    exchange.remove_partner(session, node, node_id, actor=actor)
    return _done(node_id, "removed")


@router.post("/admin/partners/{node_id}/repin")
async def repin_partner(
    node_id: str, node: NodeDep, session: WriteSession, user: FormUser, _admin: AdminPage,
    addr: RemoteAddr, fingerprint: Annotated[str, Form(max_length=120)],
    url: Annotated[str, Form(max_length=500)],
) -> Response:  # fmt: skip
    """Pin the partner's new identity as ``liaison partner repin`` does: its key document is
    fetched from ``url`` (before the write transaction begins) and pinned only if it matches the
    fingerprint read out; a mismatch is an error page and a ``partner.repin`` denial."""
    async with PartnerClient.open(node) as client:
        document = await client.fetch_key_document(url.strip())

    def work() -> None:
        exchange.repin_partner(session, node, node_id, url=url.strip(), fingerprint=fingerprint,
                               document=document, actor=user.principal.actor(addr))  # fmt: skip

    await run_in_threadpool(work)
    return _done(node_id, "repinned")


@dataclass
class UserForm:
    """The add-a-user form as posted (never the password), with its errors by field."""

    username: str = ""
    role: str = "officer"
    clearance: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    general: str = ""
    detail: str = ""


def _users_page(
    request: Request,
    node: Node,
    session: Session,
    user: ConsoleUser,
    t: Translator,
    form: UserForm,
    *,
    offset: int = 0,
    added: str | None = None,
    changed: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    everyone: list[User] = identity.list_users(session)
    names = {u.username for u in everyone}
    target = next((u for u in everyone if u.username == changed), None)
    return page(request, "admin/users.html", node=node, t=t, user=user, status=status,
                users=everyone[offset : offset + PAGE], offset=offset, page_size=PAGE,
                more=len(everyone) > offset + PAGE, form=form, roles=ROLES,
                clearances=CLEARANCES, reads_content=ROLE_MAY_READ_CONTENT,
                default_clearance=identity.DEFAULT_CLEARANCE,
                min_length=node.password_policy.min_length,
                added=added if added in names else None,
                changed=target.username if target else None,
                changed_to="disabled" if target and target.disabled else "enabled")  # fmt: skip


@router.get("/admin/users", response_class=HTMLResponse)
def users(
    request: Request,
    node: NodeDep,
    session: ReadSession,
    user: AdminPage,
    t: Lang,
    offset: Offset = 0,
    added: Annotated[str | None, Query(max_length=64)] = None,
    changed: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """The node's users, their roles and clearances, and the form to add one."""
    return _users_page(request, node, session, user, t, UserForm(), offset=offset, added=added,
                       changed=changed)  # fmt: skip


@router.post("/admin/users/{username}/disable")
def disable_user(
    username: str, node: NodeDep, session: WriteSession, user: FormUser, _admin: AdminPage,
    addr: RemoteAddr,
) -> Response:  # fmt: skip
    """Disable an account (the API's ``POST /admin/users/NAME/disable``): its tokens and console
    sessions end at once."""
    identity.disable_user(session, node, username, user.principal.actor(addr))
    return RedirectResponse(f"/console/admin/users?changed={quote(username)}", status_code=303)


@router.post("/admin/users/{username}/enable")
def enable_user(
    username: str, node: NodeDep, session: WriteSession, user: FormUser, _admin: AdminPage,
    addr: RemoteAddr,
) -> Response:  # fmt: skip
    identity.enable_user(session, node, username, user.principal.actor(addr))
    return RedirectResponse(f"/console/admin/users?changed={quote(username)}", status_code=303)


def _form_error(exc: BadRequest | Conflict, t: Translator, min_length: int) -> tuple[str, str]:
    """The field a refusal of ``identity.create_user`` is about, and its message for a person
    (the service's own text stays on the page as the technical detail)."""
    detail = exc.detail
    if isinstance(exc, Conflict):
        return "username", t("admin.users.error.taken")
    if detail.startswith("usernames"):
        return "username", t("admin.users.error.username")
    if detail.startswith("role must"):
        return "role", t("admin.users.error.role")
    if "takes no clearance" in detail:
        return "clearance", t("admin.users.error.no_clearance")
    if detail.startswith("clearance"):
        return "clearance", t("admin.users.error.clearance")
    if detail.startswith("passwords"):
        return "password", t("admin.users.error.password", n=min_length)
    return "", t("admin.users.error.general")


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    node: NodeDep,
    session: WriteSession,
    addr: RemoteAddr,
    user: FormUser,
    _admin: AdminPage,
    t: Lang,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
    password_again: Annotated[str, Form(max_length=1024)],
    clearance: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Add a user as ``POST /api/v1/admin/users`` does; a refusal (a taken name, a weak
    password...) shows the form again with the message beside its field."""
    form = UserForm(username=username, role=role, clearance=clearance)
    if password != password_again:
        form.errors["password_again"] = t("admin.users.error.mismatch")
        return _users_page(request, node, session, user, t, form, status=400)
    try:
        identity.create_user(
            session,
            node,
            username=username,
            role=role,
            password=password,
            actor=user.principal.actor(addr),
            clearance=clearance or None,
        )
    except (BadRequest, Conflict) as exc:
        if exc.consequences:  # none today; a refusal to record goes the usual way
            raise
        # A refused name was refused by the database at flush: that transaction is unusable.
        # Nothing was written, so end it here and show the page in a fresh one.
        session.rollback()
        where, message = _form_error(exc, t, node.password_policy.min_length)
        if where:
            form.errors[where] = message
        else:
            form.general = message
        form.detail = exc.detail
        return _users_page(request, node, session, user, t, form, status=exc.status)
    return RedirectResponse(f"/console/admin/users?added={quote(username)}", status_code=303)


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f}" if minutes == int(minutes) else f"{minutes:.1f}"


@router.get("/admin/node", response_class=HTMLResponse)
def this_node(
    request: Request, node: NodeDep, session: ReadSession, user: AdminPage, t: Lang
) -> HTMLResponse:
    """What ``GET /api/v1/node`` says about the node, with its fingerprint in the groups of
    ``liaison node fingerprint`` (to read out to the partner's administrators), the serial of
    the key document it publishes, and the console's session settings."""
    public = node.identity.signing.public
    printed = fingerprint(public)
    settings = node.settings
    timing: list[tuple[str, Any]] = [
        ("admin.node.idle", _minutes(settings.console_idle_seconds)),
        ("admin.node.max", _minutes(settings.console_max_seconds)),
        ("admin.node.token_ttl", _minutes(settings.token_ttl)),
        ("admin.node.login_failures", settings.login_failures_before_delay),
        ("admin.node.min_password", node.password_policy.min_length),
    ]
    data_keys = identity.data_key_status(session, node)
    return page(request, "admin/node.html", node=node, t=t, user=user,
                public_url=settings.public_url, fingerprint=printed,
                groups=printed.split(" "), signing_key_id=public.key_id,
                key_serial=key_serial(session), timing=timing,
                cookie=SESSION_COOKIE, data_keys=data_keys,
                previous=[{"fingerprint": old["fingerprint"],
                           "retired_at": datetime.fromtimestamp(old["retired_at"], UTC)}
                          for old in previous_signing_keys(session)])  # fmt: skip


@router.get("/admin/partners/{node_id}/damage", response_class=HTMLResponse)
def partner_damage(
    request: Request, node_id: str, node: NodeDep, session: ReadSession, user: AdminPage,
    t: Lang, addr: RemoteAddr, since: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:  # fmt: skip
    """The damage report of ``liaison partner damage`` (``exchange.damage_report``, recorded as
    ``partner.damage``): what the partner's keys, copied at ``since``, could read or forge. The
    form starts from the compromise time on record, if any."""
    partner = identity.get_partner(session, node_id)
    wanted = since.strip() or (partner.compromised_since.isoformat()
                               if partner.compromised_since else "")  # fmt: skip
    report, problem = None, ""
    try:
        when = _time(wanted, BadRequest)  # a read: a mistyped time is not worth a record
    except BadRequest:
        problem = t("admin.damage.bad_time")
    else:
        if when is not None and when > node.utcnow():
            problem = t("admin.damage.future")
        elif when is not None:
            report = exchange.damage_report(session, node, node_id, when,
                                            user.principal.actor(addr))  # fmt: skip
    return page(request, "admin/damage.html", node=node, t=t, user=user, partner=partner,
                since=wanted, report=report, problem=problem)  # fmt: skip
