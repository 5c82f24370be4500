"""Two nodes exchange a report end to end: submit, deliver, receipt, read."""

from __future__ import annotations

import pytest

from tests.twonode import REPORTS

pytestmark = pytest.mark.anyio


async def test_report_travels_and_is_acknowledged(pinned):
    iq, sy = pinned
    officer = await iq.login("officer")
    async with iq.client() as c:
        r = await c.post(
            "/api/v1/reports",
            params={"to": "SY"},
            content=(REPORTS / "iq-cell-wadi7.json").read_bytes(),
            headers={**officer, "content-type": "application/stix+json"},
        )
        assert r.status_code == 201, r.text
        report = r.json()
        assert report["tlp"] == "TLP:AMBER"
        assert report["deliveries"][0]["state"] == "queued"

    assert await iq.deliver() == 1

    async with iq.client() as c:
        shown = (await c.get(f"/api/v1/reports/{report['id']}", headers=officer)).json()
    delivery = shown["deliveries"][0]
    assert delivery["state"] == "acknowledged", delivery
    async with iq.client() as c:
        bundle = await c.get(f"/api/v1/reports/{report['id']}/bundle", headers=officer)
    assert bundle.headers["content-type"] == "application/stix+json;version=2.1"
    assert bundle.json()["id"] == report["bundle_id"]

    sy_officer = await sy.login("officer")
    async with sy.client() as c:
        inbox = (await c.get("/api/v1/inbox", headers=sy_officer)).json()
        assert [m["message_id"] for m in inbox] == [delivery["message_id"]]
        assert inbox[0]["sender"] == "IQ" and inbox[0]["tlp"] == "TLP:AMBER"
        detail = (await c.get(f"/api/v1/inbox/{inbox[0]['id']}", headers=sy_officer)).json()
        bundle = await c.get(f"/api/v1/inbox/{inbox[0]['id']}/bundle", headers=sy_officer)
    assert detail["title"] == "Cell WADI-7 (fictional)" and "bundle" not in detail
    assert bundle.json()["id"] == report["bundle_id"]
    # Following delivery is not reading; fetching the bundle is, and is recorded as such.
    from sqlalchemy import select

    from service.models import AuditEvent

    for node, kind in ((iq, "report"), (sy, "inbound")):
        with node.node.db.write() as s:
            reads = s.scalars(select(AuditEvent).where(AuditEvent.action == "report.read")).all()
        assert [(e.actor, e.object_type) for e in reads] == [("officer", kind)]
