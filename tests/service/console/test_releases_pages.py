"""The releaser's pages: held releases, one release with every verdict, every removal and what
the partner would receive, approving and refusing with a note under the two-person rule; who may
follow releases (officers, releasers, auditors without titles) and who is refused, CSRF, hostile
report text, both languages and the security headers.

Each case runs two real nodes (SQLite and PostgreSQL); the audit records and what the partner
node receives are checked as the API's own tests check them."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from service.console.pages import releases as pages
from service.console.security import CSP
from service.models import Delivery
from tests.policies.stixgen import (
    bundle,
    identity,
    indicator,
    intrusion_set,
    note,
    relationship,
    tlp_definition,
)
from tests.service.console.conftest import Browser
from tests.service.test_enforcement import events, received, submit, use_policy
from tests.twonode import PASSWORD

pytestmark = pytest.mark.anyio

HOLD_AND_REDACT = (
    'max_tlp = "amber+strict"\ntwo_person_min_tlp = "amber"\n'
    '[outbound.redact]\nproperty_prefixes = ["x_source_"]\nidentity_classes = ["individual"]'
)
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\u202eevil"


def amber_report(cell_name: str = "Cell 3 (fictional)") -> dict[str, Any]:
    """``test_enforcement``'s report, built afresh (its module-level objects are shared)."""
    cell = {**intrusion_set(3), "name": cell_name}
    relay = indicator(1, x_source_handler="fictional handler K-9")
    source = identity(7, "individual", x_source_reliability="B")
    return bundle(
        tlp_definition("amber"),
        cell,
        relay,
        relationship(20, relay["id"], cell["id"], "indicates"),
        source,
        relationship(21, source["id"], cell["id"], "related-to"),
        note(30, [cell["id"]]),
    )


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def log_in(b: Browser, username: str) -> None:
    """Log in without opening the role's landing page (another area's)."""
    await b.get("/console/login")
    r = await b.post("/console/login", {"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text


async def held(iq, report: dict[str, Any] | None = None, user: str = "officer") -> str:
    """A report submitted by ``user`` whose release to SY is held (and, once approved, redacted:
    the source's identity and what points at it removed, and a source property)."""
    use_policy(iq, "SY", HOLD_AND_REDACT)
    r = await submit(iq, report or amber_report(), user=user)
    assert r.status_code == 201, r.text
    assert r.json()["deliveries"][0]["state"] == "held"
    return str(r.json()["id"])


def delivery_state(node) -> str:
    with node.node.db.read() as s:
        return s.scalars(select(Delivery)).one().state


def release_path(report_id: str) -> str:
    return f"/console/releases/{report_id}/SY"


async def test_a_releaser_reads_the_held_release_and_approves_it_with_a_note(pinned):
    iq, sy = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        r = await b.get("/console/releases")  # the held ones by default
        assert r.status_code == 200
        assert "Cell 3 (fictional)" in r.text and f'href="{release_path(report_id)}"' in r.text
        assert "held for a releaser" in r.text

        r = await b.get(release_path(report_id))
        assert r.status_code == 200
        page = text_of(r.text)
        # The decision: every rule's verdict, and what approval turns it into.
        for rule in ("outbound.tearline", "outbound.max_tlp", "outbound.redact",
                     "outbound.two_person"):  # fmt: skip
            assert rule in page
        assert "once approved: redacted" in page
        # Every removal, highlighted; the removed value shown to the releaser.
        assert r.text.count('class="diff-removed"') >= 3
        assert "identities of class individual are redacted (sources)" in page
        assert re.search(r'x_source_handler\s*:\s*"fictional handler K-9"', page)
        # The line diff and the released bundle, left to right.
        assert '<pre dir="ltr" class="diff">' in r.text
        released = r.text.split("The bundle SY would receive", 1)[1]
        assert '<pre dir="ltr">' in released and "fictional handler K-9" not in released
        assert "Relay domain 1 (fictional)" in released
        [read] = events(iq, "report.read")
        assert (read.actor, read.object_type) == ("releaser", "delivery")  # as the API's

        r = await b.post(f"{release_path(report_id)}/approve", {"note": "checked with the desk"})
        assert r.status_code == 303
        assert r.headers["location"] == f"{release_path(report_id)}?done=approved"
        r = await b.get(r.headers["location"])
        assert "Approved." in r.text and "queued" in r.text and "checked with the desk" in r.text
    [approval] = [e for e in events(iq, "release.approve") if e.outcome == "allowed"]
    assert approval.actor == "releaser" and approval.policy_version is not None
    await iq.deliver()
    [(_row, got)] = received(sy)
    assert "x_source_handler" not in str(got)


async def test_a_refused_release_is_withheld_with_its_note(pinned):
    iq, sy = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        await b.get(release_path(report_id))
        r = await b.post(f"{release_path(report_id)}/refuse", {"note": "source at risk"})
        assert r.status_code == 303 and r.headers["location"].endswith("?done=refused")
        r = await b.get(r.headers["location"])
        assert "Refused." in r.text and "withheld" in r.text
        assert "Nothing of this report is released to the partner." in r.text
        assert "Approve the release" not in r.text  # no longer held
        r = await b.get("/console/releases?state=withheld")
        assert "Cell 3 (fictional)" in r.text
    [refusal] = events(iq, "release.refuse")
    assert refusal.outcome == "allowed" and "source at risk" in (refusal.reason or "")
    assert delivery_state(iq) == "withheld"
    await iq.deliver()
    assert received(sy) == []


async def test_the_submitter_cannot_approve_their_own_report(pinned):
    iq, _ = pinned
    iq.add_user("alice", "releaser")
    report_id = await held(iq, user="alice")
    async with Browser(iq) as b:
        await log_in(b, "alice")
        r = await b.get(release_path(report_id))
        assert "You submitted this report" in r.text
        r = await b.post(f"{release_path(report_id)}/approve", {"note": "mine"})
        assert r.status_code == 403
        assert "Not allowed" in r.text
        assert "the second officer must be another person than the submitter" in text_of(r.text)
    [refusal] = events(iq, "release.approve")
    assert (refusal.outcome, refusal.actor) == ("denied", "alice")
    assert delivery_state(iq) == "held"


async def test_approving_twice_is_a_conflict_not_a_second_delivery(pinned):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        await b.get(release_path(report_id))
        assert (await b.post(f"{release_path(report_id)}/approve")).status_code == 303
        r = await b.post(f"{release_path(report_id)}/approve")
        assert r.status_code == 409 and "not held for approval" in text_of(r.text)


async def test_an_officer_follows_releases_but_the_two_person_rule_refuses_them(pinned):
    iq, _ = pinned
    iq.add_user("colleague", "officer")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "colleague")
        r = await b.get("/console/releases")
        assert r.status_code == 200 and "Cell 3 (fictional)" in r.text
        r = await b.get(release_path(report_id))
        assert r.status_code == 200
        assert "Only an officer with the releaser role" in r.text
        assert "Approve the release" not in r.text
        r = await b.post(f"{release_path(report_id)}/approve")  # as the API: the service refuses
        assert r.status_code == 403
    [refusal] = events(iq, "release.approve")
    assert (refusal.outcome, refusal.actor) == ("denied", "colleague")
    assert delivery_state(iq) == "held"


async def test_an_auditor_follows_releases_without_titles_and_is_refused_the_rest(pinned):
    iq, _ = pinned
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "auditor")
        r = await b.get("/console/releases")
        assert r.status_code == 200
        assert "outbound.two_person" in r.text and report_id in r.text
        assert "Cell 3 (fictional)" not in r.text and release_path(report_id) not in r.text
        assert "not the reports' titles or content" in unescape(r.text)
        token = b.csrf
        r = await b.get(release_path(report_id))
        assert r.status_code == 403 and "Your role does not allow" in r.text
        for action in ("approve", "refuse"):
            r = await b.post(f"{release_path(report_id)}/{action}", {"note": "x", "csrf": token})
            assert r.status_code == 403
    refusals = events(iq, "auth.role")
    assert len(refusals) == 3 and {e.actor for e in refusals} == {"auditor"}
    assert events(iq, "release.approve") == [] and delivery_state(iq) == "held"


async def test_an_administrator_is_refused_the_releases(pinned):
    iq, _ = pinned
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "admin")
        for path in ("/console/releases", release_path(report_id)):
            r = await b.get(path)
            assert r.status_code == 403
    assert [e.actor for e in events(iq, "auth.role")] == ["admin", "admin"]


async def test_approving_without_the_csrf_token_is_refused(pinned):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        await b.get(release_path(report_id))
        token = b.csrf
        r = await b.post(f"{release_path(report_id)}/approve", csrf=False)
        assert r.status_code == 403
        r = await b.post(f"{release_path(report_id)}/refuse", {"csrf": "forged"})
        assert r.status_code == 403
        r = await b.post(f"{release_path(report_id)}/approve", {"csrf": token},
                         headers={"Sec-Fetch-Site": "cross-site"})  # fmt: skip
        assert r.status_code == 403
    assert len(events(iq, "console.csrf")) == 2 and events(iq, "console.cross_site")
    assert delivery_state(iq) == "held"


async def test_hostile_report_text_is_shown_as_text(pinned):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq, amber_report(HOSTILE))
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        for path in ("/console/releases", release_path(report_id)):
            r = await b.get(path)
            assert r.status_code == 200
            assert "<script>alert" not in r.text and "<img src=x" not in r.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
            assert "\u202e" not in r.text and "[U+202E]evil" in r.text


async def test_the_pages_in_arabic_right_to_left(pinned):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        await b.get("/console/releases")
        r = await b.post("/console/language", {"language": "ar", "next": "/console/releases"})
        assert r.status_code == 303
        r = await b.get("/console/releases")
        assert '<html lang="ar" dir="rtl">' in r.text and "الإصدارات إلى الشركاء" in r.text
        r = await b.get(release_path(report_id))
        assert '<html lang="ar" dir="rtl">' in r.text and "حكم كل قاعدة" in r.text
        assert '<pre dir="ltr">' in r.text  # the bundle stays left to right


async def test_pages_carry_the_security_headers(pinned):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    report_id = await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        for path in ("/console/releases", release_path(report_id)):
            r = await b.get(path)
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["content-security-policy"] == CSP
            assert r.headers["x-frame-options"] == "DENY"


async def test_the_list_filters_by_state_and_partner_and_pages(pinned, monkeypatch):
    iq, _ = pinned
    iq.add_user("releaser", "releaser")
    monkeypatch.setattr(pages, "PAGE", 1)
    first, second = await held(iq), await held(iq)
    async with Browser(iq) as b:
        await log_in(b, "releaser")
        r = await b.get("/console/releases?state=held&partner=SY")
        assert r.text.count('href="/console/releases/') == 1
        [next_url] = re.findall(r'href="([^"]*offset=1[^"]*)"', r.text)
        r = await b.get(unescape(next_url))
        assert r.text.count('href="/console/releases/') == 1 and "Previous page" in r.text
        assert "Next page" not in r.text
        r = await b.get("/console/releases?partner=JO&state=any")
        assert 'href="/console/releases/' not in r.text
        r = await b.get("/console/releases?state=queued")
        assert "No release is waiting" not in r.text and "Nothing here yet." in r.text
        r = await b.get("/console/releases?state=nonsense")
        assert r.status_code == 422
    assert {first, second}
