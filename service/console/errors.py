"""Errors on console pages: the same typed errors as the API, shown as a readable page.

``service.api.problems`` stays the one place that maps errors to responses: for a path under
``/console`` it writes the refusal's audit records as always, then asks :func:`render` for the
page instead of problem+json. A request that needs a login is sent to the login page (``303``,
with where it was going); a failed login shows the login form again with the reason; anything
else is an error page in the user's language, with the service's own message as a technical
detail.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from service.console.deps import SESSION_COOKIE, browser_language, forget_cookie
from service.console.login import login_form, safe_next
from service.console.render import page
from service.console.security import PREFIX
from service.node import Node

LOGIN_PATH = PREFIX + "/login"
LOGIN_CODES = {"login_required", "session_expired"}
FORM_MESSAGES = {
    "login_failed": "login.failed",
    "login_throttled": "login.throttled",
}
MESSAGES = {
    "csrf": "error.csrf",
    "cross_site": "error.cross_site",
    "not_found": "error.not_found",
    "role": "error.role",
    "two_person": "releases.error.two_person",
    "not_held": "releases.error.not_held",
}


def handles(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def render(
    request: Request,
    node: Node,
    *,
    status: int,
    code: str,
    detail: str,
    errors: list[str] | None = None,
    reference: str | None = None,
) -> Response:
    """The console's answer to an error (see the module docstring)."""
    t = browser_language(request)  # the error may be that the session is gone
    if status == 401 and code in LOGIN_CODES:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        notice = "expired" if code == "session_expired" else ""
        target = f"{LOGIN_PATH}?next={quote(safe_next(here))}" + (
            f"&notice={notice}" if notice else ""
        )
        response: Response = RedirectResponse(target, status_code=303)
        forget_cookie(response, SESSION_COOKIE)
        return response
    if request.url.path == LOGIN_PATH and code in FORM_MESSAGES | {"csrf": "", "cross_site": ""}:
        message = FORM_MESSAGES.get(code, "login.form_expired")
        return login_form(request, node, t, status=status, message=t(message))
    if reference is not None:
        message = t("error.internal", reference=reference)
    elif code in MESSAGES:
        message = t(MESSAGES[code])
    else:
        message = ""
    heading_key = f"error.heading.{status}"
    return page(
        request,
        "error.html",
        node=node,
        t=t,
        status=status,
        heading=t(heading_key) if t.has(heading_key) else t("error.title"),
        message=message,
        detail=detail if reference is None else "",
        errors=list(errors or [])[:50],
    )
