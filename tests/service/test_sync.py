"""Sync that survives outages: leases, pull catch-up, gaps, void sequence numbers, restores."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from crypto import httpsig
from crypto.canonical import canonicalize
from crypto.signing import SigningKey
from service.exchange import Puller, Worker, outbox
from service.federation import PartnerClient
from service.models import AuditEvent, Delivery, Inbound, InboundObject, Partner
from tests.twonode import REPORTS

pytestmark = pytest.mark.anyio


def _bundle() -> bytes:
    """A fresh fictional report: the demo bundle under a new bundle id."""
    bundle = json.loads((REPORTS / "sy-escape-d12.json").read_bytes())
    bundle["id"] = f"bundle--{uuid.uuid4()}"
    return json.dumps(bundle).encode()


async def _submit(node, count: int, to: str = "SY") -> list[str]:
    officer = await node.login("officer")
    ids = []
    async with node.client() as c:
        for _ in range(count):
            r = await c.post(
                "/api/v1/reports",
                params={"to": to},
                content=_bundle(),
                headers={**officer, "content-type": "application/stix+json"},
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    return ids


def _deliveries(node) -> list[Delivery]:
    with node.node.db.write() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.seq)))


def _inbound_seqs(node) -> list[int]:
    with node.node.db.write() as s:
        return sorted(s.scalars(select(Inbound.seq)))


def _cursor(node, partner: str) -> int:
    with node.node.db.write() as s:
        return s.scalar(select(Partner.received_through).where(Partner.node_id == partner))


async def test_partner_down_then_back_receives_everything_by_pulling(pinned):
    """SY is unreachable while IQ's officers submit; IQ's pushes fail into backoff. When SY comes
    back it pulls on its own, gets every report once, and its receipts acknowledge them at IQ."""
    iq, sy = pinned
    iq.network.down.add("sy.test")
    await _submit(iq, 12)
    assert await iq.deliver() == 12
    assert {d.state for d in _deliveries(iq)} == {"sent"}  # sealed, attempted, in backoff
    assert all("ConnectError" in (d.last_error or "") for d in _deliveries(iq))

    iq.network.down.clear()
    pulled = await Puller(sy.node).pull_all()
    assert pulled == 12
    assert _inbound_seqs(sy) == list(range(1, 13)) and _cursor(sy, "IQ") == 12
    assert {(d.state, d.acknowledged_via) for d in _deliveries(iq)} == {("acknowledged", "pull")}
    # Nothing left to do for IQ's worker, and pulling again brings nothing new.
    assert await iq.deliver() == 0
    assert await Puller(sy.node).pull_all() == 0


async def test_a_pushed_report_beyond_a_gap_triggers_a_pull_that_fills_it(
    pinned, clock, monkeypatch
):
    iq, sy = pinned
    await _submit(iq, 3)
    with iq.node.db.write() as s:  # hold back seq 1 and 2; only seq 3 is due
        s.execute(
            update(Delivery)
            .where(Delivery.seq < 3)
            .values(next_attempt_at=iq.node.utcnow() + timedelta(hours=1))
        )
    assert await iq.deliver() == 1
    assert _inbound_seqs(sy) == [3] and _cursor(sy, "IQ") == 0
    assert sy.node.pull_requested.is_set()  # the gap asked for a pull

    worker = Worker(sy.node)
    worker._last_pull = time.monotonic()  # a routine pull just happened
    # The gap is acted on only after a short grace (pushes may merely arrive out of order) ...
    assert await worker.pull_if_due() == 0
    # ... and then without waiting for the next routine pull.
    monkeypatch.setattr("service.exchange.worker.GAP_GRACE_SECONDS", 0.0)
    assert await worker.pull_if_due() == 2
    assert not sy.node.pull_requested.is_set()
    assert _inbound_seqs(sy) == [1, 2, 3] and _cursor(sy, "IQ") == 3
    assert {d.state for d in _deliveries(iq)} == {"acknowledged"}


async def test_refused_deliveries_do_not_block_the_cursor(pinned):
    iq, sy = pinned
    await _submit(iq, 3)
    with iq.node.db.write() as s:
        s.execute(update(Delivery).where(Delivery.seq == 2).values(state="refused"))
    await Puller(sy.node).pull_all()
    assert _inbound_seqs(sy) == [1, 3]
    assert _cursor(sy, "IQ") == 3  # seq 2 was declared void by IQ


async def test_a_node_restored_from_an_old_backup_gets_everything_again(pinned):
    iq, sy = pinned
    await _submit(iq, 4)
    await iq.deliver()
    assert _inbound_seqs(sy) == [1, 2, 3, 4]
    # SY is restored from a backup taken before any of them arrived.
    with sy.node.db.write() as s:
        s.execute(delete(InboundObject))
        s.execute(delete(Inbound))
        s.execute(update(Partner).values(received_through=0))
    assert await Puller(sy.node).pull_all() == 4
    assert _inbound_seqs(sy) == [1, 2, 3, 4]
    assert {d.state for d in _deliveries(iq)} == {"acknowledged"}


async def test_two_workers_never_hold_the_same_delivery(pinned):
    iq, _ = pinned
    await _submit(iq, 10)
    a = outbox.claim_due(iq.node, "worker-a", 6)
    b = outbox.claim_due(iq.node, "worker-b", 6)
    assert len(a) == 6 and len(b) == 4 and not set(a) & set(b)
    assert outbox.claim_due(iq.node, "worker-c", 6) == []


async def test_a_crashed_workers_lease_expires_and_another_takes_over(pinned, clock):
    iq, sy = pinned
    await _submit(iq, 2)
    crashed = outbox.claim_due(iq.node, "crashed-worker", 10)
    assert len(crashed) == 2
    survivor = Worker(iq.node, owner="survivor")
    assert await survivor.run_once() == 0  # leased to the crashed worker
    clock.advance(iq.node.settings.delivery_lease_seconds + 1)
    assert await survivor.run_once() == 2
    assert {d.state for d in _deliveries(iq)} == {"acknowledged"}
    assert _inbound_seqs(sy) == [1, 2]


async def test_a_worker_whose_lease_expired_does_not_send(pinned, clock):
    iq, sy = pinned
    await _submit(iq, 1)
    slow = Worker(iq.node, owner="slow")
    [delivery_id] = outbox.claim_due(iq.node, "slow", 1)
    clock.advance(iq.node.settings.delivery_lease_seconds + 1)
    assert outbox.claim_due(iq.node, "fast", 1) == [delivery_id]
    async with PartnerClient.open(iq.node) as client:
        assert await slow.pusher.deliver(client, delivery_id) == "skipped"
    assert _inbound_seqs(sy) == []


async def test_retries_back_off_exponentially_with_jitter(pinned, clock):
    iq, _ = pinned
    iq.network.down.add("sy.test")
    await _submit(iq, 1)
    delays = []
    for _ in range(6):
        clock.advance(10_000)
        await iq.deliver()
        [d] = _deliveries(iq)
        delays.append((d.next_attempt_at - iq.node.utcnow()).total_seconds())
    base, cap = iq.node.settings.retry_base_seconds, iq.node.settings.retry_max_seconds
    for attempt, delay in enumerate(delays, start=1):
        full = min(base * 2 ** (attempt - 1), cap)
        assert full / 2 <= delay <= full
    [d] = _deliveries(iq)
    assert d.attempts == 6 and d.state == "sent" and d.envelope is not None


async def test_pull_needs_a_valid_partner_signature(pinned):
    iq, _ = pinned
    await _submit(iq, 1)
    body = canonicalize({"after": 0})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=iq.app), base_url=iq.url) as c:
        r = await c.post(
            "/federation/v1/pull", content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code == 401 and r.json()["code"] == "rejected"
        intruder = SigningKey.generate()
        parts = httpsig.HttpRequestParts(
            "POST", iq.url + "/federation/v1/pull", {"content-type": "application/json"}, body
        )
        headers = httpsig.sign_request(
            parts, key=intruder, keyid=intruder.public.key_id, now=iq.node.now()
        )
        r = await c.post(
            "/federation/v1/pull",
            content=body,
            headers={"content-type": "application/json", **headers},
        )
        assert r.status_code == 401


async def test_forged_receipts_acknowledge_nothing(pinned):
    """A receipt not signed by SY is counted invalid and leaves the delivery pending."""
    from crypto.receipt import issue_receipt
    from service.federation.wire import RECEIPTS_PATH

    iq, sy = pinned
    await _submit(iq, 1)
    iq.network.down.add("sy.test")
    await iq.deliver()  # sealed, not delivered
    [d] = _deliveries(iq)
    forged = issue_receipt(
        key=SigningKey.generate(),
        message_id=d.message_id,
        envelope_sha256=d.envelope_sha256,
        sender="IQ",
        receiver="SY",
        received_at=iq.node.now(),
    )
    from crypto.encoding import b64u_encode

    body = canonicalize({"receipts": [b64u_encode(forged)]})
    signing = sy.node.identity.signing
    parts = httpsig.HttpRequestParts(
        "POST", iq.url + RECEIPTS_PATH, {"content-type": "application/json"}, body
    )
    headers = httpsig.sign_request(
        parts, key=signing, keyid=signing.public.key_id, now=iq.node.now()
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=iq.app), base_url=iq.url) as c:
        r = await c.post(
            RECEIPTS_PATH, content=body, headers={"content-type": "application/json", **headers}
        )
    assert r.status_code == 200 and r.json() == {"accepted": 0, "invalid": 1, "unknown": 0}
    assert _deliveries(iq)[0].state == "sent"


async def test_exactly_once_when_push_and_pull_race(pinned):
    """The same envelope arrives by push and by pull: one copy, one acknowledgement."""
    iq, sy = pinned
    await _submit(iq, 5)
    await Puller(sy.node).pull_all()
    with iq.node.db.write() as s:  # make IQ push them all again anyway
        s.execute(update(Delivery).values(state="sent", next_attempt_at=iq.node.utcnow()))
    assert await iq.deliver() == 5
    assert _inbound_seqs(sy) == [1, 2, 3, 4, 5]
    with sy.node.db.write() as s:
        assert s.scalar(select(func.count()).select_from(Inbound)) == 5
    assert {d.state for d in _deliveries(iq)} == {"acknowledged"}


async def test_partner_status_shows_backlog_errors_and_gaps(pinned):
    iq, sy = pinned
    iq.network.down.add("sy.test")
    await _submit(iq, 3)
    await iq.deliver()
    admin = await iq.login("admin")
    async with iq.client() as c:
        status = (await c.get("/api/v1/admin/partners/SY/status", headers=admin)).json()
    assert status["backlog"] == 3 and status["by_state"] == {"sent": 3}
    assert "ConnectError" in status["last_error"] and status["oldest_undelivered_at"]
    assert status["last_success_at"] is None and status["next_seq"] == 4

    iq.network.down.clear()
    with iq.node.db.write() as s:  # deliver seq 3 only: SY sees a gap below it
        s.execute(
            update(Delivery)
            .where(Delivery.seq < 3)
            .values(next_attempt_at=iq.node.utcnow() + timedelta(hours=1))
        )
        s.execute(
            update(Delivery).where(Delivery.seq == 3).values(next_attempt_at=iq.node.utcnow())
        )
    await iq.deliver()
    sy_admin = await sy.login("admin")
    async with sy.client() as c:
        inbound = (await c.get("/api/v1/admin/partners/IQ/status", headers=sy_admin)).json()
        officer = await sy.login("officer")
        forbidden = await c.get("/api/v1/admin/partners/IQ/status", headers=officer)
    assert forbidden.status_code == 403
    assert inbound["received"] == 1 and inbound["highest_seq_received"] == 3
    assert inbound["received_through"] == 0 and inbound["missing_below_highest"] == 2
    async with iq.client() as c:
        status = (await c.get("/api/v1/admin/partners/SY/status", headers=admin)).json()
    assert status["backlog"] == 2 and status["by_state"] == {"sent": 2, "acknowledged": 1}
    assert status["last_success_at"] is not None


async def test_an_envelope_that_expired_in_the_outbox_is_sealed_again(pinned, clock):
    """SY is down for longer than an envelope's lifetime: IQ seals the report again (same
    message id and seq) instead of sending an envelope SY must refuse as stale."""
    iq, sy = pinned
    iq.network.down.add("sy.test")
    await _submit(iq, 1)
    await iq.deliver()
    [first] = _deliveries(iq)
    clock.advance(iq.node.settings.envelope_lifetime)
    iq.network.down.clear()
    clock.advance(iq.node.settings.retry_max_seconds)
    assert await iq.deliver() == 1
    [again] = _deliveries(iq)
    assert again.state == "acknowledged" and again.envelope != first.envelope
    assert again.message_id == first.message_id and _inbound_seqs(sy) == [1]


async def test_a_resealed_copy_of_a_stored_report_gets_a_receipt_not_a_second_copy(pinned, clock):
    """SY stored the report but IQ never saw the receipt; by the time IQ retries, its envelope
    has expired and is sealed again. SY recognises the same signed report under the same
    message id and seq, keeps one copy, and signs a receipt for the new bytes."""
    iq, sy = pinned
    await _submit(iq, 1)
    iq.network.cut_after_request.add("sy.test")
    await iq.deliver()
    assert _inbound_seqs(sy) == [1]
    iq.network.cut_after_request.clear()
    clock.advance(iq.node.settings.envelope_lifetime)
    assert await iq.deliver() == 1
    [delivery] = _deliveries(iq)
    assert delivery.state == "acknowledged", delivery.last_error
    assert _inbound_seqs(sy) == [1]


async def test_same_message_id_with_other_content_is_a_conflict(pinned):
    """A sender (bug or attack) re-uses a message id for another report: refused with 409."""
    from crypto.envelope import seal
    from service.audit import Actor
    from service.errors import Conflict
    from service.exchange import store_envelope

    iq, sy = pinned
    await _submit(iq, 1)
    await iq.deliver()
    [delivery] = _deliveries(iq)
    key = iq.node.keyring.partner_document(delivery.partner).current_encryption_key(iq.node.now())
    other = seal(
        sender=iq.node.identity,
        recipient_id="SY",
        recipient_key=key,
        body=_bundle(),
        content_type="application/stix+json;version=2.1",
        message_id=delivery.message_id,
        seq=delivery.seq,
        now=iq.node.now(),
    )
    with sy.node.db.write() as s:
        partner_id = s.scalar(select(Partner.id))
    with pytest.raises(Conflict), sy.node.db.write() as s:
        store_envelope(s, sy.node, partner_id, other.data, Actor("partner", "IQ"), "push")
    assert _inbound_seqs(sy) == [1]


async def test_a_round_that_runs_long_leaves_the_rest_for_the_next(pinned, clock):
    """The worker prepares a round's deliveries together and sends them one after another, each
    only while its lease outlasts the request: when a slow partner makes the round run long,
    the rest is neither sent nor counted as sent (no send is recorded that did not happen), and
    the next round delivers it."""
    iq, sy = pinned
    # One envelope per request (a batch checks every lease before its one request:
    # test_batch_push.py); the same holds between the batches of a round.
    iq.node.settings = iq.node.settings.model_copy(update={"push_batch": 1})
    await _submit(iq, 2)
    lease = iq.node.settings.delivery_lease_seconds

    async def slow(request):  # the first push takes most of the lease
        if request.url.path.endswith("/envelopes"):
            clock.advance(lease - iq.node.settings.delivery_timeout + 1)
            iq.network.probes.clear()

    iq.network.probes.append(slow)
    assert await iq.deliver() == 2
    first, second = _deliveries(iq)
    assert first.state == "acknowledged"
    assert second.state == "queued" and second.attempts == 0 and second.lease_owner is None
    with iq.node.db.read() as s:
        sends = s.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "report.send"))
        assert list(sends) == [first.message_id]
    assert await iq.deliver() == 1
    assert [d.state for d in _deliveries(iq)] == ["acknowledged", "acknowledged"]
    assert _inbound_seqs(sy) == [1, 2]
