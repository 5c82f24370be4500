"""The console's dependencies: who is calling (from the session cookie), in which language,
with which role, and whether a form that changes state really came from the console.

Transactions come from ``service.api.deps`` (``ReadSession``/``WriteSession``), exactly as for
the API; the caller is read in a transaction of its own, as ``service.api.deps.current_user``
does, so a page's own work never waits on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from service import identity
from service.api.deps import NodeDep, RemoteAddr
from service.audit import Actor, ActorType, denial
from service.console.i18n import Translator, negotiate, translator
from service.console.security import cross_site_reason, origin_of, tokens_match
from service.errors import Forbidden, Unauthenticated
from service.identity import ConsoleUser

SESSION_COOKIE = "__Host-liaison-session"
LOGIN_COOKIE = "__Host-liaison-login"
LANGUAGE_COOKIE = "__Host-liaison-language"
CSRF_FIELD = "csrf"


def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """A ``__Host-`` cookie: Secure, Path=/, no Domain; HttpOnly and SameSite=Strict."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="strict")  # fmt: skip


def forget_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


def optional_user(request: Request, node: NodeDep) -> ConsoleUser | None:
    """The caller's open session, or None when the browser holds no session cookie.

    Raises:
        Unauthenticated: a cookie whose session ended, expired or whose user is disabled
            (recorded: an ended session presented again is worth an auditor's eye).
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with node.db.read() as session:
            user = identity.resume_session(session, node, token)
    except Unauthenticated as exc:
        anonymous = Actor(ActorType.ANONYMOUS, "-", None, _addr(request))
        reason = f"{request.method} {request.url.path}: {exc.detail}"
        raise exc.recording(denial(anonymous, "auth.session", node.utcnow(), reason)) from None
    if user.needs_touch:
        with node.db.write() as session:
            identity.touch_session(session, node, user.token_hash)
    return user


def _addr(request: Request) -> str | None:
    return request.client.host if request.client else None


MaybeUser = Annotated[ConsoleUser | None, Depends(optional_user)]


def console_user(user: MaybeUser) -> ConsoleUser:
    """The caller, who must be logged in (else the error page sends them to log in)."""
    if user is None:
        raise Unauthenticated("log in to use the console", code="login_required")
    return user


PageUser = Annotated[ConsoleUser, Depends(console_user)]


def browser_language(request: Request) -> Translator:
    """The language the browser asks for: the language cookie, else ``Accept-Language``."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return translator(chosen or negotiate(request.headers.get("accept-language")))


def language(request: Request, user: MaybeUser) -> Translator:
    """The page's language: the user's own, else the browser's."""
    return translator(user.language) if user is not None else browser_language(request)


Lang = Annotated[Translator, Depends(language)]


def page_role(*roles: str) -> Callable[..., ConsoleUser]:
    """A dependency admitting only ``roles``; anyone else is refused and the refusal recorded
    (``auth.role``, as in the API)."""

    def dependency(
        request: Request, user: PageUser, node: NodeDep, addr: RemoteAddr
    ) -> ConsoleUser:
        if user.principal.role not in roles:
            reason = f"{request.method} {request.url.path} needs role {'/'.join(roles)}"
            raise Forbidden(
                f"this page needs the {' or '.join(roles)} role", code="role"
            ).recording(denial(user.principal.actor(addr), "auth.role", node.utcnow(), reason))
        return user

    return dependency


OfficerPage = Annotated[ConsoleUser, Depends(page_role("officer", "releaser"))]
ReleaserPage = Annotated[ConsoleUser, Depends(page_role("releaser"))]
ReviewerPage = Annotated[ConsoleUser, Depends(page_role("officer", "releaser", "auditor"))]
"""Who may follow release decisions (as the API's ``Reviewer``); auditors see no content."""
AuditorPage = Annotated[ConsoleUser, Depends(page_role("auditor"))]
AuditorOrAdminPage = Annotated[ConsoleUser, Depends(page_role("auditor", "admin"))]
AdminPage = Annotated[ConsoleUser, Depends(page_role("admin"))]


def same_origin(request: Request, node: NodeDep, addr: RemoteAddr) -> None:
    """Refuse (and record) a state-changing request that another site made the browser send.

    Raises:
        Forbidden: ``cross_site``.
    """
    origins = {origin_of(node.settings.public_url)}
    if host := request.headers.get("host"):
        origins.add(origin_of(f"{request.url.scheme}://{host}"))
    reason = cross_site_reason(request.method, request.headers, origins)
    if reason is not None:
        actor = Actor(ActorType.ANONYMOUS, "-", None, addr)
        raise Forbidden("cross-site request refused", code="cross_site").recording(
            denial(actor, "console.cross_site", node.utcnow(), f"{request.url.path}: {reason}")
        )


SameOrigin = Annotated[None, Depends(same_origin)]


async def form_checked(
    request: Request, user: PageUser, node: NodeDep, addr: RemoteAddr, _: SameOrigin
) -> ConsoleUser:
    """A logged-in user's form post, from the console itself, carrying the session's CSRF
    token.

    Raises:
        Forbidden: ``cross_site`` or ``csrf`` (both recorded).
    """
    # The first parse is kept for the route: sized for a report's bundle carried in a field.
    form = await request.form(
        max_files=2, max_fields=2000, max_part_size=node.settings.max_report_bytes + 65536
    )
    if not tokens_match(user.csrf_token, form.get(CSRF_FIELD)):
        raise Forbidden("the form's CSRF token is missing or wrong", code="csrf").recording(
            denial(user.principal.actor(addr), "console.csrf", node.utcnow(),
                   f"{request.method} {request.url.path}")
        )  # fmt: skip
    return user


FormUser = Annotated[ConsoleUser, Depends(form_checked)]


async def posted_form(request: Request, _: FormUser) -> FormData:
    """The checked form's fields (parsed once, by :func:`form_checked`), so that a route that
    works on them can be a plain function: FastAPI runs it in a worker thread, and its database
    work never blocks the event loop (a loop blocked on SQLite's writer lock would stall the
    request holding it)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]
