"""The console's headers, the same-origin rule and untrusted text, tried directly."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from service.console.security import (
    cross_site_reason,
    origin_of,
    tokens_match,
    visible_controls,
)
from tests.service.console.conftest import Browser

pytestmark = pytest.mark.anyio
OWN = {"https://iq.example", "http://iq.test"}


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),  # an old browser sends neither: the CSRF token still guards the form
        ({"sec-fetch-site": "same-origin"}, False),
        ({"sec-fetch-site": "none"}, False),  # typed into the address bar
        ({"sec-fetch-site": "same-site"}, True),  # a sibling subdomain is another site here
        ({"sec-fetch-site": "cross-site"}, True),
        ({"origin": "https://iq.example"}, False),
        ({"origin": "HTTPS://IQ.EXAMPLE"}, False),
        ({"origin": "https://iq.example.attacker.net"}, True),
        ({"origin": "null"}, True),  # a sandboxed frame or a data: URL
        ({"origin": "https://iq.example", "sec-fetch-site": "cross-site"}, True),
    ],
)
def test_the_same_origin_rule(headers, refused):
    assert (cross_site_reason("POST", Headers(headers), OWN) is not None) is refused
    assert cross_site_reason("GET", Headers(headers), OWN) is None


def test_origins_are_compared_without_paths_or_case():
    assert origin_of("HTTPS://IQ.Example:8443/liaison/") == "https://iq.example:8443"


def test_csrf_tokens_match_only_exactly():
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("abc", "")
    assert not tokens_match("", "")
    assert not tokens_match("abc", None)
    assert not tokens_match("abc", ["abc"])


def test_bidi_controls_are_made_visible_and_arabic_is_left_alone():
    assert visible_controls("\u202eevil\u2066x\u2069") == "[U+202E]evil[U+2066]x[U+2069]"
    assert visible_controls("أبو سيف") == "أبو سيف"


async def test_every_console_response_carries_the_headers(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        for path in ("/console/login", "/console/no-such-page", "/console/static/console.css"):
            r = await b.get(path)
            assert r.headers["x-frame-options"] == "DENY", path
            csp = r.headers["content-security-policy"]
            assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp, path
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"].startswith("public")  # the stylesheet only
        r = await b.get("/console/no-such-page")
        assert r.status_code == 404 and r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("text/html") and "Not found" in r.text
        r = await b.http.get("/healthz")
        assert "content-security-policy" not in r.headers  # the API is not a page


async def test_the_public_url_is_an_origin_of_its_own(nodes):
    """Behind a TLS proxy the app sees http while the browser's Origin is the public https URL."""
    iq, _ = nodes
    public = origin_of(iq.node.settings.public_url)
    async with Browser(iq) as b:
        await b.login("officer")
        r = await b.post("/console/logout", headers={"Origin": public})
        assert r.status_code == 303
