"""The officer pages: writing a report in the form, the preview of each partner's copy,
submitting, following delivery, uploading a bundle, the inbox, one received report made
readable (hostile content shown as text), the quarantine's review, refusals and languages."""

from __future__ import annotations

import copy
import json
import re
import uuid
from html import unescape

import pytest

from tests.service.console.conftest import Browser
from tests.service.test_enforcement import amber_report, events, received, submit, use_policy
from tests.twonode import IMPORTS, REPORTS

pytestmark = pytest.mark.anyio

PERSON = {
    "title": "Escape from detention facility D-7 (fictional)",
    "tlp": "amber",
    "description": "Fictional exercise: two detainees left facility D-7 during a transfer.",
    "persons-0-name_latin": "Abu Saif al-Mawsili",
    "persons-0-name_ar": "أبو سيف الموصلي",
    "persons-0-nationality": "IQ",
    "persons-0-date_of_birth": "1988-04-02",
    "persons-0-status": "escaped",
    "persons-0-doc_kind": "passport",
    "persons-0-doc_number": "X0000001",
    "persons-0-doc_country": "IQ",
    "locations-0-name": "Facility D-7 district",
    "locations-0-country": "IQ",
    "locations-0-city": "Fictional Town",
    "facilities-0-name": "Detention facility D-7",
    "facilities-0-kind": "prison",
    "facilities-0-location_key": "l1",
    "indicators-0-kind": "phone",
    "indicators-0-value": "+9647700000001",
    "relations-0-source_key": "i1",
    "relations-0-relationship_type": "indicates",
    "relations-0-target_key": "p1",
    "to": "SY",
}


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def open_form(b: Browser) -> dict[str, str]:
    r = await b.get("/console/reports/new")
    assert r.status_code == 200
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', r.text).group(1)
    return {**PERSON, "draft_id": draft_id}


async def test_an_officer_writes_previews_and_submits_a_report_then_follows_it(pinned):
    iq, sy = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        form = await open_form(b)
        r = await b.post("/console/reports/new/preview", form)
        assert r.status_code == 200, text_of(r.text)[:2000]
        page = text_of(r.text)
        assert "What each partner would receive" in page and "To SY" in page
        assert "allowed" in page and "Submit the report" in page
        assert events(iq, "policy.check")  # the preview is the API's policy check
        r = await b.post("/console/reports/new/submit", form)
        assert r.status_code == 303
        report_url = r.headers["location"].split("?")[0]
        r = await b.follow(r.headers["location"])
        assert "The report was submitted." in r.text and "queued" in text_of(r.text)
        # Posting the same form again makes no second report: it shows the first.
        r = await b.post("/console/reports/new/submit", {**form, "csrf": b.csrf})
        assert r.status_code == 303 and r.headers["location"].split("?")[0] == report_url
        await iq.deliver()
        r = await b.get(report_url)
        assert "acknowledged" in text_of(r.text)
        r = await b.get(report_url + "/content")
        page = text_of(r.text)
        assert "أبو سيف الموصلي" in page and "+9647700000001" in page and "X0000001" in page
    [(_, bundle)] = received(sy)
    person = next(o for o in bundle["objects"] if o["type"] == "threat-actor")
    assert person["x_liaison_name_ar"] == "أبو سيف الموصلي"
    assert [e.object_id for e in events(iq, "report.read")]  # opening the content is a read


async def test_the_form_shows_each_problem_beside_its_field_and_keeps_what_was_typed(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        form = await open_form(b)
        form.update({"title": "", "persons-0-date_of_birth": "2 April",
                     "relations-0-target_key": "l1", "relations-0-relationship_type": "owns",
                     "locations-0-latitude": "north"})  # fmt: skip
        r = await b.post("/console/reports/new/preview", form)
        assert r.status_code == 422
        assert "Some fields need attention" in r.text
        assert "a date as YYYY-MM-DD" in r.text and "a number, e.g. 33.3152" in r.text
        assert 'value="Abu Saif al-Mawsili"' in r.text  # nothing typed is lost
        form.update({"persons-0-date_of_birth": "2099-01-01", "locations-0-latitude": ""})
        r = await b.post("/console/reports/new/preview", {**form, "csrf": b.csrf})
        assert r.status_code == 422
        assert "title: required" not in r.text and "required" in r.text  # beside the field
        assert "must not be in the future" in r.text
    assert not received(pinned[1])


async def test_adding_rows_needs_no_script(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        form = await open_form(b)
        r = await b.post("/console/reports/new/rows", form)
        assert r.status_code == 200
        assert 'name="persons-2-name_latin"' in r.text and 'value="2"' not in r.text.split(
            'name="persons-rows"')[1][:20]  # fmt: skip
        assert 'value="Abu Saif al-Mawsili"' in r.text


async def test_an_officer_uploads_a_bundle_reviews_and_submits_it(pinned):
    iq, sy = pinned
    data = json.loads((REPORTS / "iq-cell-wadi7.json").read_bytes())
    data["id"] = f"bundle--{uuid.uuid4()}"
    async with Browser(iq) as b:
        await b.login("officer")
        await b.get("/console/reports/upload")
        files = {"bundle_file": ("cell.json", json.dumps(data).encode(), "application/json")}
        r = await b.post("/console/reports/upload", files=files)
        assert r.status_code == 303, text_of(r.text)[:1500]
        draft_url = r.headers["location"]
        r = await b.follow(draft_url)
        page = text_of(r.text)
        assert "The import changed nothing." in page and "Nothing in a draft leaves" in page
        r = await b.post(f"{draft_url}/preview", {"to": "SY"})
        assert r.status_code == 200, text_of(r.text)[:1500]
        assert "To SY" in text_of(r.text)
        r = await b.post(f"{draft_url}/submit", {"to": "SY"})
        assert r.status_code == 303 and r.headers["location"].startswith("/console/reports/")
    await iq.deliver()
    assert [row.bundle_id for row, _ in received(sy)] == [data["id"]]


async def test_an_export_needs_its_changes_confirmed_and_a_marking_chosen(pinned):
    iq, sy = pinned
    export = (IMPORTS / "iq-opencti-courier-net.json").read_bytes()
    async with Browser(iq) as b:
        await b.login("officer")
        await b.get("/console/reports/upload")
        files = {"bundle_file": ("opencti.json", export, "application/json")}
        r = await b.post("/console/reports/upload", files=files)
        draft_url = r.headers["location"]
        r = await b.follow(draft_url)
        page = text_of(r.text)
        assert "What the import changed (3)" in page and "TLP 1.0" in page
        assert "1 object carries no TLP marking" in page
        assert "identity--0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1" in page
        r = await b.post(f"{draft_url}/submit", {"to": "SY", "mark_unmarked": "green"})
        assert r.status_code == 409 and "review and confirm" in r.text
        await b.follow(draft_url)
        r = await b.post(f"{draft_url}/submit", {"to": "SY", "confirm": "yes"})
        assert r.status_code == 422 and "The content is not valid" in r.text
        await b.follow(draft_url)
        r = await b.post(f"{draft_url}/preview", {"to": "SY", "mark_unmarked": "green",
                                                  "confirm": "yes"})  # fmt: skip
        assert r.status_code == 200 and "To SY" in text_of(r.text)
        assert 'value="green" selected' in r.text and 'value="yes" checked' in r.text
        r = await b.post(f"{draft_url}/submit", {"to": "SY", "mark_unmarked": "green",
                                                 "confirm": "yes"})  # fmt: skip
        assert r.status_code == 303
        r = await b.follow("/console/drafts")
        assert "No draft here." in text_of(r.text)
        r = await b.follow("/console/drafts?state=submitted")
        assert "Courier network NAHR-2 (fictional)" in text_of(r.text)
    await iq.deliver()
    [(row, bundle)] = received(sy)
    author = next(o for o in bundle["objects"] if o["type"] == "identity")
    assert row.tlp == "TLP:AMBER" and author["object_marking_refs"]


async def test_an_invalid_upload_is_a_readable_error_and_nothing_is_stored(pinned):
    iq, sy = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        await b.get("/console/reports/upload")
        files = {"bundle_file": ("x.json", b'{"type": "bundle"}', "application/json")}
        r = await b.post("/console/reports/upload", files=files)
        assert r.status_code == 422
        assert "The content is not valid" in r.text and "Technical detail" in r.text
        await b.get("/console/reports/upload")
        r = await b.post("/console/reports/upload", {})
        assert r.status_code == 400 and "choose a file to upload" in r.text
        await b.get("/console/reports/upload")
        r = await b.post("/console/drafts/no-such-draft/submit", {"to": "SY"})
        assert r.status_code == 404
    await iq.deliver()
    assert received(sy) == []
    assert [e.outcome for e in events(iq, "draft.create")] == ["denied"]


async def test_the_drafts_pages_are_for_officers_and_in_arabic_too(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        await b.get("/console/reports/upload")
        files = {"bundle_file": ("opencti.json",
                                 (IMPORTS / "iq-opencti-courier-net.json").read_bytes(),
                                 "application/json")}  # fmt: skip
        draft_url = (await b.post("/console/reports/upload", files=files)).headers["location"]
    async with Browser(iq) as b:
        await b.login("auditor")
        assert (await b.get("/console/drafts")).status_code == 403
        assert (await b.get(draft_url)).status_code == 403
    assert [e.actor for e in events(iq, "auth.role")][-2:] == ["auditor", "auditor"]
    async with Browser(iq) as b:
        await b.login("officer")
        await b.post("/console/language", {"language": "ar", "next": "/console/drafts"})
        r = await b.get("/console/drafts")
        assert r.status_code == 200 and 'dir="rtl"' in r.text
        assert "مسودات بانتظار ضابط" in r.text and "Courier network NAHR-2" in r.text
        r = await b.get(draft_url)
        assert "ما غيّره الاستيراد (3)" in r.text and "تجاهل المسودة" in r.text
        r = await b.post(f"{draft_url}/discard", {})
        assert r.status_code == 303
        r = await b.follow(r.headers["location"])
        assert "Courier network NAHR-2" in r.text


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\u202eevil"


def hostile_report() -> dict:
    value = copy.deepcopy(amber_report())  # its objects are shared with other tests
    for o in value["objects"]:
        if o["type"] in ("intrusion-set", "report", "indicator"):
            o["name"] = HOSTILE
            o["description"] = HOSTILE
    return value


async def test_partner_content_with_script_and_bidi_controls_is_shown_as_text(pinned):
    iq, sy = pinned
    use_policy(iq, "SY", 'max_tlp = "amber"')
    assert (await submit(iq, hostile_report())).status_code == 201
    await iq.deliver()
    [(row, _)] = received(sy)
    async with Browser(sy) as b:
        await b.login("officer")
        r = await b.get("/console/inbox")
        assert "<script>" not in r.text and "&lt;script&gt;" in r.text
        r = await b.get(f"/console/inbox/{row.id}")
        assert r.status_code == 200
        assert "<script>" not in r.text and "<img" not in r.text
        assert "\u202e" not in r.text and "[U+202E]" in r.text
        assert "&lt;img src=x onerror=alert(2)&gt;" in r.text
        assert "script-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["cache-control"] == "no-store"
    assert [e.object_id for e in events(sy, "report.read")] == [row.id]


async def test_an_officer_reviews_the_quarantine(pinned):
    iq, sy = pinned
    use_policy(sy, "IQ", 'max_tlp = "amber"', 'accepted_types = ["indicator"]')
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    [(row, _)] = received(sy)
    async with Browser(sy) as b:
        await b.login("officer")
        await b.post("/console/language", {"language": "ar", "next": "/console/inbox"})
        r = await b.get("/console/inbox?status=quarantined")
        assert f"/console/inbox/{row.id}" in r.text and 'dir="rtl"' in r.text
        r = await b.get(f"/console/inbox/{row.id}")
        assert "قبوله في الوارد" in r.text
        r = await b.post(f"/console/inbox/{row.id}/review", {"decision": "accept", "note": "ok"})
        assert r.status_code == 303
        r = await b.get("/console/inbox")
        assert f"/console/inbox/{row.id}" in r.text
        r = await b.get(f"/console/inbox/{row.id}")
        r = await b.post(f"/console/inbox/{row.id}/review", {"decision": "reject"})
        assert r.status_code == 409 and 'lang="ar"' in r.text
    assert sorted(e.outcome for e in events(sy, "quarantine.accept")) == ["allowed"]
    assert [e.outcome for e in events(sy, "quarantine.reject")] == ["denied"]


@pytest.mark.parametrize("page", ["/console/reports", "/console/reports/new", "/console/inbox"])
async def test_roles_without_content_are_refused_the_officer_pages(pinned, page):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("auditor")
        r = await b.get(page)
        assert r.status_code == 403 and "Your role does not allow" in r.text
    [denial] = events(iq, "auth.role")
    assert denial.outcome == "denied" and denial.actor == "auditor"


async def test_a_report_above_the_officers_clearance_is_not_shown(pinned):
    iq, _ = pinned
    iq.add_user("junior", "officer")
    from sqlalchemy import update

    from service.models import User

    with iq.node.db.write() as s:
        s.execute(update(User).where(User.username == "junior").values(clearance="green"))
    assert (await submit(iq, amber_report())).status_code == 201
    async with Browser(iq) as b:
        await b.login("officer")
        r = await b.get("/console/reports")
        report_id = re.search(r'href="/console/reports/([0-9a-f-]{36})"', r.text).group(1)
    async with Browser(iq) as b:
        await b.login("junior")
        r = await b.get("/console/reports")
        assert report_id not in r.text
        r = await b.get(f"/console/reports/{report_id}/content")
        assert r.status_code in (403, 404)
    assert any(e.outcome == "denied" for e in events(iq, "report.read"))


async def test_the_language_is_the_users_own_and_switchable_on_every_page(pinned):
    iq, _ = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        r = await b.get("/console/reports/new")
        assert '<html lang="en" dir="ltr">' in r.text
        r = await b.post("/console/language", {"language": "ar", "next": "/console/reports/new"})
        assert r.status_code == 303 and r.headers["location"] == "/console/reports/new"
        r = await b.get("/console/reports/new")
        assert '<html lang="ar" dir="rtl">' in r.text and "كتابة تقرير" in r.text
    async with Browser(iq, language="en") as b:  # another browser: the account keeps it
        await b.login("officer")
        r = await b.get("/console/inbox")
        assert '<html lang="ar" dir="rtl">' in r.text


async def test_a_submit_without_the_csrf_token_is_refused(pinned):
    iq, sy = pinned
    async with Browser(iq) as b:
        await b.login("officer")
        form = await open_form(b)
        r = await b.post("/console/reports/new/submit", {**form, "csrf": "nope"})
        assert r.status_code == 403
    await iq.deliver()
    assert received(sy) == []
    assert events(iq, "console.csrf")


async def test_script_in_an_uploaded_file_is_shown_as_text_on_the_draft_pages(pinned):
    iq, _ = pinned
    hostile = hostile_report()
    hostile["objects"].append({"type": "identity", "spec_version": "2.1",
                               "id": "identity--6f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f9",
                               "created": "2026-11-28T10:00:00.000Z",
                               "modified": "2026-11-28T10:00:00.000Z",
                               "name": HOSTILE, "identity_class": "organization"})  # fmt: skip
    async with Browser(iq) as b:
        await b.login("officer")
        await b.get("/console/reports/upload")
        files = {"bundle_file": ("x.json", json.dumps(hostile).encode(), "application/json")}
        r = await b.post("/console/reports/upload", files=files)
        assert r.status_code == 303, text_of(r.text)[:1000]
        for url in (r.headers["location"], "/console/drafts"):
            r = await b.get(url)
            assert r.status_code == 200
            assert "<script>" not in r.text and "<img" not in r.text
            assert "\u202e" not in r.text and "[U+202E]" in r.text
            assert "script-src 'none'" in r.headers["content-security-policy"]
