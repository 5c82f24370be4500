"""The offline courier: envelopes and receipts carried across an air gap in files.

Both nodes run in-process with the network between them cut, so nothing travels but the files.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select, update

from crypto.canonical import canonicalize
from crypto.encoding import b64u_decode, b64u_encode
from crypto.receipt import issue_receipt
from crypto.signing import SigningKey
from service.exchange import courier
from service.models import AuditEvent, Delivery, Inbound, Partner
from tests.twonode import REPORTS

pytestmark = pytest.mark.anyio

EXPORT = "/api/v1/admin/courier/export"
IMPORT = "/api/v1/admin/courier/import"


def _bundle() -> bytes:
    bundle = json.loads((REPORTS / "sy-escape-d12.json").read_bytes())
    bundle["id"] = f"bundle--{uuid.uuid4()}"
    return json.dumps(bundle).encode()


async def _submit(node, count: int, to: str = "SY") -> None:
    officer = await node.login("officer")
    async with node.client() as c:
        for _ in range(count):
            r = await c.post(
                "/api/v1/reports",
                params={"to": to},
                content=_bundle(),
                headers={**officer, "content-type": "application/stix+json"},
            )
            assert r.status_code == 201, r.text


async def _export(node, partner: str = "SY", **extra) -> dict:
    admin = await node.login("admin")
    async with node.client() as c:
        r = await c.post(EXPORT, headers=admin, json={"partner": partner, **extra})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return json.loads(r.content)


async def _import(node, data: bytes | dict, status: int = 200) -> dict:
    body = canonicalize(data) if isinstance(data, dict) else data
    admin = await node.login("admin")
    async with node.client() as c:
        r = await c.post(IMPORT, headers={**admin, "content-type": "application/json"},
                         content=body)  # fmt: skip
    assert r.status_code == status, r.text
    return r.json()


def _deliveries(node) -> list[Delivery]:
    with node.node.db.write() as s:
        return list(s.scalars(select(Delivery).order_by(Delivery.seq)))


def _inbound_seqs(node) -> list[int]:
    with node.node.db.write() as s:
        return sorted(s.scalars(select(Inbound.seq)))


def _cursor(node, partner: str) -> int:
    with node.node.db.write() as s:
        return s.scalar(select(Partner.received_through).where(Partner.node_id == partner))


def _audit(node, action: str) -> list[AuditEvent]:
    with node.node.db.write() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _air_gap(iq, sy) -> None:
    iq.network.down.update({iq.host, sy.host})


async def test_an_air_gapped_round_trip_delivers_and_acknowledges_everything(pinned):
    """With no network between them, IQ's reports reach SY by file and SY's receipts come back
    by file: every report stored once at SY, every delivery acknowledged "via courier" at IQ."""
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 3)
    assert await iq.deliver() == 3  # pushes fail: sealed, in backoff
    await _submit(iq, 2)  # never attempted: sealed on export
    assert [d.envelope is None for d in _deliveries(iq)] == [False] * 3 + [True] * 2

    exported = await _export(iq)
    assert exported["type"] == "liaison.courier.envelopes" and exported["version"] == 1
    assert (exported["from"], exported["to"]) == ("IQ", "SY")
    assert len(exported["envelopes"]) == 5 and exported["void"] == [] and not exported["more"]
    stored = [d.envelope for d in _deliveries(iq)]
    assert [b64u_decode(e) for e in exported["envelopes"]] == stored  # the stored bytes
    assert {d.state for d in _deliveries(iq)} == {"sent"}
    [event] = _audit(iq, "courier.export")
    assert event.actor == "admin" and "5 envelopes" in event.reason

    answer = await _import(sy, exported)
    assert (answer["kind"], answer["from"]) == ("envelopes", "IQ")
    assert (answer["received"], answer["duplicates"], answer["refused"]) == (5, 0, [])
    assert _inbound_seqs(sy) == [1, 2, 3, 4, 5] and _cursor(sy, "IQ") == 5
    receipts = answer["receipts_file"]
    assert receipts["type"] == "liaison.courier.receipts"
    assert (receipts["from"], receipts["to"], len(receipts["receipts"])) == ("SY", "IQ", 5)
    received = _audit(sy, "report.receive")
    assert len(received) == 5 and all("via courier" in e.reason for e in received)

    back = await _import(iq, receipts)
    assert back == {"kind": "receipts", "from": "SY", "accepted": 5, "unknown": 0, "invalid": 0}
    assert {(d.state, d.acknowledged_via) for d in _deliveries(iq)} == {("acknowledged", "courier")}
    # Nothing is pending any more: the next file is empty, and the worker has nothing to do.
    assert (await _export(iq))["envelopes"] == []
    assert await iq.deliver() == 0


async def test_importing_the_same_file_twice_stores_one_copy(pinned):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 3)
    exported = await _export(iq)
    first = await _import(sy, exported)
    again = await _import(sy, exported)
    assert (again["received"], again["duplicates"], again["refused"]) == (0, 3, [])
    with sy.node.db.write() as s:
        assert s.scalar(select(func.count()).select_from(Inbound)) == 3
    # The stored receipts are sent again: the same bytes, and IQ accepts either file.
    assert again["receipts_file"]["receipts"] == first["receipts_file"]["receipts"]
    assert (await _import(iq, again["receipts_file"]))["accepted"] == 3
    assert (await _import(iq, first["receipts_file"]))["accepted"] == 3
    assert {d.state for d in _deliveries(iq)} == {"acknowledged"}
    assert len(_audit(iq, "receipt.accept")) == 3  # the first receipt is the one kept


async def test_a_report_pushed_and_carried_is_stored_once(pinned):
    """The courier carries the envelope the push already delivered: a duplicate, not a copy."""
    iq, sy = pinned
    await _submit(iq, 1)
    iq.network.cut_after_request.add(sy.host)  # pushed, but the receipt is lost on the way
    await iq.deliver()
    assert _inbound_seqs(sy) == [1] and _deliveries(iq)[0].state == "sent"
    answer = await _import(sy, await _export(iq))
    assert (answer["received"], answer["duplicates"]) == (0, 1)
    assert (await _import(iq, answer["receipts_file"]))["accepted"] == 1
    assert _deliveries(iq)[0].acknowledged_via == "courier"


async def test_a_tampered_envelope_is_refused_and_the_others_accepted(pinned):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 3)
    exported = await _export(iq)
    tampered = bytearray(b64u_decode(exported["envelopes"][1]))
    tampered[-1] ^= 0x01
    exported["envelopes"][1] = b64u_encode(bytes(tampered))

    answer = await _import(sy, exported)
    assert (answer["received"], answer["duplicates"]) == (2, 0)
    [refusal] = answer["refused"]
    assert refusal["index"] == 1 and refusal["reason"].startswith("rejected (decryption_failed)")
    assert _inbound_seqs(sy) == [1, 3] and _cursor(sy, "IQ") == 1
    [refused] = _audit(sy, "federation.refuse")
    assert refused.outcome == "denied" and refused.actor.startswith("IQ/")
    assert "courier envelope 1 (imported by admin)" in refused.reason

    back = await _import(iq, answer["receipts_file"])
    assert (back["accepted"], back["invalid"]) == (2, 0)
    assert [d.state for d in _deliveries(iq)] == ["acknowledged", "sent", "acknowledged"]
    # The untouched envelope is still pending and goes in the next file.
    again = await _export(iq)
    assert [b64u_decode(e) for e in again["envelopes"]] == [_deliveries(iq)[1].envelope]
    assert (await _import(sy, again))["received"] == 1
    assert _cursor(sy, "IQ") == 3


async def test_an_envelope_in_another_senders_file_is_refused(pinned):
    """F2 holds for files: IQ's envelope presented as coming from SY is not accepted by IQ."""
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 1)
    exported = await _export(iq)
    forwarded = {**exported, "from": "SY", "to": "IQ"}
    answer = await _import(iq, forwarded)
    assert answer["received"] == 0
    assert answer["refused"][0]["reason"] == "rejected (unknown_key); the audit log has the details"


async def test_a_file_addressed_to_another_node_is_refused(pinned):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 1)
    exported = await _export(iq)
    problem = await _import(iq, exported, status=422)  # IQ's own file, for SY
    assert problem["code"] == "not_for_this_node"
    assert problem["detail"] == "this courier file is addressed to 'SY', not to this node IQ"
    problem = await _import(sy, {**exported, "to": "LB"}, status=422)
    assert problem["code"] == "not_for_this_node"
    problem = await _import(sy, {**exported, "from": "LB"}, status=422)
    assert problem["code"] == "unknown_partner"
    assert _inbound_seqs(sy) == []
    denied = _audit(sy, "courier.import")
    assert [e.outcome for e in denied] == ["denied", "denied"]
    assert "not_for_this_node" in denied[0].reason


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "not a liaison courier file: it is not valid JSON"),
        (b'{"type":"liaison.courier.receipts","type":"x"}', "duplicate"),
        (b"[]", "it is not a JSON object"),
        (canonicalize({"type": "liaison.key-document", "version": 1}), "its type must be"),
        (canonicalize({"type": "liaison.courier.receipts", "version": 2}), "version 2"),
        (canonicalize({"type": "liaison.courier.receipts", "version": 1, "from": "IQ",
                       "to": "SY", "created": 1, "receipts": [], "extra": 1}), "exactly"),
        (canonicalize({"type": "liaison.courier.receipts", "version": 1, "from": "IQ",
                       "to": "SY", "created": 1, "receipts": [1]}), "base64url strings"),
    ],
)  # fmt: skip
async def test_anything_but_a_courier_file_is_refused(pinned, body, detail):
    _, sy = pinned
    problem = await _import(sy, body, status=422)
    assert problem["code"] == "invalid_courier_file"
    assert problem["detail"].startswith("not a liaison courier file: ")
    assert detail in problem["detail"]


async def test_a_forged_receipt_acknowledges_nothing(pinned):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 2)
    answer = await _import(sy, await _export(iq))
    first = _deliveries(iq)[0]
    forged = issue_receipt(key=SigningKey.generate(), message_id=first.message_id,
                           envelope_sha256=first.envelope_sha256, sender="IQ", receiver="SY",
                           received_at=iq.node.now())  # fmt: skip
    stranger = issue_receipt(key=SigningKey.generate(), message_id="iq-unknown-message-0001",
                             envelope_sha256=b"\0" * 32, sender="IQ", receiver="SY",
                             received_at=iq.node.now())  # fmt: skip
    receipts = {**answer["receipts_file"],
                "receipts": [b64u_encode(forged), b64u_encode(stranger), "not*base64"]}  # fmt: skip
    back = await _import(iq, receipts)
    assert (back["accepted"], back["unknown"], back["invalid"]) == (0, 1, 2)
    assert {d.state for d in _deliveries(iq)} == {"sent"}
    refused = _audit(iq, "receipt.refuse")
    assert len(refused) == 2 and "signature_invalid" in refused[0].reason
    # The genuine file still acknowledges both.
    assert (await _import(iq, answer["receipts_file"]))["accepted"] == 2


async def test_only_admins_use_the_courier(pinned):
    iq, _ = pinned
    await _submit(iq, 1)
    for role in ("officer", "auditor"):
        headers = await iq.login(role)
        async with iq.client() as c:
            r = await c.post(EXPORT, headers=headers, json={"partner": "SY"})
            assert r.status_code == 403 and r.json()["code"] == "forbidden"
            r = await c.post(IMPORT, headers=headers, content=b"{}")
            assert r.status_code == 403
    async with iq.client() as c:
        assert (await c.post(EXPORT, json={"partner": "SY"})).status_code == 401
    assert len(_audit(iq, "auth.role")) == 4
    assert [d.state for d in _deliveries(iq)] == ["queued"]  # nothing was exported


async def test_an_empty_export_imports_cleanly(pinned):
    iq, sy = pinned
    exported = await _export(iq)
    assert (exported["envelopes"], exported["void"], exported["more"]) == ([], [], False)
    answer = await _import(sy, exported)
    assert (answer["received"], answer["duplicates"], answer["refused"]) == (0, 0, [])
    assert answer["receipts_file"]["receipts"] == []
    back = await _import(iq, answer["receipts_file"])
    assert (back["accepted"], back["unknown"], back["invalid"]) == (0, 0, 0)


async def test_void_sequence_numbers_move_the_receivers_cursor(pinned):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 3)
    with iq.node.db.write() as s:
        s.execute(update(Delivery).where(Delivery.seq == 2).values(state="refused"))
    exported = await _export(iq)
    assert len(exported["envelopes"]) == 2 and exported["void"] == [2]
    await _import(sy, exported)
    assert _inbound_seqs(sy) == [1, 3] and _cursor(sy, "IQ") == 3


async def test_export_in_batches(pinned):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 3)
    first = await _export(iq, limit=2)
    assert len(first["envelopes"]) == 2 and first["more"]
    rest = await _export(iq, after=2)
    assert len(rest["envelopes"]) == 1 and not rest["more"]
    await _import(sy, rest)
    await _import(sy, first)
    assert _inbound_seqs(sy) == [1, 2, 3] and _cursor(sy, "IQ") == 3


async def test_export_refuses_when_the_partners_keys_have_expired(pinned, clock):
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 1)
    clock.advance(91 * 24 * 3600)  # past every encryption key SY published
    admin = await iq.login("admin")
    async with iq.client() as c:
        r = await c.post(EXPORT, headers=admin, json={"partner": "SY"})
        assert r.status_code == 409 and r.json()["code"] == "partner_keys_expired"
        r = await c.post(EXPORT, headers=admin, json={"partner": "LB"})
        assert r.status_code == 404
    assert _deliveries(iq)[0].state == "queued"
    assert [e.outcome for e in _audit(iq, "courier.export")] == ["denied", "denied"]


async def test_an_oversize_file_is_refused_before_it_is_read(pinned, monkeypatch):
    _, sy = pinned
    monkeypatch.setattr(courier, "MAX_FILE_BYTES", 1024)
    problem = await _import(sy, b" " * 2048, status=413)
    assert problem["code"] == "too_large"


async def test_a_file_carried_longer_than_the_envelope_lifetime_is_refused_then_resealed(
    pinned, clock
):
    """A courier file that took longer than ``envelope_lifetime`` to arrive fails R7 at the
    receiver and the sender keeps the delivery pending; the next export seals it again (same
    message id and seq), and that one arrives."""
    iq, sy = pinned
    _air_gap(iq, sy)
    await _submit(iq, 1)
    await iq.deliver()  # sealed now, on the failed push
    stale_file = await _export(iq)
    clock.advance(iq.node.settings.envelope_lifetime + iq.node.settings.clock_skew + 1)
    answer = await _import(sy, stale_file)
    assert [r["reason"] for r in answer["refused"]] == [
        "rejected (not_fresh); the audit log has the details"
    ]
    assert _inbound_seqs(sy) == [] and _deliveries(iq)[0].state == "sent"
    answer = await _import(sy, await _export(iq))
    assert answer["received"] == 1 and _inbound_seqs(sy) == [1]
