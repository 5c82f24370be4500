"""Suspending a partner whose keys may be in other hands: nothing is sealed or sent to it, what
its keys sign is refused whatever the route, what it signed since the compromise goes back to
quarantine, and resuming sends the held queue without losing or repeating a report."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from sqlalchemy import func, select

from service.exchange import witness_all
from service.models import (
    AuditAlert,
    AuditCosignature,
    Delivery,
    Inbound,
    Partner,
    TaxiiObject,
    WitnessedCheckpoint,
)
from tests.service.test_enforcement import amber_report, events, received, submit
from tests.twonode import REPORTS, verify_log

pytestmark = pytest.mark.anyio


def report() -> dict:
    """IQ's report for SY (TLP:AMBER)."""
    value = copy.deepcopy(amber_report())
    value["id"] = f"bundle--{uuid.uuid4()}"
    return value


def sy_report() -> dict:
    """SY's report for IQ (TLP:GREEN, nothing restricting it to SY: indexed for TAXII at IQ)."""
    value = json.loads((REPORTS / "sy-escape-d12.json").read_text())
    value["id"] = f"bundle--{uuid.uuid4()}"
    for obj in value["objects"]:
        if obj["type"] == "report":  # an object of its own, so that TAXII indexes it anew
            obj["id"] = f"report--{uuid.uuid4()}"
    return value


async def admin_post(node, path: str, body=None, user: str = "admin"):
    headers = await node.login(user)
    async with node.client() as c:
        return await c.post(f"/api/v1/admin/partners/{path}", json=body, headers=headers)


def states(node) -> list[str]:
    with node.node.db.read() as s:
        return [d.state for d in s.scalars(select(Delivery).order_by(Delivery.id))]


def count_alerts(node) -> int:
    with node.node.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditAlert)) or 0)


def taxii_rows(node, source: str) -> int:
    with node.node.db.read() as s:
        query = select(func.count()).select_from(TaxiiObject).where(TaxiiObject.source == source)
        return int(s.scalar(query) or 0)


async def test_nothing_goes_to_a_suspended_partner_and_nothing_it_signs_is_accepted(pinned):
    iq, sy = pinned
    r = await admin_post(iq, "SY/suspend", {"reason": "a key file copy was found"})
    assert r.status_code == 200, r.text
    assert r.json()["partner"]["suspended_at"] and r.json()["held"] == 0
    assert (await submit(iq, report())).status_code == 201  # officers keep submitting
    assert await iq.deliver() == 0 and states(iq) == ["queued"]  # held: not sealed, not sent
    with iq.node.db.read() as s:
        assert s.scalar(select(Delivery.envelope)) is None
    assert received(sy) == []
    r = await admin_post(iq, "SY/suspend", {})
    assert r.status_code == 409 and r.json()["code"] == "already_suspended"

    # What SY's keys sign is refused: its push, and with it its pull and witnessing.
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    assert received(iq) == []
    refusals = [e.reason or "" for e in events(iq, "federation.refuse")]
    assert refusals and all("suspended" in reason for reason in refusals)
    suspended, refused = events(iq, "partner.suspend")  # the second one, refused, is recorded
    assert (suspended.outcome, refused.outcome) == ("allowed", "denied")
    assert "a key file copy was found" in (suspended.reason or "")

    r = await admin_post(iq, "SY/resume")
    assert r.status_code == 200 and r.json()["held"] == 1
    assert await iq.deliver() == 1
    assert states(iq) == ["acknowledged"] and len(received(sy)) == 1
    r = await admin_post(iq, "SY/resume")
    assert r.status_code == 409 and r.json()["code"] == "not_suspended"
    assert [e.outcome for e in events(iq, "partner.resume")] == ["allowed", "denied"]


async def test_what_it_signed_since_the_compromise_goes_back_to_quarantine(pinned, clock):
    iq, sy = pinned
    for _ in range(2):
        assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    clock.advance(3600)
    since = iq.node.utcnow()
    clock.advance(60)
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    rows = [row for row, _ in received(iq)]
    assert [row.status for row in rows] == ["accepted"] * 3
    late = rows[-1].id
    assert taxii_rows(iq, late) > 0
    clock.advance(60)

    r = await admin_post(iq, "SY/suspend", {"compromised_since": since.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["quarantined"] == [late]
    with iq.node.db.read() as s:
        by_id = {row.id: row for row in s.scalars(select(Inbound))}
    assert by_id[late].status == "quarantined"
    assert [by_id[row.id].status for row in rows[:2]] == ["accepted", "accepted"]
    assert taxii_rows(iq, late) == 0 and taxii_rows(iq, rows[0].id) > 0
    quarantined = [e for e in events(iq, "report.quarantine") if e.object_id == late]
    assert quarantined and "partner.compromised" in (quarantined[-1].reason or "")
    officer = await iq.login("officer")
    async with iq.client() as c:
        held = (await c.get("/api/v1/inbox?status=quarantined", headers=officer)).json()
    assert [(i["id"], i["rule"]) for i in held] == [(late, "partner.compromised")]


async def test_bad_requests_and_other_roles_change_nothing(pinned):
    iq, _ = pinned
    for user in ("officer", "auditor"):
        r = await admin_post(iq, "SY/suspend", {}, user=user)
        assert r.status_code == 403
    r = await admin_post(iq, "ZZ/suspend", {})
    assert r.status_code == 404
    future = "2999-01-01T00:00:00Z"
    r = await admin_post(iq, "SY/suspend", {"compromised_since": future})
    assert r.status_code == 400 and "future" in r.json()["detail"]
    r = await admin_post(iq, "SY/suspend", {"compromised_since": "last tuesday"})
    assert r.status_code == 422
    headers = await iq.login("admin")
    async with iq.client() as c:
        [partner] = (await c.get("/api/v1/admin/partners", headers=headers)).json()
    assert partner["suspended_at"] is None
    refused = events(iq, "partner.suspend")  # each refusal recorded, nothing allowed
    assert [(e.outcome, e.object_id) for e in refused] == [("denied", "ZZ"), ("denied", "SY")]
    assert "future" in (refused[-1].reason or "")


async def test_no_courier_file_is_made_for_a_suspended_partner(pinned):
    iq, _ = pinned
    assert (await submit(iq, report())).status_code == 201
    await admin_post(iq, "SY/suspend", {})
    headers = await iq.login("admin")
    async with iq.client() as c:
        r = await c.post("/api/v1/admin/courier/export", json={"partner": "SY"}, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "partner_suspended"
    assert states(iq) == ["queued"]


async def test_a_courier_file_from_a_suspended_partner_is_refused(pinned):
    iq, sy = pinned
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    sy_admin = await sy.login("admin")
    async with sy.client() as c:
        r = await c.post("/api/v1/admin/courier/export", json={"partner": "IQ"}, headers=sy_admin)
        assert r.status_code == 200, r.text
        carried = r.content
    await admin_post(iq, "SY/suspend", {})
    iq_admin = await iq.login("admin")
    async with iq.client() as c:
        r = await c.post("/api/v1/admin/courier/import", content=carried, headers=iq_admin)
    assert r.status_code == 200, r.text
    assert r.json()["received"] == 0 and len(r.json()["refused"]) == 1
    assert received(iq) == []
    refusals = [e.reason or "" for e in events(iq, "courier.import") if e.outcome == "denied"]
    refusals += [e.reason or "" for e in events(iq, "federation.refuse")]
    assert any("suspended" in reason for reason in refusals), refusals


async def test_the_damage_report_names_what_the_copied_keys_expose_and_could_forge(pinned, clock):
    iq, sy = pinned
    assert (await submit(iq, report())).status_code == 201  # sealed before the copy
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await iq.deliver()
    await sy.deliver()
    clock.advance(600)
    since = iq.node.utcnow()
    clock.advance(60)
    for _ in range(2):
        assert (await submit(iq, report())).status_code == 201
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await iq.deliver()
    await sy.deliver()
    await admin_post(iq, "SY/suspend", {"compromised_since": since.isoformat()})
    assert (await submit(iq, report())).status_code == 201  # held: never sealed, exposed nothing
    headers = await iq.login("admin")
    async with iq.client() as c:
        r = await c.get("/api/v1/admin/partners/SY/damage", params={"since": since.isoformat()},
                        headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text
        damage = r.json()
        bad = await c.get("/api/v1/admin/partners/SY/damage", params={"since": "2999-01-01T00:00Z"},
                          headers=headers)  # fmt: skip
        officer = await c.get("/api/v1/admin/partners/SY/damage",
                              params={"since": since.isoformat()},
                              headers=await iq.login("officer"))  # fmt: skip
    assert damage["sealed_after_by_tlp"] == {"TLP:AMBER": 2}
    assert damage["sealed_before_by_tlp"] == {"TLP:AMBER": 1}
    assert damage["signed_by_tlp"] == {"TLP:GREEN": 1}
    assert [i["status"] for i in damage["signed"]] == ["quarantined"]
    assert len(damage["sealed"]) == 3 and all(i["recipient_key"] for i in damage["sealed"])
    assert "title" not in r.text and "Escape" not in r.text  # metadata only
    assert bad.status_code == 400 and officer.status_code == 403
    read, future = events(iq, "partner.damage")
    assert (read.outcome, future.outcome) == ("allowed", "denied")
    assert "2 of 3 envelopes sealed after" in (read.reason or "")


async def test_cosignatures_given_since_the_compromise_stop_counting(pinned, clock):
    iq, sy = pinned
    assert (await submit(iq, report())).status_code == 201
    await iq.deliver()
    await witness_all(sy.node)  # SY cosigns IQ's checkpoint: before the compromise
    clock.advance(600)
    since = iq.node.utcnow()
    clock.advance(60)
    assert (await submit(iq, report())).status_code == 201
    await iq.deliver()
    await witness_all(sy.node)  # ... and a later one, which a thief could have made
    assert [c.cosigned_by for c in verify_log(iq.node).checkpoints][-2:] == [("SY",), ("SY",)]

    r = await admin_post(iq, "SY/suspend", {"compromised_since": since.isoformat()})
    assert r.status_code == 200 and r.json()["distrusted_cosignatures"] == 1
    report_after = verify_log(iq.node)
    assert report_after.ok
    cosigned = [c.cosigned_by for c in report_after.checkpoints if c.cosigned_by]
    assert cosigned == [("SY",)]  # only the one given before the compromise counts
    with iq.node.db.read() as s:
        rows = list(s.scalars(select(AuditCosignature).order_by(AuditCosignature.size)))
    assert [r.distrusted_at is not None for r in rows] == [False, True]  # kept, as evidence


async def test_a_checkpoint_a_thief_showed_no_longer_blocks_the_genuine_log(pinned, clock):
    iq, sy = pinned
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    assert await witness_all(iq.node) == {"SY": "cosigned"}  # IQ witnesses SY's genuine log
    clock.advance(600)
    since = iq.node.utcnow()
    clock.advance(60)
    # With SY's copied key a thief showed IQ a much longer "log of SY", which IQ cosigned.
    with iq.node.db.write() as s:
        partner_id = s.scalar(select(Partner.id).where(Partner.node_id == "SY"))
        s.add(WitnessedCheckpoint(partner_id=partner_id, size=10_000, root=b"\x07" * 32,
                                  note="forged", cosignature="forged",
                                  cosigned_at=iq.node.utcnow()))  # fmt: skip
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    assert await witness_all(iq.node) == {"SY": "rollback"}  # the genuine log now looks cut
    alerts_before = count_alerts(iq)
    assert alerts_before == 1  # the rollback alert the forged checkpoint caused

    r = await admin_post(iq, "SY/suspend", {"compromised_since": since.isoformat()})
    assert r.status_code == 200 and r.json()["rebased_checkpoints"] == 1
    await admin_post(iq, "SY/resume")
    assert await witness_all(iq.node) == {"SY": "cosigned"}  # it extends the last trusted one
    with iq.node.db.read() as s:
        rows = {w.size: w.distrusted_at for w in s.scalars(select(WitnessedCheckpoint))}
    assert rows[10_000] is not None and sum(v is None for v in rows.values()) == 2
    assert count_alerts(iq) == alerts_before  # no new alert against the genuine log
