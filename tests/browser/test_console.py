"""The web console in a real browser (Chromium), against two real ``liaison serve`` processes:
the officer, releaser and auditor tasks of issue 12 done the way their users do them, by
clicking, with a screenshot of every page in English and in Arabic.

All names, places, numbers and reports are fictional.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policies import TLP
from service import reports
from tests.browser.console import Console
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PERSON_LATIN = "Ziyad Example al-Nouri"
PERSON_ARABIC = "زياد المثال النوري"
PLACE = "Wadi al-Mithal (fictional)"
PRISON = "Al-Mithal Central Prison (fictional)"
PHONE = "+964 770 000 0101"
SUBMIT_TIMEOUT = 60.0


def fill_report(console: Console, title: str, tlp: str) -> None:
    """Write a report in the form: a person with Arabic and Latin names, a place, a prison
    there, a phone number that indicates the person; for SY."""
    page = console.page
    page.fill("#title", title)
    page.check(f"input[name=tlp][value='{tlp}']")
    page.fill("#description", "A fictional courier was seen near the prison. Demo data only.")
    page.fill("#persons-0-name_latin", PERSON_LATIN)
    page.fill("#persons-0-name_ar", PERSON_ARABIC)
    page.fill("#persons-0-nationality", "IQ")
    page.fill("#persons-0-date_of_birth", "1990-04-12")
    page.select_option("#persons-0-status", "wanted")
    page.fill("#locations-0-name", PLACE)
    page.fill("#locations-0-country", "IQ")
    page.fill("#locations-0-city", "Example City")
    page.fill("#facilities-0-name", PRISON)
    page.select_option("#facilities-0-kind", "prison")
    page.select_option("#facilities-0-location_key", "l1")
    page.select_option("#indicators-0-kind", "phone")
    page.fill("#indicators-0-value", PHONE)
    page.select_option("#relations-0-source_key", "i1")
    page.select_option("#relations-0-relationship_type", "indicates")
    page.select_option("#relations-0-target_key", "p1")
    page.check("input[name=to][value=SY]")


def preview(console: Console) -> None:
    """Press "Preview what each partner receives" (the form's own action)."""
    form = console.page.locator("form[action='/console/reports/new/preview']")
    console.click(form.locator("button.primary:not([formaction])"))


def submit(console: Console) -> str:
    """Press "Submit the report" (shown once previewed); returns the report's id."""
    console.click(console.page.locator("button[formaction='/console/reports/new/submit']"))
    path = console.page.url.removeprefix(console.node.url)
    assert path.startswith("/console/reports/") and path.endswith("?submitted=1"), path
    return path.split("/")[3].split("?")[0]


def test_officer_writes_previews_submits_and_sees_it_acknowledged(live, open_console):
    c = open_console(live.iq, "1-officer-writes-a-report")
    page = c.page
    c.goto("/console/login")
    c.shoot_both("login")
    c.login("officer")
    cookie = c.session_cookie()
    assert cookie is not None, "no session cookie after logging in over http://127.0.0.1"
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    assert page.url == c.url("/console/reports")
    c.shoot_both("my-reports-empty")

    c.click(page.locator("nav a[href='/console/reports/new']"))
    c.shoot_both("new-report-empty")
    fill_report(c, "Fictional courier near the central prison", "amber")
    c.shoot("new-report-filled")
    preview(c)
    decision = page.locator("section.card:has(h2:has-text('SY')) .badge[class*=outcome-]")
    assert decision.count() == 1, page.locator("main").inner_text()
    assert "outcome-allow" in (decision.get_attribute("class") or ""), decision.inner_text()
    c.shoot("preview")

    report_id = submit(c)
    state = page.locator("td .badge[class*=state-]")
    assert state.count() == 1
    assert state.inner_text() in ("queued", "sent", "acknowledged"), state.inner_text()
    c.shoot("submitted")
    c.reload_until("td .badge.state-acknowledged")
    c.shoot_both("acknowledged")

    c.click(page.locator(f"a[href='/console/reports/{report_id}/content']"))
    assert page.get_by_text(PERSON_ARABIC).first.is_visible()
    assert page.get_by_text(PRISON).first.is_visible()
    c.shoot_both("content")

    # The preview page is the answer to a POST: its Arabic picture needs a preview in Arabic.
    c.switch("ar")
    c.goto("/console/reports/new")
    fill_report(c, "Fictional courier near the central prison", "amber")
    preview(c)
    assert c.direction == "rtl"
    assert c.page.locator(".badge.outcome-allow").count() == 1
    c.shoot("preview")

    c.goto("/console/reports")
    c.switch("en")
    assert page.locator(f"a[href='/console/reports/{report_id}']").count() == 1
    c.shoot_both("my-reports")
    c.click(page.locator("form[action='/console/logout'] button"))
    assert "/console/login" in page.url
    assert c.session_cookie() is None
    c.shoot_both("logged-out")
    c.goto("/console/reports")
    assert page.url == c.url("/console/login?next=/console/reports"), page.url
    c.shoot("after-logout")


def test_amber_strict_report_is_held_until_a_second_officer_approves_it(live, open_console):
    officer = open_console(live.iq, "2-held-release-approved")
    officer.login("officer")
    officer.goto("/console/reports/new")
    fill_report(officer, "Fictional escape plan, source protected", "amber+strict")
    preview(officer)
    hold = officer.page.locator("section.card:has(h2:has-text('SY')) .badge.outcome-hold")
    assert hold.count() == 1, officer.page.locator("main").inner_text()
    officer.shoot("preview-held")
    report_id = submit(officer)
    assert officer.page.locator("td .badge.state-held").count() == 1
    officer.shoot_both("held")
    # The submitter may look at the release but not approve it (two-person rule).
    officer.goto(f"/console/releases/{report_id}/SY")
    assert officer.page.locator("form[action$='/approve']").count() == 0
    officer.shoot_both("release-seen-by-submitter")

    chief = open_console(live.iq, "2-held-release-approved")
    chief.login("desk-chief")
    chief.goto("/console/releases")
    link = chief.page.locator(f"a[href='/console/releases/{report_id}/SY']")
    assert link.count() == 1, chief.page.locator("main").inner_text()
    chief.shoot_both("releases-held")
    chief.click(link)
    assert chief.page.locator(".badge.state-held").count() == 1
    chief.shoot_both("release-to-review")
    chief.page.fill("#approve-note", "Checked: the source is removed (fictional).")
    chief.click(chief.page.locator("form[action$='/approve'] button.primary"))
    assert chief.page.url.endswith("?done=approved"), chief.page.url
    chief.shoot_both("release-approved")

    officer.goto(f"/console/reports/{report_id}")
    officer.reload_until("td .badge.state-acknowledged")
    officer.shoot_both("approved-and-acknowledged")


@pytest.fixture(scope="module")
def report_from_iq(live):
    """A report IQ's officer sent SY (through the API, composed as the form composes it: a
    person with an Arabic name), once it has arrived."""
    draft = reports.ReportDraft(
        title="Fictional sighting of a wanted courier",
        tlp=TLP.AMBER,
        description="Demo data only: the person, the place and the number are invented.",
        persons=[reports.PersonEntry(key="p1", name_latin=PERSON_LATIN, name_ar=PERSON_ARABIC,
                                     nationality="IQ", status="wanted")],
        locations=[reports.LocationEntry(key="l1", name=PLACE, country="IQ")],
        facilities=[reports.FacilityEntry(key="f1", name=PRISON, kind="prison",
                                          location_key="l1")],
        indicators=[reports.IndicatorEntry(key="i1", kind="phone", value=PHONE)],
        relations=[reports.RelationEntry(key="r1", source_key="i1",
                                         relationship_type="indicates", target_key="p1")],
    )  # fmt: skip
    return send(live.iq, live.sy, compose(draft, "IQ Liaison Office (demo)"))


def compose(draft, author: str) -> dict:
    return reports.compose(draft, author_name=author, now=datetime.now(UTC), draft_id=uuid.uuid4())


def send(sender, receiver, bundle: dict) -> str:
    """Submit ``bundle`` to ``receiver`` as ``sender``'s officer over the API; wait until the
    receiver holds it; returns the bundle id."""
    with sender.officer() as client:
        client.submit_report(json.dumps(bundle, ensure_ascii=False).encode(), to=[receiver.node_id])
    database = receiver.database()
    try:
        deadline = time.monotonic() + SUBMIT_TIMEOUT
        while bundle["id"] not in {b for _, b in database.inbound(sender.node_id).values()}:
            assert time.monotonic() < deadline, (
                f"{receiver.node_id} did not receive {bundle['id']} in {SUBMIT_TIMEOUT:.0f} s:\n"
                + sender.log_tail(lines=15)
            )
            time.sleep(0.5)
    finally:
        database.close()
    return bundle["id"]


def test_partner_officer_reads_the_report_in_arabic(live, open_console, report_from_iq):
    c = open_console(live.sy, "3-partner-reads-in-arabic")
    page = c.page
    c.login("officer")
    c.switch("ar")
    assert c.direction == "rtl" and c.language == "ar"
    c.click(page.locator("nav a[href='/console/inbox']"))
    assert page.locator("html[dir=rtl]").count() == 1
    c.shoot_both("inbox")
    c.click(page.locator("main a[href^='/console/inbox/']", has_text="Fictional sighting"))
    arabic = page.locator("td[lang=ar]", has_text=PERSON_ARABIC)
    assert arabic.count() == 1 and arabic.is_visible(), page.locator("main").inner_text()
    assert page.get_by_text(PERSON_LATIN).first.is_visible()
    assert page.get_by_text(PRISON).first.is_visible()
    assert page.locator("pre:has-text('\"objects\"')").count() == 0, "raw JSON instead of a page"
    c.shoot_both("received-report")
    c.switch("en")


def test_auditor_downloads_a_proof_that_check_proof_accepts(live, open_console, tmp_path):
    c = open_console(live.iq, "4-auditor-proof")
    page = c.page
    c.login("auditor")
    assert page.url == c.url("/console/audit")
    c.shoot_both("log")
    page.fill("#action", "auth.login")
    c.click(page.locator("main form[action='/console/audit'] button[type=submit]"))
    assert page.url.startswith(c.url("/console/audit?")) and "action=auth.login" in page.url
    c.shoot_both("log-filtered")
    first = page.locator("main table a[href^='/console/audit/']").first
    seq = int(first.inner_text())
    c.click(first)
    download = c.reload_until(f"a[href='/console/audit/{seq}/proof']")
    c.shoot_both("record-with-proof")
    with page.expect_download() as started:
        download.click()
    proof = tmp_path / started.value.suggested_filename
    started.value.save_as(proof)
    assert proof.name == f"liaison-audit-proof-IQ-{seq}.json"

    checked = subprocess.run(
        [*liaison_command(), "audit", "check-proof", str(proof), "--fingerprint",
         live.iq.fingerprint, "--json"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["ok"] is True and verdict["seq"] == seq and verdict["node_id"] == "IQ"
    assert verdict["fingerprint_checked"] is True

    c.goto("/console/audit/verify")
    c.shoot_both("verify")
    c.click(page.locator("form[action='/console/audit/verify'] button"))
    assert page.locator("p.notice[role=status]").count() == 1, page.locator("main").inner_text()
    c.shoot("verify-result")
    for name in ("checkpoints", "alerts", "reconcile"):
        c.goto(f"/console/audit/{name}")
        c.shoot_both(name)
    page.select_option("#partner", "SY")
    c.click(page.locator("form[action='/console/audit/reconcile'] button"))
    c.shoot("reconcile-result")


def liaison_command() -> list[str]:
    """The ``liaison`` command of this venv (its console script, else ``python -m clients``)."""
    script = Path(sys.executable).with_name("liaison")
    return [str(script)] if script.exists() else [sys.executable, "-m", "clients"]


HOSTILE_TITLE = '<script>alert("title")</script> Fictional hostile report'
HOSTILE_NAME = '<img src=x onerror=alert("name")>'
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: would show the rest of the name reversed
HOSTILE_ARABIC = RLO + "زياد الخبيث"
HOSTILE_FACILITY = '"><svg onload=alert(2)>'
HOSTILE_DESCRIPTION = "</p><script>alert(document.cookie)</script><p onmouseover=alert(1)>"


@pytest.fixture(scope="module")
def hostile_from_sy(live):
    """A report SY's node sends IQ whose text is markup, event handlers and a right-to-left
    override (written into the bundle directly: the form refuses bidi controls)."""
    draft = reports.ReportDraft(
        title=HOSTILE_TITLE,
        tlp=TLP.GREEN,
        description=HOSTILE_DESCRIPTION,
        persons=[reports.PersonEntry(key="p1", name_latin=HOSTILE_NAME, name_ar="المثال",
                                     nationality="SY", status="wanted")],
        facilities=[reports.FacilityEntry(key="f1", name=HOSTILE_FACILITY, kind="prison")],
    )  # fmt: skip
    bundle = compose(draft, "SY Liaison Office (demo)")
    for obj in bundle["objects"]:
        if obj["type"] == "threat-actor":
            obj["x_liaison_name_ar"] = HOSTILE_ARABIC
            obj["aliases"] = [HOSTILE_ARABIC]
    return send(live.sy, live.iq, bundle)


def test_hostile_partner_content_shows_as_text_and_no_script_runs(
    live, open_console, hostile_from_sy
):
    c = open_console(live.iq, "5-hostile-partner-content")
    page = c.page
    c.login("officer")
    c.goto("/console/inbox")
    link = page.locator("main a[href^='/console/inbox/']", has_text="Fictional hostile report")
    if not link.count():  # the node may have quarantined it: it is shown there the same way
        c.goto("/console/inbox?status=quarantined")
    assert link.count() == 1, page.locator("main").inner_text()
    c.shoot_both("inbox")
    c.click(link)
    main = page.locator("main")
    text = main.inner_text()
    for literal in (HOSTILE_TITLE, HOSTILE_NAME, HOSTILE_FACILITY, "[U+202E]"):
        assert literal in text, f"{literal!r} is not shown as text:\n{text}"
    assert RLO not in text, "the right-to-left override reached the page unescaped"
    assert main.locator("script, img, svg, iframe, [onerror], [onload], [onmouseover]").count() == 0
    c.shoot_both("hostile-report")
    assert not c.dialogs, c.dialogs

    # Had markup slipped through, the CSP would stop it: script put into the page does not run.
    with c.deliberate_violations() as violations:
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.__liaison_ran = 'inline script'";
                document.body.append(script);
                const holder = document.createElement("div");
                holder.innerHTML =
                    '<img src="data:," onerror="window.__liaison_ran = \\'onerror\\'">';
                document.body.append(holder);
            }"""
        )
        page.wait_for_timeout(500)
    assert page.evaluate("() => window.__liaison_ran ?? null") is None
    directives = " ".join(violations)
    assert "script-src-elem" in directives and "script-src-attr" in directives, violations
    assert not c.dialogs, c.dialogs


def test_admin_pages_and_a_refusal(live, open_console):
    admin = open_console(live.iq, "6-admin-and-refusal")
    admin.login("admin")
    assert admin.page.url == admin.url("/console/admin/partners")
    admin.shoot_both("partners")
    admin.page.locator("details.actions summary").first.click()
    assert admin.page.locator("form[action$='/SY/repin']").is_visible()
    admin.shoot("partner-actions")
    admin.goto("/console/admin/users")
    admin.shoot_both("users")
    admin.goto("/console/admin/node")
    main = admin.page.locator("main").inner_text()
    assert live.iq.fingerprint in main and "Data keys" in main
    admin.shoot_both("node")
    admin.goto("/console/admin/partners/SY/damage?since=2020-01-01T00:00Z")
    assert "Damage report: SY" in admin.page.locator("main").inner_text()
    admin.shoot_both("damage-report")

    officer = open_console(live.iq, "6-admin-and-refusal")
    officer.login("officer")
    officer.goto("/console/audit", status=403)
    officer.shoot_both("officer-refused-audit", reopen=("/console/audit", 403))


def test_switching_language_on_the_preview_stays_on_a_page(live, open_console):
    """The answer to a form post has no URL of its own: the switch returns to the form's page
    (what was typed but not submitted is not kept), never to a 405."""
    c = open_console(live.iq, "7-language-switch-on-preview")
    c.login("officer")
    c.goto("/console/reports/new")
    fill_report(c, "Fictional courier near the central prison", "amber")
    preview(c)
    try:
        c.switch("ar")
    finally:
        c.goto("/console/reports")
        c.switch("en")


def test_officer_uploads_an_opencti_export_reviews_the_draft_and_submits_it(live, open_console):
    """The upload becomes a draft: the officer reads what the import changed, names a marking
    for the unmarked author, confirms, previews SY's copy and submits; SY's officer reads it."""
    export = ROOT / "demo" / "imports" / "iq-opencti-courier-net.json"
    c = open_console(live.iq, "7-officer-reviews-an-import")
    page = c.page
    c.login("officer")
    c.click(page.locator("nav a[href='/console/reports/upload']"))
    c.shoot_both("upload")
    page.set_input_files("#bundle_file", str(export))
    c.click(page.locator("form[action='/console/reports/upload'] button.primary"))
    assert "/console/drafts/" in page.url, page.url
    assert page.get_by_text("What the import changed (3)").is_visible()
    assert page.get_by_text("1 object carries no TLP marking").is_visible()
    c.shoot_both("draft")
    page.check("input[name=to][value=SY]")
    page.select_option("#mark_unmarked", "green")
    page.check("input[name=confirm]")
    c.click(page.locator("form[action$='/preview'] button.primary"))
    assert page.locator(".badge.outcome-allow").count() == 1, page.locator("main").inner_text()
    c.shoot("draft-preview")
    c.click(page.locator("button[formaction$='/submit']"))
    assert "/console/reports/" in page.url and page.url.endswith("?submitted=1"), page.url
    c.reload_until("td .badge.state-acknowledged")
    c.shoot("submitted")
    c.goto("/console/drafts?state=submitted")
    assert page.get_by_text("Courier network NAHR-2 (fictional)").is_visible()
    c.shoot_both("drafts-submitted")

    sy = open_console(live.sy, "7-partner-reads-the-import")
    sy.login("officer")
    sy.goto("/console/inbox")
    assert sy.page.get_by_text("Courier network NAHR-2 (fictional)").first.is_visible()
    sy.shoot("inbox")
