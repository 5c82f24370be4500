"""The login page and where a login leads: shared by the login routes and the error pages
(a failed login shows the form again, with the reason)."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.console.deps import LOGIN_COOKIE, set_cookie
from service.console.i18n import Translator
from service.console.render import page
from service.console.security import PREFIX
from service.node import Node

LOGIN_FORM_SECONDS = 3600


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a console path only, never another site."""
    if (
        not target
        or not target.startswith(PREFIX + "/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
    ):
        return PREFIX + "/"
    return target


def login_form(
    request: Request, node: Node, t: Translator, *, status: int = 200, message: str = ""
) -> HTMLResponse:
    """The login page, with a fresh double-submit token (also used to show a failed login)."""
    token = secrets.token_urlsafe(32)
    notice = request.query_params.get("notice")
    if not message and notice == "expired":
        message = t("login.expired")
    elif not message and notice == "ended":
        message = t("login.ended")
    response = page(
        request,
        "login.html",
        node=node,
        t=t,
        status=status,
        csrf=token,
        message=message,
        failed=status >= 400,
        next=safe_next(request.query_params.get("next") or _form_next(request)),
    )
    set_cookie(response, LOGIN_COOKIE, token, LOGIN_FORM_SECONDS)
    return response


def _form_next(request: Request) -> str | None:
    form = getattr(request, "_form", None)
    value = form.get("next") if form is not None else None
    return value if isinstance(value, str) else None
