"""Pages from templates: one Jinja2 environment, autoescaped, with the console's filters.

Every page gets the frame's context (the translator ``t``, the language and direction, the
user and the session's CSRF token, the node, the navigation for the user's role); a route adds
its own values. Filters:

* ``u`` (untrusted): text from a user, a partner or a file, escaped, its bidi controls made
  visible, wrapped in ``<bdi dir="auto">`` so it never reorders the page around it;
* ``plain``: the same for places that hold text only (``<title>``, attribute values): bidi
  controls made visible, escaped by autoescaping;
* ``when``: an aware datetime as ``YYYY-MM-DD HH:MM:SS UTC`` (or an em dash);
* ``tlp``: a TLP level's CSS class (``tlp-amber-strict``); ``level`` its catalog key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from service.console.i18n import LANGUAGES, NAMES, Translator
from service.console.security import visible_controls
from service.identity import ConsoleUser
from service.node import Node

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

NAVIGATION: dict[str, tuple[tuple[str, str], ...]] = {
    "officer": (
        ("nav.reports", "/console/reports"),
        ("nav.new_report", "/console/reports/new"),
        ("nav.upload", "/console/reports/upload"),
        ("nav.drafts", "/console/drafts"),
        ("nav.inbox", "/console/inbox"),
        ("nav.quarantine", "/console/inbox?status=quarantined"),
    ),
    "auditor": (
        ("nav.audit", "/console/audit"),
        ("nav.verify", "/console/audit/verify"),
        ("nav.checkpoints", "/console/audit/checkpoints"),
        ("nav.alerts", "/console/audit/alerts"),
        ("nav.reconcile", "/console/audit/reconcile"),
    ),
    "admin": (
        ("nav.partners", "/console/admin/partners"),
        ("nav.users", "/console/admin/users"),
        ("nav.node", "/console/admin/node"),
        ("nav.checkpoints", "/console/audit/checkpoints"),
        ("nav.alerts", "/console/audit/alerts"),
    ),
}
NAVIGATION["releaser"] = (*NAVIGATION["officer"], ("nav.releases", "/console/releases"))


def untrusted(value: object) -> Markup:
    text = "" if value is None else str(value)
    return Markup('<bdi dir="auto">{}</bdi>').format(escape(visible_controls(text)))


def when(value: datetime | str | None) -> Markup:
    """A time (or its ISO 8601 text, as the service's views carry it), isolated left to right
    (on an Arabic page its parts would otherwise reorder)."""
    if value is None:
        return Markup("—")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<span dir="ltr">{}</span>').format(text)


def tlp_level(level: object) -> str:
    """A TLP level as its catalog key (``amber+strict``), from ``TLP:AMBER+STRICT``, a
    ``policies.TLP`` or the key itself."""
    text = str(getattr(level, "value", level) or "").lower()
    return text.removeprefix("tlp:") or "none"


def tlp_class(level: object) -> str:
    return "tlp-" + tlp_level(level).replace("+", "-")


POSTED_ACTIONS = ("/preview", "/submit", "/rows")


def _here(request: Request) -> str:
    """Where the language switch comes back to: this page, or for the answer to a form post
    the page of that form (a GET of a POST-only path would be a 405)."""
    path = request.url.path
    if request.method != "GET":
        for action in POSTED_ACTIONS:
            path = path.removesuffix(action)
        return path
    return path + (f"?{request.url.query}" if request.url.query else "")


def isolate(value: object) -> str:
    """Text isolated with FSI ... PDI, for places that take no markup (``<option>``): a phone
    number in an Arabic label keeps its order."""
    return "\u2068" + visible_controls("" if value is None else str(value)) + "\u2069"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["u"] = untrusted
    env.filters["plain"] = lambda value: visible_controls("" if value is None else str(value))
    env.filters["isolate"] = isolate
    env.filters["when"] = when
    env.filters["tlp"] = tlp_class
    env.filters["level"] = tlp_level
    return env


ENVIRONMENT = _environment()


def page(
    request: Request,
    template: str,
    *,
    node: Node,
    t: Translator,
    user: ConsoleUser | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """Render ``template`` with the frame's context and ``values``."""
    role = user.principal.role if user else None
    context: dict[str, Any] = {
        "t": t,
        "lang": t.language,
        "dir": t.direction,
        "languages": [(code, NAMES[code]) for code in LANGUAGES],
        "user": user,
        "csrf": user.csrf_token if user else values.pop("csrf", ""),
        "node_id": node.node_id,
        "node_name": node.settings.node_name,
        "navigation": NAVIGATION.get(role or "", ()),
        "path": request.url.path,
        "here": _here(request),
    }
    context.update(values)
    html = ENVIRONMENT.get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=headers)
