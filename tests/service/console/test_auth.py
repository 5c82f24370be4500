"""Logging in and out of the console: server-side sessions, cookies, CSRF, the same-origin
rule, throttling and timeouts, each refusal audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.models import AuditEvent, ConsoleSession
from tests.service.console.conftest import Browser
from tests.twonode import PASSWORD

pytestmark = pytest.mark.anyio


def events(node, action):
    with node.node.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def sessions(node) -> int:
    with node.node.db.read() as s:
        return s.scalar(select(func.count()).select_from(ConsoleSession))


async def test_a_page_without_a_session_sends_the_browser_to_log_in(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        r = await b.get("/console/inbox?status=quarantined")
        assert r.status_code == 303
        assert r.headers["location"] == (
            "/console/login?next=/console/inbox%3Fstatus%3Dquarantined"
        )


async def test_login_opens_a_server_side_session_in_a_host_cookie(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.get("/console/login")
        r = await b.post("/console/login", {"username": "officer", "password": PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/console/"
        cookie = next(
            v
            for k, v in r.headers.multi_items()
            if k == "set-cookie" and v.startswith("__Host-liaison-session=")
        )
        attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "secure", "path=/", "samesite=strict"} <= attrs
        assert not any(a.startswith("domain") for a in attrs)
        token = cookie.split(";")[0].split("=", 1)[1]
        with iq.node.db.read() as s:
            stored = s.scalars(select(ConsoleSession.token_hash)).all()
        assert stored and token not in stored  # only its digest is kept
        r = await b.follow("/console/")
        assert r.status_code == 200 and "officer" in r.text
    assert [e.outcome for e in events(iq, "auth.login")] == ["allowed"]


async def test_a_wrong_password_shows_the_form_again_and_is_recorded(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.get("/console/login")
        r = await b.post("/console/login", {"username": "officer", "password": "not the password"})
        assert r.status_code == 401
        assert "Wrong username or password." in r.text and 'name="password"' in r.text
    assert [e.outcome for e in events(iq, "auth.login")] == ["denied"]
    assert sessions(iq) == 0


async def test_login_is_throttled_like_the_api(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        for _ in range(iq.node.settings.login_failures_before_delay + 1):
            await b.get("/console/login")
            r = await b.post("/console/login", {"username": "officer", "password": "wrong!"})
        await b.get("/console/login")
        r = await b.post("/console/login", {"username": "officer", "password": PASSWORD})
        assert r.status_code == 429 and "Too many failed logins" in r.text


async def test_login_without_the_forms_token_is_refused(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.get("/console/login")
        r = await b.post(
            "/console/login", {"username": "officer", "password": PASSWORD, "csrf": "forged"}
        )
        assert r.status_code == 403
    assert events(iq, "console.csrf")[0].outcome == "denied"
    assert sessions(iq) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
    ],
)
async def test_a_cross_site_post_is_refused_and_recorded(nodes, headers):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.login("officer")
        r = await b.post("/console/logout", headers=headers)
        assert r.status_code == 403
        assert "Requests from other sites are refused." in r.text
    assert events(iq, "console.cross_site")
    assert sessions(iq) == 1  # the forged logout did nothing


async def test_a_post_without_the_sessions_csrf_token_is_refused(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.login("officer")
        r = await b.post("/console/logout", {"csrf": "x" * 43})
        assert r.status_code == 403 and "out of date" in r.text
        r = await b.post("/console/logout", csrf=False)
        assert r.status_code == 403
    assert len(events(iq, "console.csrf")) == 2
    assert sessions(iq) == 1


async def test_logout_ends_the_session_on_the_server(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.login("officer")
        cookie = b.http.cookies.get("__Host-liaison-session")
        r = await b.post("/console/logout")
        assert r.status_code == 303 and sessions(iq) == 0
        b.http.cookies.set("__Host-liaison-session", cookie, domain=iq.host)  # a stolen copy
        r = await b.get("/console/reports")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert [e.outcome for e in events(iq, "auth.logout")] == ["allowed"]
    assert events(iq, "auth.session")[0].outcome == "denied"


async def test_sessions_end_when_idle_and_after_their_lifetime(nodes, clock):
    iq, _ = nodes
    settings = iq.node.settings
    async with Browser(iq) as b:
        await b.login("officer")
        clock.advance(settings.console_idle_seconds + 1)
        r = await b.get("/console/reports")
        assert r.status_code == 303 and "notice=expired" in r.headers["location"]
    async with Browser(iq) as b:
        await b.login("officer")
        for _ in range(settings.console_max_seconds // (settings.console_idle_seconds - 61) + 1):
            clock.advance(settings.console_idle_seconds - 61)  # never idle for long
            r = await b.get("/console/reports")
            if r.status_code == 303:
                break
        assert r.status_code == 303 and "notice=expired" in r.headers["location"]


async def test_a_disabled_user_is_logged_out_at_the_next_page(nodes):
    iq, _ = nodes
    from sqlalchemy import update

    from service.models import User

    async with Browser(iq) as b:
        await b.login("officer")
        with iq.node.db.write() as s:
            s.execute(update(User).where(User.username == "officer").values(disabled=True))
        r = await b.get("/console/reports")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


async def test_after_login_the_browser_goes_where_it_was_going_but_never_off_site(nodes):
    iq, _ = nodes
    for target, expected in (
        ("/console/inbox", "/console/inbox"),
        ("https://attacker.example/", "/console/"),
        ("//attacker.example/", "/console/"),
        ("/console/\\\\attacker", "/console/"),
    ):
        async with Browser(iq) as b:
            await b.get("/console/login")
            r = await b.post(
                "/console/login", {"username": "officer", "next": target, "password": PASSWORD}
            )
            assert r.headers["location"] == expected


async def test_each_role_lands_on_its_own_page(nodes):
    iq, _ = nodes
    iq.add_user("releaser", "releaser")
    for user, page in (
        ("officer", "/console/reports"),
        ("releaser", "/console/reports"),
        ("auditor", "/console/audit"),
        ("admin", "/console/admin/partners"),
    ):
        async with Browser(iq) as b:
            await b.get("/console/login")
            r = await b.post("/console/login", {"username": user, "password": PASSWORD})
            r = await b.get("/console/")
            assert r.headers["location"] == page
