"""Logging in and out, and choosing the language.

Logging in is the API's login (``identity.attempt_login``: the same Argon2id check, the same
throttling, the same audit records) followed by a server-side session; the login form is
protected by a double-submit token (a random value in a ``__Host-`` cookie and in the form) and
the same-origin rule, so another site cannot log a browser in as someone else.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import identity
from service.api.deps import NodeDep, RemoteAddr, WriteSession
from service.audit import Actor, ActorType, denial
from service.console.deps import (
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    FormUser,
    Lang,
    MaybeUser,
    SameOrigin,
    forget_cookie,
    set_cookie,
)
from service.console.i18n import LANGUAGES
from service.console.login import login_form, safe_next
from service.console.security import tokens_match
from service.errors import Forbidden

router = APIRouter(prefix="/console")
LOGIN_FORM_SECONDS = 3600
YEAR = 365 * 24 * 3600


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, node: NodeDep, t: Lang, user: MaybeUser) -> Response:
    if user is not None:
        return RedirectResponse("/console/", status_code=303)
    return login_form(request, node, t)


@router.post("/login")
def login(
    request: Request,
    node: NodeDep,
    session: WriteSession,
    addr: RemoteAddr,
    _: SameOrigin,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console/",
) -> Response:
    """Check the login (throttled and audited as the API's), open a session, go on."""
    if not tokens_match(request.cookies.get(LOGIN_COOKIE), csrf):
        actor = Actor(ActorType.ANONYMOUS, "-", None, addr)
        raise Forbidden("the login form's token is missing or wrong", code="csrf").recording(
            denial(actor, "console.csrf", node.utcnow(), f"POST {request.url.path}")
        )
    user = identity.attempt_login(session, node, username.strip(), password, addr)
    opened = identity.open_session(session, node, user, addr)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, SESSION_COOKIE, opened.token, node.settings.console_max_seconds)
    forget_cookie(response, LOGIN_COOKIE)
    set_cookie(response, LANGUAGE_COOKIE, user.language, YEAR)
    return response


@router.post("/logout")
def logout(
    request: Request, node: NodeDep, session: WriteSession, addr: RemoteAddr, user: FormUser
) -> Response:
    """End the session on the server (its row is deleted), then forget the cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    identity.end_session(session, node, token, user.principal.actor(addr))
    response = RedirectResponse("/console/login?notice=ended", status_code=303)
    forget_cookie(response, SESSION_COOKIE)
    return response


async def _language_form(request: Request) -> tuple[str, str]:
    form = await request.form()
    chosen, target = form.get("language"), form.get("next")
    language = chosen if isinstance(chosen, str) and chosen in LANGUAGES else "en"
    return language, safe_next(target if isinstance(target, str) else None)


LanguageForm = Annotated[tuple[str, str], Depends(_language_form)]


@router.post("/language")
def choose_language(
    node: NodeDep, session: WriteSession, user: FormUser, choice: LanguageForm
) -> Response:
    """Keep the user's language on the account (and in a cookie for the login page)."""
    language, target = choice
    identity.set_language(session, user.principal.id, language)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, LANGUAGE_COOKIE, language, YEAR)
    return response


@router.post("/login/language")
def choose_login_language(_: SameOrigin, choice: LanguageForm) -> Response:
    """The language of the login page, before anyone is logged in (a cookie only)."""
    language, target = choice
    if not target.startswith("/console/login"):  # the login page keeps its own next
        target = f"/console/login?next={quote(target)}"
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, LANGUAGE_COOKIE, language, YEAR)
    return response
