"""Batch push (docs/protocol.md section 6, B1-B4): a round's envelopes to a partner in one signed
request, a receipt or a refusal for each. These tests try to break it: a tampered envelope among
good ones, an answer nobody signed, an answer lost after the partner committed, a partner that
does not serve batches."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from crypto import httpsig
from crypto.canonical import canonicalize
from crypto.encoding import b64u_encode
from service.exchange import Worker
from service.models import AuditEvent, Inbound, Partner
from tests.service.test_sync import _deliveries, _inbound_seqs, _submit

pytestmark = pytest.mark.anyio

BATCH = "/federation/v1/envelopes/batch"
SINGLE = "/federation/v1/envelopes"


def _actions(node, action: str) -> list[AuditEvent]:
    with node.node.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _paths(node) -> list[str]:
    return [r.url.path for r in node.network.sent if r.url.path.startswith(SINGLE)]


async def test_a_round_goes_in_one_request_with_a_receipt_each(pinned):
    iq, sy = pinned
    await _submit(iq, 5)
    assert await iq.deliver() == 5
    assert _paths(iq) == [BATCH]
    assert [d.state for d in _deliveries(iq)] == ["acknowledged"] * 5
    assert all(d.acknowledged_via == "push" and d.receipt for d in _deliveries(iq))
    assert _inbound_seqs(sy) == [1, 2, 3, 4, 5]
    assert len(_actions(sy, "report.receive")) == 5 and len(_actions(iq, "report.send")) == 5
    with sy.node.db.read() as s:
        assert s.scalar(select(Partner.received_through).where(Partner.node_id == "IQ")) == 5


async def test_push_batch_one_sends_each_envelope_alone(pinned):
    iq, sy = pinned
    iq.node.settings = iq.node.settings.model_copy(update={"push_batch": 1})
    await _submit(iq, 3)
    assert await iq.deliver() == 3
    assert _paths(iq) == [SINGLE] * 3
    assert _inbound_seqs(sy) == [1, 2, 3]


async def _sealed_envelopes(iq, sy, count: int) -> list[bytes]:
    """``count`` envelopes IQ sealed for SY and could not deliver (SY was down)."""
    await _submit(iq, count)
    iq.network.down.add(sy.host)
    assert await iq.deliver() == count
    iq.network.down.discard(sy.host)
    envelopes = [d.envelope for d in _deliveries(iq)]
    assert all(envelopes)
    return envelopes


def _signed_batch(iq, sy, envelopes: list[bytes]) -> tuple[dict[str, str], bytes]:
    body = canonicalize({"envelopes": [b64u_encode(e) for e in envelopes]})
    parts = httpsig.HttpRequestParts("POST", sy.url + BATCH, {"content-type": "application/json"},
                                     body)  # fmt: skip
    signing = iq.node.identity.signing
    headers = httpsig.sign_request(parts, key=signing, keyid=signing.public.key_id,
                                   now=iq.node.now())  # fmt: skip
    return {"content-type": "application/json", **headers}, body


async def _post(sy, headers, body) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sy.app), base_url=sy.url) as c:
        return await c.post(BATCH, headers=headers, content=body)


async def test_a_tampered_envelope_is_refused_alone_and_the_rest_stored(pinned, clock):
    iq, sy = pinned
    good, bad, third = await _sealed_envelopes(iq, sy, 3)
    tampered = bad[:-40] + bytes([bad[-40] ^ 1]) + bad[-39:]
    headers, body = _signed_batch(iq, sy, [good, tampered, third])
    r = await _post(sy, headers, body)
    assert r.status_code == 200 and "signature" in r.headers
    results = r.json()["results"]
    assert "receipt" in results[0] and "receipt" in results[2]
    assert results[1] == {"status": 401, "code": "rejected"}  # no detail for a forgery
    assert _inbound_seqs(sy) == [1, 3]
    refusals = [e.reason or "" for e in _actions(sy, "federation.refuse")]
    assert any(f"{BATCH} envelope 1:" in reason for reason in refusals)
    # The very same request again is a replay (its nonce was kept with what it caused).
    assert (await _post(sy, headers, body)).status_code == 401
    # IQ's own next round (past the backoff) delivers all three, each stored once.
    clock.advance(3600)
    assert await iq.deliver() == 3
    assert [d.state for d in _deliveries(iq)] == ["acknowledged"] * 3
    assert _inbound_seqs(sy) == [1, 2, 3]


async def test_a_malformed_batch_is_a_signed_400_and_stores_nothing(pinned):
    iq, sy = pinned
    headers, body = _signed_batch(iq, sy, [])
    r = await _post(sy, headers, body)
    assert r.status_code == 400 and "signature" in r.headers
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _inbound_seqs(sy) == []


async def test_a_batch_answer_nobody_signed_acknowledges_nothing(pinned):
    iq, sy = pinned
    await _submit(iq, 2)
    fake = canonicalize({"results": [{"receipt": b64u_encode(b"x" * 64)}] * 2})
    iq.network.forged_answers[sy.host] = httpx.Response(
        200, content=fake, headers={"content-type": "application/json"}
    )
    assert await iq.deliver() == 2
    deliveries = _deliveries(iq)
    assert all(d.state == "sent" and d.attempts == 1 for d in deliveries)
    assert all("invalid batch answer" in (d.last_error or "") for d in deliveries)
    del iq.network.forged_answers[sy.host]


async def test_a_batch_answer_lost_after_the_partner_committed_is_recovered_once(pinned, clock):
    iq, sy = pinned
    await _submit(iq, 4)
    iq.network.cut_after_request.add(sy.host)
    assert await iq.deliver() == 4
    iq.network.cut_after_request.discard(sy.host)
    assert _inbound_seqs(sy) == [1, 2, 3, 4]  # SY committed; IQ never read the receipts
    assert all(d.state == "sent" for d in _deliveries(iq))
    clock.advance(3600)  # past every backoff
    assert await iq.deliver() == 4
    assert [d.state for d in _deliveries(iq)] == ["acknowledged"] * 4
    assert _inbound_seqs(sy) == [1, 2, 3, 4]  # the same bytes again: stored receipts (F3)
    with sy.node.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Inbound)) == 4


async def test_a_partner_without_batches_gets_single_pushes(pinned):
    iq, sy = pinned
    iq.network.missing_paths[sy.host] = {BATCH}  # SY runs a version without batches
    worker = Worker(iq.node)
    await _submit(iq, 3)
    assert await worker.run_once() == 3
    assert _paths(iq) == [BATCH, SINGLE, SINGLE, SINGLE]
    assert [d.state for d in _deliveries(iq)] == ["acknowledged"] * 3
    await _submit(iq, 2)
    iq.network.sent.clear()
    assert await worker.run_once() == 2
    assert _paths(iq) == [SINGLE, SINGLE]  # remembered for the worker's life
