"""Reconciling with a partner: what we sent against what it signed as received, and the
reverse, by message id; every discrepancy listed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.models import AuditEvent, Delivery, Inbound
from tests.service.test_audit_log import sql
from tests.service.test_enforcement import amber_report, call, submit

pytestmark = pytest.mark.anyio


async def _exchange(iq, sy) -> None:
    for _ in range(3):
        assert (await submit(iq, amber_report())).status_code == 201
    for _ in range(2):
        assert (await submit(sy, amber_report(), to=("IQ",))).status_code == 201
    await iq.deliver()
    await sy.deliver()


async def _reconcile(node, partner: str = "SY") -> dict:
    r = await call(node, "GET", "/api/v1/audit/reconcile", "auditor", params={"partner": partner})
    assert r.status_code == 200, r.text
    return r.json()


async def test_everything_matches_after_a_clean_exchange(pinned):
    iq, sy = pinned
    await _exchange(iq, sy)
    answer = await _reconcile(iq)
    assert answer["sent"] == {"matched": 3, "pending": 0}
    assert answer["received"] == {"matched": 2, "pending": 0} and answer["discrepancies"] == []
    with sy.node.db.write() as s:  # the partner records that it was asked
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.reconcile")).all()


async def test_a_report_the_partner_lost_after_signing_its_receipt(pinned):
    iq, sy = pinned
    await _exchange(iq, sy)
    with sy.node.db.write() as s:
        lost = s.scalars(select(Inbound).order_by(Inbound.seq)).first()
        message_id = lost.message_id
    sql(sy, "DELETE FROM inbound_objects WHERE inbound_id = :i", i=lost.id)
    sql(sy, "DELETE FROM inbound WHERE id = :i", i=lost.id)
    answer = await _reconcile(iq)
    [gap] = answer["discrepancies"]
    assert gap["kind"] == "receipt_but_not_received" and gap["message_id"] == message_id
    assert answer["sent"]["matched"] == 2


async def test_a_message_we_never_sent_and_one_we_never_received(pinned):
    iq, sy = pinned
    await _exchange(iq, sy)
    with iq.node.db.write() as s:
        erased = s.scalars(select(Delivery).order_by(Delivery.seq)).first().message_id
        dropped = s.scalars(select(Inbound).order_by(Inbound.seq)).first()
        dropped_id, dropped_message = dropped.id, dropped.message_id
    sql(iq, "DELETE FROM deliveries WHERE message_id = :m", m=erased)
    sql(iq, "DELETE FROM inbound_objects WHERE inbound_id = :i", i=dropped_id)
    sql(iq, "DELETE FROM inbound WHERE id = :i", i=dropped_id)
    answer = await _reconcile(iq)
    kinds = {(d["kind"], d["message_id"]) for d in answer["discrepancies"]}
    assert kinds == {
        ("received_but_not_sent", erased),
        ("acknowledged_but_not_held", dropped_message),
    }


async def test_undelivered_reports_are_pending_not_discrepancies(pinned):
    iq, sy = pinned
    sy.network.down.add("sy.test")
    assert (await submit(iq, amber_report())).status_code == 201
    await iq.deliver()
    sy.network.down.clear()
    answer = await _reconcile(iq)
    assert answer["sent"] == {"matched": 0, "pending": 1} and answer["discrepancies"] == []
    # The same from SY's side: IQ's report is in flight towards it, not missing.
    iq.network.down.add("iq.test")
    assert (await submit(sy, amber_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    iq.network.down.clear()
    answer = await _reconcile(iq)
    assert answer["received"] == {"matched": 0, "pending": 1} and answer["discrepancies"] == []
    assert answer["complete"] is True


async def test_an_unreachable_partner_is_a_clear_error(pinned):
    iq, _ = pinned
    iq.network.down.add("sy.test")
    r = await call(iq, "GET", "/api/v1/audit/reconcile", "auditor", params={"partner": "SY"})
    assert r.status_code == 502 and r.json()["code"] == "reconcile_failed"
    assert "sy.test" in r.json()["detail"]


async def test_only_auditors_reconcile(pinned):
    iq, _ = pinned
    r = await call(iq, "GET", "/api/v1/audit/reconcile", "officer", params={"partner": "SY"})
    assert r.status_code == 403
