"""What protects the console beyond logging in: response headers, the same-origin rule for
anything that changes state, CSRF tokens, and showing untrusted text as text.

* **Headers** on every response under ``/console/`` (pages, errors, static files): a
  Content-Security-Policy that allows no script at all (``script-src 'none'``: the console is
  plain HTML forms), styles and images only from the node itself, forms posting only to it
  (``form-action 'self'``), no framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``),
  ``nosniff``, a referrer only within the console (``same-origin``: with ``no-referrer``
  Chromium sends ``Origin: null`` on form posts, which the same-origin rule must refuse),
  ``Cache-Control: no-store`` (pages hold report content; the shared stylesheet may be cached)
  and a restrictive ``Permissions-Policy``.
* **Same origin** (:func:`cross_site_reason`): a request that changes state is refused when the
  browser says it came from another site (``Sec-Fetch-Site`` other than ``same-origin`` or
  ``none``) or its ``Origin`` is not the console's own. Browsers set both on every POST, and a
  page elsewhere cannot forge them.
* **CSRF tokens**: every form carries the session's token (``service.identity.sessions``), the
  login form a random value also set in a ``__Host-`` cookie (double submit); compared in
  constant time. With ``SameSite=Strict`` cookies this is defence in depth, as OWASP advises.
* **Untrusted text** (:func:`visible_controls`): Jinja2 autoescaping makes markup text; Unicode
  bidirectional embeddings, overrides and isolates (the "Trojan Source" characters, which can
  make a name or an indicator read differently from what it is) are shown as visible ``[U+202E]``
  marks instead of being obeyed, and every such value is isolated with ``dir="auto"``.
"""

from __future__ import annotations

import hmac
import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE_VALUES = frozenset({"same-origin", "none"})


class ConsoleHeaders:
    """ASGI middleware: the console's security headers on every response under ``/console``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(PREFIX + "/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in HEADERS} | {b"cache-control"}
                ]
                headers.extend(HEADERS)
                headers.append(
                    (b"cache-control", b"public, max-age=3600" if static else b"no-store")
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_of(url: str) -> str:
    """The origin (scheme://host[:port]) of a URL, lower-cased."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


def cross_site_reason(method: str, headers: Headers, origins: set[str]) -> str | None:
    """Why a state-changing request looks cross-site (for the audit record), or None.

    ``origins`` are the console's own: the one the request itself names (scheme and ``Host``)
    and the node's ``public_url`` (what a browser sends behind a TLS-terminating proxy)."""
    if method in SAFE_METHODS:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in SAME_SITE_VALUES:
        return f"Sec-Fetch-Site: {fetch_site[:40]}"
    sent_origin = headers.get("origin")
    if sent_origin is not None and sent_origin.lower() not in origins:
        return f"Origin {sent_origin[:100]!r} is not one of {sorted(origins)}"
    return None


def tokens_match(expected: str | None, given: object) -> bool:
    """Constant-time comparison of a CSRF token; a missing or non-text one never matches."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    """``text`` with bidirectional embedding, override and isolate characters made visible."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
