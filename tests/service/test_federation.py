"""Node-to-node requests that try to break federation: unsigned, forged, replayed, tampered,
stale, relayed, and lost receipts. Each is refused with 401 and recorded, or (for a lost
receipt) recovered without a second copy."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from crypto import httpsig
from crypto.signing import SigningKey
from service.federation.wire import ENVELOPE_MEDIA_TYPE
from service.models import AuditEvent, Delivery, Inbound
from tests.twonode import REPORTS

pytestmark = pytest.mark.anyio

ENVELOPES = "/federation/v1/envelopes"


async def _submit(node, to="SY", name="iq-cell-wadi7.json"):
    officer = await node.login("officer")
    async with node.client() as c:
        r = await c.post(
            "/api/v1/reports",
            params={"to": to},
            content=(REPORTS / name).read_bytes(),
            headers={**officer, "content-type": "application/stix+json"},
        )
    assert r.status_code == 201, r.text
    return r.json()


def _count(node, model) -> int:
    with node.node.db.write() as s:
        return s.scalar(select(func.count()).select_from(model))


def _refusals(node) -> list[str]:
    with node.node.db.write() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "federation.refuse"))
        return [e.reason or "" for e in rows]


async def _captured_delivery(iq, sy):
    """Let IQ deliver one report and return the signed request it sent (method, url, headers,
    body), as an attacker on the wire would have recorded it."""
    await _submit(iq)
    assert await iq.deliver() == 1
    request = next(r for r in iq.network.sent if r.url.path == ENVELOPES)
    return request


async def _post(sy, headers, body):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sy.app), base_url=sy.url) as c:
        return await c.post(ENVELOPES, headers=headers, content=body)


def _assert_rejected(response):
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    # The peer learns nothing about which check failed.
    assert response.json()["code"] == "rejected" and response.json()["detail"] == "rejected"


async def test_replayed_request_is_refused(pinned):
    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    before = _count(sy, Inbound)
    response = await _post(sy, dict(captured.headers), captured.content)
    _assert_rejected(response)
    assert _count(sy, Inbound) == before == 1
    assert any("replay" in r for r in _refusals(sy))


async def test_unsigned_request_is_refused(pinned):
    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    headers = {"content-type": ENVELOPE_MEDIA_TYPE}
    _assert_rejected(await _post(sy, headers, captured.content))
    assert any("malformed" in r for r in _refusals(sy))


async def test_request_signed_by_an_unpinned_key_is_refused(pinned):
    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    intruder = SigningKey.generate()
    parts = httpsig.HttpRequestParts(
        "POST", sy.url + ENVELOPES, {"content-type": ENVELOPE_MEDIA_TYPE}, captured.content
    )
    headers = httpsig.sign_request(
        parts, key=intruder, keyid=intruder.public.key_id, now=sy.node.now()
    )
    _assert_rejected(await _post(sy, {"content-type": ENVELOPE_MEDIA_TYPE, **headers}, b"x"))
    _assert_rejected(
        await _post(sy, {"content-type": ENVELOPE_MEDIA_TYPE, **headers}, captured.content)
    )
    assert any("unknown_key" in r for r in _refusals(sy))


async def test_forged_signature_under_the_pinned_key_id_is_refused(pinned):
    """An attacker names IQ's key id but signs with its own key."""
    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    intruder = SigningKey.generate()
    parts = httpsig.HttpRequestParts(
        "POST", sy.url + ENVELOPES, {"content-type": ENVELOPE_MEDIA_TYPE}, captured.content
    )
    headers = httpsig.sign_request(
        parts, key=intruder, keyid=iq.node.identity.signing.public.key_id, now=sy.node.now()
    )
    _assert_rejected(await _post(sy, {"content-type": ENVELOPE_MEDIA_TYPE, **headers}, parts.body))
    assert any("signature_invalid" in r for r in _refusals(sy))


async def test_tampered_body_is_refused(pinned):
    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    body = bytearray(captured.content)
    body[-10] ^= 0x40
    _assert_rejected(await _post(sy, dict(captured.headers), bytes(body)))


async def test_stale_and_future_requests_are_refused(pinned, clock):
    iq, sy = pinned
    await _submit(iq)
    sy.network.cut_after_request.add("sy.test")  # capture a fresh request without storing twice
    await iq.deliver()
    captured = [r for r in iq.network.sent if r.url.path == ENVELOPES][-1]
    sy.network.cut_after_request.clear()
    clock.advance(3600)  # SY's clock: an hour later, the request is stale
    _assert_rejected(await _post(sy, dict(captured.headers), captured.content))
    clock.advance(-7200)  # an hour earlier: created in the future
    _assert_rejected(await _post(sy, dict(captured.headers), captured.content))
    assert any("not_fresh" in r for r in _refusals(sy))


async def test_request_for_another_target_is_refused(pinned):
    """A request signed for another node's URL does not verify here (@target-uri)."""
    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    parts = httpsig.HttpRequestParts(
        "POST",
        "http://elsewhere.test" + ENVELOPES,
        {"content-type": ENVELOPE_MEDIA_TYPE},
        captured.content,
    )
    identity = iq.node.identity
    headers = httpsig.sign_request(
        parts, key=identity.signing, keyid=identity.signing.public.key_id, now=sy.node.now()
    )
    _assert_rejected(await _post(sy, {"content-type": ENVELOPE_MEDIA_TYPE, **headers}, parts.body))


async def test_envelope_relayed_by_another_partner_is_refused(pinned, tmp_path, clock):
    """JO, also pinned by SY, replays IQ's envelope under its own valid request signature."""
    from crypto.fingerprint import fingerprint
    from tests.databases import fresh_database
    from tests.twonode import make_node

    iq, sy = pinned
    captured = await _captured_delivery(iq, sy)
    with fresh_database("sqlite", tmp_path, "jo") as url:
        jo = make_node("JO", "Amman", tmp_path, url, sy.network, clock)
        try:
            admin = await sy.login("admin")
            async with sy.client() as c:
                r = await c.post(
                    "/api/v1/admin/partners",
                    headers=admin,
                    json={
                        "node_id": "JO",
                        "url": jo.url,
                        "fingerprint": fingerprint(jo.node.identity.signing.public),
                    },
                )
                assert r.status_code == 201, r.text
            parts = httpsig.HttpRequestParts(
                "POST", sy.url + ENVELOPES, {"content-type": ENVELOPE_MEDIA_TYPE}, captured.content
            )
            signing = jo.node.identity.signing
            headers = httpsig.sign_request(
                parts, key=signing, keyid=signing.public.key_id, now=sy.node.now()
            )
            response = await _post(sy, {"content-type": ENVELOPE_MEDIA_TYPE, **headers}, parts.body)
            _assert_rejected(response)
            assert any("not the requesting partner" in r for r in _refusals(sy))
        finally:
            jo.close()


async def test_lost_receipt_is_recovered_without_a_second_copy(pinned):
    """The link drops after SY committed but before IQ read the receipt; IQ's retry gets the
    stored receipt, SY keeps one copy, and IQ marks the report acknowledged."""
    iq, sy = pinned
    await _submit(iq)
    iq.network.cut_after_request.add("sy.test")
    await iq.deliver()
    with iq.node.db.write() as s:
        delivery = s.scalars(select(Delivery)).one()
        assert delivery.state == "sent" and "ReadError" in (delivery.last_error or "")
        first_envelope = delivery.envelope
    assert _count(sy, Inbound) == 1

    iq.network.cut_after_request.clear()
    with iq.node.db.write() as s:  # the retry is due now rather than after the backoff
        s.scalars(select(Delivery)).one().next_attempt_at = iq.node.utcnow()
    assert await iq.deliver() == 1
    with iq.node.db.write() as s:
        delivery = s.scalars(select(Delivery)).one()
        assert delivery.state == "acknowledged"
        assert delivery.envelope == first_envelope  # the very same bytes were sent again
    assert _count(sy, Inbound) == 1
    with sy.node.db.write() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "report.receive"))
        assert [e.reason for e in events] == ["accepted", "duplicate: stored receipt re-sent"]


async def test_refusal_reasons_reach_the_audit_log_but_not_the_peer(pinned):
    _iq, sy = pinned
    response = await _post(sy, {"content-type": ENVELOPE_MEDIA_TYPE}, b"garbage")
    _assert_rejected(response)
    assert "garbage" not in response.text
    assert _refusals(sy)


async def test_wrong_media_type_is_a_problem(pinned):
    _iq, sy = pinned
    response = await _post(sy, {"content-type": "application/json"}, b"{}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_forged_refusal_does_not_make_the_sender_give_up(pinned):
    """Someone on the path answers IQ's push with an unsigned 422: IQ keeps the delivery
    pending and retries, since only a refusal SY signed ends a delivery."""
    iq, _ = pinned
    await _submit(iq)
    iq.network.forged_answers["sy.test"] = httpx.Response(
        422,
        headers={"content-type": "application/problem+json"},
        json={"status": 422, "code": "stix_invalid", "detail": "forged"},
    )
    await iq.deliver()
    with iq.node.db.write() as s:
        delivery = s.scalars(select(Delivery)).one()
        assert delivery.state == "sent", delivery.last_error
        assert "unsigned refusal" in (delivery.last_error or "")
        delivery.next_attempt_at = iq.node.utcnow()
    iq.network.forged_answers.clear()
    await iq.deliver()
    with iq.node.db.write() as s:
        assert s.scalars(select(Delivery)).one().state == "acknowledged"


async def test_a_signed_refusal_ends_the_delivery(pinned):
    """SY holds a message id with other content and answers 409 with a signed problem: IQ
    verifies the signature and marks the delivery refused, with SY's reason."""
    from crypto.envelope import seal

    iq, _ = pinned
    await _submit(iq)
    await iq.deliver()
    await _submit(iq)
    with iq.node.db.write() as s:
        first, second = s.scalars(select(Delivery).order_by(Delivery.seq)).all()
        key = iq.node.keyring.partner_document(first.partner).current_encryption_key(iq.node.now())
        body = (REPORTS / "sy-escape-d12.json").read_bytes()
        # A (buggy) sender re-uses the first message id for another report.
        clash = seal(
            sender=iq.node.identity,
            recipient_id="SY",
            recipient_key=key,
            body=body,
            content_type="application/stix+json;version=2.1",
            message_id=first.message_id,
            seq=first.seq,
            now=iq.node.now(),
        )
        second.envelope, second.envelope_sha256 = clash.data, clash.digest
    await iq.deliver()
    with iq.node.db.write() as s:
        second = s.scalars(select(Delivery).order_by(Delivery.seq.desc())).first()
        assert second.state == "refused", second.last_error
        assert "409" in second.last_error and "already received" in second.last_error
