"""The administrator pages: partners and their synchronisation, users (adding one, refusals
shown beside their field), this node's fingerprint to read out; refusals for every other role,
CSRF, hostile partner text, both languages and the security headers."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select, update

from crypto.fingerprint import fingerprint
from service.console.security import CSP
from service.models import ConsoleSession, Inbound, Partner, User
from tests.service.console.conftest import Browser
from tests.service.test_enforcement import amber_report, events, submit
from tests.twonode import PASSWORD

pytestmark = pytest.mark.anyio

PAGES = ("/console/admin/partners", "/console/admin/users", "/console/admin/node")
NEW_PASSWORD = "a long enough fictional passphrase"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> \u202eevil"


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def card_of(html: str, node_id: str) -> str:
    """The partner's card on the partners page, as text."""
    start = html.index(f"Partner {node_id}")
    end = html.find("</section>", start)
    return text_of(html[start:end])


def usernames(node) -> list[str]:
    with node.node.db.read() as s:
        return sorted(s.scalars(select(User.username)))


def session_csrf(node, username: str) -> str:
    """The CSRF token of the user's console session (whatever page their role lands on)."""
    with node.node.db.read() as s:
        return s.scalar(
            select(ConsoleSession.csrf_token).join(User).where(User.username == username)
        )


async def log_in(b: Browser, username: str) -> None:
    """Log in without opening the role's landing page (another area's)."""
    await b.get("/console/login")
    r = await b.post("/console/login", {"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text


def new_user(**values: str) -> dict[str, str]:
    form = {"username": "duty-officer-2", "role": "officer", "clearance": "amber",
            "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}  # fmt: skip
    form.update(values)
    return form


async def test_every_admin_page_renders_for_an_admin_with_the_security_headers(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        r = await b.login("admin")
        assert r.url.path == "/console/admin/partners" and r.status_code == 200
        for path in PAGES:
            r = await b.get(path)
            assert r.status_code == 200, (path, r.text)
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["content-security-policy"] == CSP
            assert r.headers["x-frame-options"] == "DENY"
            assert '<html lang="en" dir="ltr">' in r.text
            assert f'href="{path}" aria-current="page"' in r.text


async def test_the_partners_page_shows_each_partners_sync_status(pinned, clock):
    iq, sy = pinned
    iq.network.down.add(sy.host)
    for _ in range(2):
        assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()  # SY cannot be reached: both stay undelivered, with the error
    async with Browser(iq) as b:
        await b.login("admin")
        r = await b.get("/console/admin/partners")
        card = card_of(r.text, "SY")
        assert "errors" in card
        assert "Undelivered reports 2" in card
        assert "Oldest undelivered since 20" in card
        assert "Last successful delivery —" in card
        last_error = re.search(r"Last delivery error (.+?) Next sequence number", card).group(1)
        assert "unreachable" in last_error or "connect" in last_error.lower(), last_error
        assert f"Pinned fingerprint {fingerprint(sy.node.identity.signing.public)}" in card
        assert f"Endpoint {sy.url}" in card
        assert "Key document serial 1" in card

        iq.network.down.clear()
        clock.advance(iq.node.settings.retry_max_seconds + 1)  # past the retry's backoff
        await iq.deliver()
        r = await b.get("/console/admin/partners")
        card = card_of(r.text, "SY")
        assert "up to date" in card and "Undelivered reports 0" in card
        assert "acknowledged: 2" in card
        assert "Last successful delivery 20" in card and "Last delivery error none" in card
        assert "Next sequence number 3" in card


async def test_the_partners_page_shows_a_suspended_partner(pinned):
    iq, _ = pinned
    admin = await iq.login("admin")
    async with iq.client() as c:
        r = await c.post("/api/v1/admin/partners/SY/suspend", headers=admin,
                         json={"compromised_since": "2026-01-01T00:00:00Z",
                               "reason": "<b>copied</b> key file"})  # fmt: skip
        assert r.status_code == 200, r.text
    async with Browser(iq) as b:
        await b.login("admin")
        r = await b.get("/console/admin/partners")
        page = unescape(re.sub(r"<[^>]+>", " ", r.text))
    assert "suspended" in page and "Keys compromised since" in page
    assert "2026-01-01 00:00:00 UTC" in page and "nothing its keys sign is accepted" in page
    assert "<b>copied</b>" not in r.text and "&lt;b&gt;copied&lt;/b&gt;" in r.text


async def test_the_partners_page_says_when_no_partner_is_pinned(nodes):
    iq, _ = nodes
    async with Browser(iq) as b:
        await b.login("admin")
        r = await b.get("/console/admin/partners")
        assert r.status_code == 200 and "No partner is pinned yet." in r.text


async def test_hostile_partner_text_is_shown_as_text(pinned):
    iq, _ = pinned
    with iq.node.db.write() as s:
        s.execute(
            update(Partner)
            .where(Partner.node_id == "SY")
            .values(
                name=HOSTILE,
                endpoint="http://sy.test/" + HOSTILE,
                last_pull_error="pull failed: " + HOSTILE,
            )
        )
    async with Browser(iq) as b:
        await b.login("admin")
        for language in ("en", "ar"):
            if language == "ar":
                await b.post("/console/language", {"language": "ar", "next": PAGES[0]})
            r = await b.get("/console/admin/partners")
            assert r.status_code == 200
            assert "<script>" not in r.text and "<img" not in r.text
            assert "onerror=alert" in r.text  # as text, inside an escaped tag
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
            assert "\u202e" not in r.text and "[U+202E]evil" in r.text
            assert r.text.count('<bdi dir="auto">&lt;script&gt;') >= 1


async def test_an_admin_adds_a_user_who_can_then_log_in(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("admin")
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user())
        assert r.status_code == 303
        assert r.headers["location"] == "/console/admin/users?added=duty-officer-2"
        r = await b.follow(r.headers["location"])
        assert "User duty-officer-2 was added and can log in now." in r.text
        row = text_of(r.text[r.text.index("duty-officer-2") - 200 :])
        assert "duty-officer-2 officer TLP:AMBER active" in row
    [added] = [e for e in events(iq, "user.add") if e.object_id == "duty-officer-2"]
    assert (added.actor, added.role, added.outcome) == ("admin", "admin", "allowed")
    assert added.reason == "role officer, clearance TLP:AMBER"
    async with Browser(iq) as b:
        r = await b.login("duty-officer-2", NEW_PASSWORD)
        assert r.status_code == 200 and r.url.path == "/console/reports"
        assert "Signed in as duty-officer-2 (officer)" in r.text


async def test_an_auditor_added_without_clearance_reads_no_content(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("admin")
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user(username="auditor-2", role="auditor",
                                                          clearance=""))  # fmt: skip
        assert r.status_code == 303
        r = await b.follow(r.headers["location"])
        row = text_of(r.text[r.text.index(">auditor-2<") - 100 :])
        assert "auditor-2 auditor reads no content" in row


async def test_a_duplicate_username_is_refused_beside_its_field(pinned):
    iq, _ = pinned
    before = usernames(iq)
    async with Browser(iq) as b:
        await b.login("admin")
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user(username="officer"))
        assert r.status_code == 409
        assert 'id="username-error">This username is already taken.</p>' in r.text
        assert 'aria-describedby="username-help username-error" aria-invalid="true"' in r.text
        assert 'name="username" value="officer"' in r.text  # kept for correcting
        assert NEW_PASSWORD not in r.text  # the password is never sent back
        assert "user &#39;officer&#39; already exists" in r.text  # the service's own words
        # The form still works after the refusal, with the same page's token.
        r = await b.post("/console/admin/users", new_user(username="officer-3"))
        assert r.status_code == 303
    assert usernames(iq) == sorted([*before, "officer-3"])


@pytest.mark.parametrize(
    ("values", "field", "message", "status"),
    [
        ({"password": "short", "password_again": "short"}, "password",
         "The password is too weak: use at least 12 characters.", 400),
        ({"password_again": "something else entirely"}, "password_again",
         "The two passwords differ.", 400),
        ({"username": "Not A Name"}, "username", "Use 2 to 64 lower-case Latin letters", 400),
        ({"role": "auditor", "clearance": "red"}, "clearance",
         "This role reads no report content, so it takes no clearance", 400),
        ({"clearance": "purple"}, "clearance", "Choose a TLP level.", 400),
        ({"role": "superuser"}, "role", "Choose one of the roles.", 400),
    ],
)  # fmt: skip
async def test_a_refused_user_shows_the_reason_beside_the_field(
    pinned, values, field, message, status
):
    iq, _ = pinned
    before = usernames(iq)
    async with Browser(iq) as b:
        await b.login("admin")
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user(**values))
        assert r.status_code == status, r.text
        assert f'<p class="field-error" id="{field}-error">{message}' in unescape(r.text)
        assert "The user was not added." in r.text
    assert usernames(iq) == before


async def test_hostile_text_typed_into_the_form_comes_back_as_text(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("admin")
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user(username='x"><script>1</script>'))
        assert r.status_code == 400
        assert "<script>1" not in r.text
        assert 'value="x&#34;&gt;&lt;script&gt;1&lt;/script&gt;"' in r.text


async def test_the_node_page_shows_the_fingerprint_in_the_groups_of_the_cli(pinned):
    iq, _ = pinned
    printed = fingerprint(iq.node.identity.signing.public)  # what liaison node fingerprint prints
    async with Browser(iq) as b:
        await b.login("admin")
        r = await b.get("/console/admin/node")
        groups = re.findall(r'<li><span class="mono">(\d{5})</span></li>', r.text)
        assert groups == printed.split(" ") and len(groups) == 12
        assert f'<span class="mono" dir="ltr">{printed}</span>' in r.text
        text = text_of(r.text)
        assert "Node id IQ" in text and "Name Baghdad" in text
        assert f"Public URL {iq.url}" in text
        assert f"Signing key id {iq.node.identity.signing.public.key_id}" in text
        assert "Serial of the published key document 1" in text
        settings = iq.node.settings
        assert f"after this long unused (minutes) {settings.console_idle_seconds // 60}" in text
        assert f"this long after login (minutes) {settings.console_max_seconds // 60}" in text
        assert "__Host-liaison-session; Secure; HttpOnly; SameSite=Strict" in text


async def test_the_admin_pages_render_in_arabic_right_to_left(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("admin")
        await b.post("/console/language", {"language": "ar", "next": PAGES[0]})
        for path, heading in zip(PAGES, ("الشركاء", "المستخدمون", "هذه العقدة"), strict=True):
            r = await b.get(path)
            assert r.status_code == 200
            assert '<html lang="ar" dir="rtl">' in r.text and f"<h1>{heading}</h1>" in r.text
        assert '<ol class="fingerprint" dir="ltr">' in r.text
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user(username="officer"))
        assert r.status_code == 409 and "اسم المستخدم هذا مستخدَم بالفعل." in r.text


@pytest.mark.parametrize("role", ["officer", "releaser", "auditor"])
async def test_other_roles_are_refused_every_admin_page_and_it_is_recorded(pinned, role):
    iq, _ = pinned
    username = role if role != "releaser" else "desk-chief"
    if role == "releaser":
        iq.add_user(username, "releaser")
    before = len(events(iq, "auth.role"))
    async with Browser(iq) as b:
        await log_in(b, username)
        for path in PAGES:
            r = await b.get(path)
            assert r.status_code == 403, path
            assert "Your role does not allow this page or action." in r.text
            assert r.headers["cache-control"] == "no-store"
        r = await b.post("/console/admin/users", new_user(csrf=session_csrf(iq, username)))
        assert r.status_code == 403
    refused = events(iq, "auth.role")[before:]
    assert [(e.actor, e.role, e.outcome) for e in refused] == [(username, role, "denied")] * 4
    assert [e.reason for e in refused] == [
        *(f"GET {p} needs role admin" for p in PAGES),
        "POST /console/admin/users needs role admin",
    ]
    assert "duty-officer-2" not in usernames(iq)


async def test_adding_a_user_needs_the_forms_token_and_the_same_origin(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("admin")
        await b.get("/console/admin/users")
        r = await b.post("/console/admin/users", new_user(), csrf=False)
        assert r.status_code == 403 and "This form is out of date" in r.text
        r = await b.post("/console/admin/users", new_user(csrf="forged"))
        assert r.status_code == 403
        await b.get("/console/admin/users")
        r = await b.post(
            "/console/admin/users", new_user(), headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403 and "Requests from other sites are refused." in r.text
    assert len(events(iq, "console.csrf")) == 2
    assert len(events(iq, "console.cross_site")) == 1
    assert "duty-officer-2" not in usernames(iq)


async def test_without_a_session_the_admin_pages_send_the_browser_to_log_in(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        for path in PAGES:
            r = await b.get(path)
            assert r.status_code == 303
            assert r.headers["location"] == f"/console/login?next={path}"
        r = await b.http.post(
            "/console/admin/users",
            data=new_user(csrf="x"),
            headers={"Origin": b.origin, "Sec-Fetch-Site": "same-origin"},
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert "duty-officer-2" not in usernames(iq)


async def test_an_administrator_disables_and_enables_an_account_from_the_users_page(pinned):
    iq, _ = pinned
    async with Browser(iq) as officer, Browser(iq) as admin:
        await officer.login("officer")
        assert (await officer.get("/console/reports")).status_code == 200
        await admin.login("admin")
        r = await admin.get("/console/admin/users")
        assert 'action="/console/admin/users/officer/disable"' in r.text
        r = await admin.post("/console/admin/users/officer/disable", {}, csrf=False)
        assert r.status_code == 403  # no CSRF token: refused, nothing changed
        await admin.get("/console/admin/users")
        r = await admin.post("/console/admin/users/officer/disable", {})
        assert r.status_code == 303
        r = await admin.follow(r.headers["location"])
        assert "every token and console session of the account has ended" in r.text
        assert 'action="/console/admin/users/officer/enable"' in r.text
        r = await officer.get("/console/reports")  # the officer's session ended
        assert r.status_code == 303 and "/console/login" in r.headers["location"]
        r = await admin.post("/console/admin/users/officer/enable", {})
        assert r.status_code == 303
        await admin.get("/console/admin/users")
        r = await admin.post("/console/admin/users/admin/disable", {})
        assert r.status_code == 409 and "last enabled administrator" in r.text
    assert [e.outcome for e in events(iq, "user.disable")] == ["allowed", "denied"]
    assert [e.outcome for e in events(iq, "user.enable")] == ["allowed"]


async def test_the_damage_report_page_names_the_forgeries(pinned, clock):
    from tests.service.test_repin import forge, inject, new_identity
    from tests.service.test_suspension import admin_post, sy_report

    iq, sy = pinned
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    clock.advance(600)
    since = iq.node.utcnow()
    clock.advance(60)
    forged = inject(iq, forge(sy.node.identity, iq, 2))
    r = await admin_post(iq, "SY/suspend", {"compromised_since": since.isoformat()})
    assert r.status_code == 200, r.text
    fresh = new_identity(sy)
    repin = {"url": sy.url, "fingerprint": fingerprint(fresh.signing.public)}
    r = await admin_post(iq, "SY/repin", repin)
    assert r.status_code == 200, r.text
    async with Browser(iq) as b:
        await b.login("admin")
        partners = await b.get("/console/admin/partners")
        assert "Pinned before" in text_of(partners.text) and "/partners/SY/damage" in partners.text
        r = await b.get("/console/admin/partners/SY/damage")  # from the compromise on record
        page = text_of(r.text)
        assert r.status_code == 200, r.text
        assert "Damage report: SY" in page and "treat as forged" in page
        assert r.text.count('class="flagged"') == 1
        bad = await b.get("/console/admin/partners/SY/damage", params={"since": "last week"})
        assert bad.status_code == 200 and "Give a time such as" in text_of(bad.text)
        later = await b.get("/console/admin/partners/SY/damage",
                            params={"since": "2999-01-01T00:00Z"})  # fmt: skip
        assert "in the future" in text_of(later.text)
        await b.post("/console/language", {"language": "ar", "next": "/console/admin/partners"})
        arabic = await b.get("/console/admin/partners/SY/damage")
        assert '<html lang="ar" dir="rtl">' in arabic.text and "تقرير الضرر: SY" in arabic.text
    [read, *_] = [e for e in events(iq, "partner.damage") if e.outcome == "allowed"]
    assert read.actor == "admin"
    with iq.node.db.read() as s:  # the flagged row is the forgery
        assert s.get(Inbound, forged).distrusted_at is not None
    async with Browser(iq) as b:
        await log_in(b, "officer")
        assert (await b.get("/console/admin/partners/SY/damage")).status_code == 403


async def test_the_node_page_shows_the_data_keys_and_the_identities_before(pinned):
    from service.exchange.worker import resealer
    from service.keyfile import new_identity, rotate_data_key
    from tests.twonode import FAST_KDF, PASSPHRASE, restart

    iq, _ = pinned
    assert (await submit(iq, amber_report())).status_code == 201
    rotate_data_key(iq.node.settings, PASSPHRASE, now=int(iq.node.now()), kdf=FAST_KDF)
    async with iq.client() as c:
        r = await c.post("/api/v1/admin/node/reload-keys", headers=await iq.login("admin"))
        assert r.status_code == 200, r.text
    async with Browser(iq) as b:
        await b.login("admin")
        page = text_of((await b.get("/console/admin/node")).text)
        assert "Sealing with 2" in page and "under way" in page and "under key 1" in page
        while resealer(iq.node).run_once():
            pass
        page = text_of((await b.get("/console/admin/node")).text)
        assert "done: nothing stored needs an older key" in page
        assert "liaison node retire-data-keys" in page
    old = fingerprint(iq.node.identity.signing.public)
    new_identity(iq.node.settings, PASSPHRASE, now=int(iq.node.now()), kdf=FAST_KDF)
    restart(iq)
    async with Browser(iq) as b:
        await b.login("admin")
        page = text_of((await b.get("/console/admin/node")).text)
    assert "Fingerprints before" in page and old in page


async def test_an_administrator_suspends_resumes_and_removes_a_partner_from_the_console(pinned):
    iq, _ = pinned
    async with Browser(iq) as admin:
        await admin.login("admin")
        r = await admin.get("/console/admin/partners")
        assert 'action="/console/admin/partners/SY/suspend"' in r.text
        r = await admin.post("/console/admin/partners/SY/suspend", {"reason": "x"}, csrf=False)
        assert r.status_code == 403  # no CSRF token: refused, nothing changed
        await admin.get("/console/admin/partners")
        bad = await admin.post("/console/admin/partners/SY/suspend",
                               {"compromised_since": "last tuesday", "reason": "x"})  # fmt: skip
        assert bad.status_code == 400 and "is not a time such as" in text_of(bad.text)
        await admin.get("/console/admin/partners")
        form = {"compromised_since": "2026-01-01T00:00", "reason": "a copied key"}
        r = await admin.post("/console/admin/partners/SY/suspend", form)
        assert r.status_code == 303
        r = await admin.follow(r.headers["location"])
        assert "SY is suspended." in text_of(r.text) and "2026-01-01 00:00:00 UTC" in r.text
        assert 'action="/console/admin/partners/SY/resume"' in r.text
        r = await admin.post("/console/admin/partners/SY/resume", {})
        assert r.status_code == 303
        r = await admin.follow(r.headers["location"])
        assert "SY is active again." in text_of(r.text)
        unconfirmed = await admin.post("/console/admin/partners/SY/remove", {"confirm": "IQ"})
        assert unconfirmed.status_code == 400 and "type SY in the box" in text_of(unconfirmed.text)
        await admin.get("/console/admin/partners")
        r = await admin.post("/console/admin/partners/SY/remove", {"confirm": "SY"})
        assert r.status_code == 303
        r = await admin.follow(r.headers["location"])
        assert "SY was removed." in text_of(r.text) and "/partners/SY/remove" not in r.text
    assert [e.outcome for e in events(iq, "partner.suspend")] == ["denied", "allowed"]
    assert [e.outcome for e in events(iq, "partner.remove")] == ["denied", "allowed"]
    assert [e.actor for e in events(iq, "partner.resume")] == ["admin"]


async def test_an_administrator_repins_a_partners_new_identity_from_the_console(pinned):
    from tests.service.test_repin import new_identity
    from tests.service.test_suspension import admin_post

    iq, sy = pinned
    old = fingerprint(sy.node.identity.signing.public)
    assert (await admin_post(iq, "SY/suspend", {"reason": "copied key file"})).status_code == 200
    fresh = fingerprint(new_identity(sy).signing.public)
    async with Browser(iq) as admin:
        await admin.login("admin")
        r = await admin.get("/console/admin/partners")
        assert 'action="/console/admin/partners/SY/repin"' in r.text
        assert f'name="url" type="url" dir="ltr" required value="{sy.url}"' in r.text
        wrong = await admin.post("/console/admin/partners/SY/repin",
                                 {"fingerprint": old, "url": sy.url})  # fmt: skip
        assert wrong.status_code == 422 and "was NOT pinned" in text_of(wrong.text)
        await admin.get("/console/admin/partners")
        r = await admin.post(
            "/console/admin/partners/SY/repin", {"fingerprint": fresh, "url": sy.url}
        )
        assert r.status_code == 303, r.text
        r = await admin.follow(r.headers["location"])
        card = card_of(r.text, "SY")
    assert "pinned to its new identity" in text_of(r.text)
    assert fresh in card and f"Pinned before {old}" in card
    assert [e.outcome for e in events(iq, "partner.repin")] == ["denied", "allowed"]
