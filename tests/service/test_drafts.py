"""Drafts: an imported export waits for an officer, and nothing in it leaves the node until an
officer confirms the import's changes, names a marking for what is unmarked, and submits it.

The export is ``demo/imports/iq-opencti-courier-net.json``: an OpenCTI export with a TLP 1.0
AMBER marking (mapped to TLP 2.0 by the normaliser) and an author identity with no marking.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from service.bootstrap import add_local_user
from service.models import AuditEvent, Draft, Inbound
from tests.twonode import IMPORTS, PASSWORD, TestNode

pytestmark = pytest.mark.anyio

EXPORT = (IMPORTS / "iq-opencti-courier-net.json").read_bytes()
AUTHOR = "identity--0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1"
TLP2_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP2_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP1_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"


async def _import(node: TestNode, headers: dict[str, str], data: bytes = EXPORT) -> dict:
    async with node.client() as c:
        r = await c.post("/api/v1/drafts", content=data, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _count(node: TestNode, model: type) -> int:
    with node.node.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _actions(node: TestNode, action: str) -> list[AuditEvent]:
    with node.node.db.read() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_an_export_becomes_a_draft_with_every_change_listed(pinned):
    iq, sy = pinned
    officer = await iq.login("officer")
    draft = await _import(iq, officer)
    assert draft["state"] == "open" and draft["source_format"] == "stix"
    assert draft["title"] == "Courier network NAHR-2 (fictional)"
    assert draft["tlp"] == "TLP:AMBER" and draft["object_count"] == 3
    kinds = {change["kind"] for change in draft["changes"]}
    assert {"tlp1_mapped", "marking_definition_dropped"} <= kinds
    assert draft["unmarked"] == [AUTHOR]
    async with iq.client() as c:
        bundle = (await c.get(f"/api/v1/drafts/{draft['id']}/bundle", headers=officer)).json()
        listed = (await c.get("/api/v1/drafts", headers=officer)).json()
    text = json.dumps(bundle)
    assert TLP1_AMBER not in text and TLP2_AMBER in text
    assert [d["id"] for d in listed] == [draft["id"]]
    # Nothing in a draft leaves the node: no delivery exists for the worker to send.
    assert await iq.deliver() == 0
    assert _count(sy, Inbound) == 0


async def test_submitting_needs_confirmed_changes_and_a_marking_for_the_unmarked(pinned):
    iq, sy = pinned
    officer = await iq.login("officer")
    draft = await _import(iq, officer)
    url = f"/api/v1/drafts/{draft['id']}/submit"
    async with iq.client() as c:
        r = await c.post(url, json={"to": ["SY"]}, headers=officer)
        assert r.status_code == 409 and r.json()["code"] == "changes_unconfirmed", r.text
        assert r.headers["content-type"] == "application/problem+json"
        r = await c.post(url, json={"to": ["SY"], "confirm_changes": True}, headers=officer)
        assert r.status_code == 422 and r.json()["code"] == "tlp_missing", r.text
        r = await c.post(url, json={"to": ["SY"], "confirm_changes": True,
                                    "mark_unmarked": "purple"}, headers=officer)  # fmt: skip
        assert r.status_code == 400, r.text
        r = await c.post(url, json={"to": ["SY"], "confirm_changes": True,
                                    "mark_unmarked": "green"}, headers=officer)  # fmt: skip
        assert r.status_code == 201, r.text
        report = r.json()
        assert report["tlp"] == "TLP:AMBER"
        again = await c.post(url, json={"to": ["SY"], "confirm_changes": True,
                                        "mark_unmarked": "green"}, headers=officer)  # fmt: skip
        assert again.status_code == 409 and again.json()["code"] == "draft_closed"
        shown = (await c.get(f"/api/v1/drafts/{draft['id']}", headers=officer)).json()
    assert shown["state"] == "submitted" and shown["report_id"] == report["id"]
    assert shown["reviewed_by"] == "officer"
    assert [e.outcome for e in _actions(iq, "draft.submit")] == ["allowed", "denied"]
    # Delivered as any report: SY receives the author marked GREEN, by the officer's choice.
    assert await iq.deliver() == 1
    with sy.node.db.read() as session:
        [received] = session.scalars(select(Inbound))
        assert received.tlp == "TLP:AMBER"
    sy_officer = await sy.login("officer")
    async with sy.client() as c:
        [item] = (await c.get("/api/v1/inbox", headers=sy_officer)).json()
        r = await c.get(f"/api/v1/inbox/{item['id']}/bundle", headers=sy_officer)
    [author] = [o for o in r.json()["objects"] if o["id"] == AUTHOR]
    assert author["object_marking_refs"] == [TLP2_GREEN]


async def test_a_discarded_draft_cannot_be_submitted(pinned):
    iq, _ = pinned
    officer = await iq.login("officer")
    draft = await _import(iq, officer)
    async with iq.client() as c:
        r = await c.post(f"/api/v1/drafts/{draft['id']}/discard", headers=officer)
        assert r.status_code == 200 and r.json()["state"] == "discarded"
        body = {"to": ["SY"], "confirm_changes": True, "mark_unmarked": "green"}
        r = await c.post(f"/api/v1/drafts/{draft['id']}/submit", headers=officer, json=body)
        assert r.status_code == 409 and r.json()["code"] == "draft_closed"
        listed = (await c.get("/api/v1/drafts", headers=officer)).json()
        closed = (await c.get("/api/v1/drafts?state=discarded", headers=officer)).json()
    assert listed == [] and [d["id"] for d in closed] == [draft["id"]]
    assert await iq.deliver() == 0


async def test_other_roles_and_lower_clearances_cannot_read_drafts(pinned):
    iq, _ = pinned
    add_local_user(iq.node, username="green-officer", role="officer", password=PASSWORD,
                   clearance="green")  # fmt: skip
    officer, auditor = await iq.login("officer"), await iq.login("auditor")
    low = await iq.login("green-officer")
    draft = await _import(iq, officer)  # TLP:AMBER
    async with iq.client() as c:
        assert (await c.get("/api/v1/drafts", headers=auditor)).status_code == 403
        r = await c.post("/api/v1/drafts", content=EXPORT, headers=auditor)
        assert r.status_code == 403
        assert (await c.get("/api/v1/drafts", headers=low)).json() == []
        r = await c.get(f"/api/v1/drafts/{draft['id']}", headers=low)
        assert r.status_code == 403 and r.json()["code"] == "access_denied"
        r = await c.get(f"/api/v1/drafts/{draft['id']}/bundle", headers=low)
        assert r.status_code == 403
    denied = [e for e in _actions(iq, "draft.read") if e.outcome == "denied"]
    assert {e.actor for e in denied} == {"green-officer"}
    assert all(e.object_id == draft["id"] for e in denied)


async def test_bad_input_is_a_clear_error_that_stores_nothing(pinned):
    iq, _ = pinned
    officer = await iq.login("officer")
    cases = [
        b"not json at all",
        b'{"type": "bundle", "id": "bundle--0", "objects": "no"}',
        b"[]",
        json.dumps({"type": "bundle", "id": "bundle--5b0e7c1d-2a3f-4e6b-9c8d-7f1a2b3c4d5e",
                    "objects": [{"type": "indicator", "id": "indicator--x"}]}).encode(),
    ]  # fmt: skip
    async with iq.client() as c:
        for data in cases:
            r = await c.post("/api/v1/drafts", content=data, headers=officer)
            assert r.status_code in (400, 422), (data, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["detail"]
        r = await c.get("/api/v1/drafts/not-a-draft", headers=officer)
        assert r.status_code == 404
    assert _count(iq, Draft) == 0
    denied = [e for e in _actions(iq, "draft.create") if e.outcome == "denied"]
    assert len(denied) == len(cases)
