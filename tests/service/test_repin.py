"""Re-pinning a partner whose key file was copied, and removing one.

A thief with SY's copied keys injects reports into IQ, one under the next sequence number SY
itself will use and one far ahead. IQ suspends SY; SY makes a new identity; IQ re-pins it after
the fingerprint is read out. Then: what the thief signed is distrusted and named, its numbers no
longer block SY's genuine reports, what SY genuinely sent in the window is trusted again when it
sends it again under its new keys, everything from before still reads and verifies, and IQ's
undelivered envelopes go to SY's new keys."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from crypto.envelope import parse_header, seal
from crypto.errors import CryptoError
from crypto.fingerprint import fingerprint
from crypto.keys import NodeIdentity
from crypto.signing import SigningKey
from service.audit import Actor
from service.exchange import Puller, store_envelope, witness_all
from service.models import Delivery, Inbound, Partner, PartnerKey
from service.reports import STIX_MEDIA_TYPE, Route
from service.reports.content import received_bundle
from tests.service.test_enforcement import events, submit
from tests.service.test_suspension import admin_post, report, sy_report
from tests.twonode import verify_log

pytestmark = pytest.mark.anyio


def forge(thief: NodeIdentity, iq, seq: int) -> bytes:
    """An envelope to IQ signed with SY's copied keys."""
    bundle = sy_report()
    for obj in bundle["objects"]:
        if obj["type"] == "report":
            obj["name"] = "Fabricated escape alert"
    now = int(iq.node.now())
    return seal(sender=thief, recipient_id="IQ",
                recipient_key=iq.node.identity.current_kem_key(now).published(),
                body=json.dumps(bundle).encode(), content_type=STIX_MEDIA_TYPE,
                message_id=str(uuid.uuid4()), seq=seq, now=now).data  # fmt: skip


def inject(iq, envelope: bytes) -> str:
    with iq.node.db.write() as s:
        partner_id = s.scalar(select(Partner.id).where(Partner.node_id == "SY"))
        return store_envelope(s, iq.node, partner_id, envelope, Actor.partner("SY"),
                              Route.PUSH).inbound_id  # fmt: skip


def new_identity(sy) -> NodeIdentity:
    """SY's administrators make new keys (the data and token keys stay: they did not leave)."""
    old = sy.node.identity
    fresh = NodeIdentity(old.node_id, SigningKey.generate(), secrets=dict(old.secrets))
    fresh.add_kem_key(now=int(sy.node.now()))
    sy.node.identity = fresh
    sy.node.__dict__.pop("key_document", None)
    return fresh


def inbound(iq) -> dict[int, Inbound]:
    with iq.node.db.read() as s:
        return {row.seq: row for row in s.scalars(select(Inbound).order_by(Inbound.id))
                if row.distrusted_at is None}  # fmt: skip


def cursor(iq) -> int:
    with iq.node.db.read() as s:
        return s.scalar(select(Partner.received_through).where(Partner.node_id == "SY"))


async def test_after_a_repin_forgeries_are_named_and_genuine_reports_get_through(pinned, clock):
    iq, sy = pinned
    for _ in range(2):  # seq 1 and 2, before the compromise
        assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    assert (await submit(iq, report())).status_code == 201
    await iq.deliver()
    await witness_all(sy.node)  # SY cosigns IQ's checkpoint with its old key
    clock.advance(600)
    since = iq.node.utcnow()
    clock.advance(60)
    thief = sy.node.identity  # the copied key file
    old_fingerprint = fingerprint(thief.signing.public)

    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201  # genuine, seq 3
    await sy.deliver()
    forged_next = inject(iq, forge(thief, iq, 4))  # the number SY will use next
    forged_far = inject(iq, forge(thief, iq, 1_000_000))
    assert cursor(iq) == 4

    sy_net = "sy.test"
    iq.network.down.add(sy_net)  # IQ's next report is sealed to SY's old key, not delivered
    assert (await submit(iq, report())).status_code == 201
    await iq.deliver()
    iq.network.down.discard(sy_net)

    r = await admin_post(iq, "SY/suspend", {"compromised_since": since.isoformat()})
    assert r.status_code == 200 and len(r.json()["quarantined"]) == 3

    fresh = new_identity(sy)
    new_fingerprint = fingerprint(fresh.signing.public)
    # A wrong fingerprint pins nothing; the right one, read out by phone, re-pins.
    wrong = await admin_post(iq, "SY/repin", {"url": sy.url, "fingerprint": old_fingerprint})
    assert wrong.status_code == 422 and wrong.json()["code"] == "fingerprint_mismatch"
    r = await admin_post(iq, "SY/repin", {"url": sy.url, "fingerprint": new_fingerprint})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["previous_fingerprint"] == old_fingerprint
    assert done["partner"]["fingerprint"] == new_fingerprint
    assert done["partner"]["previous_fingerprints"] == [old_fingerprint]
    assert done["partner"]["suspended_at"]  # still suspended until resumed
    assert len(done["distrusted"]) == 3 and {forged_next, forged_far} <= set(done["distrusted"])
    assert done["to_reseal"] == 1
    assert cursor(iq) == 2  # back below the first distrusted number
    again = await admin_post(iq, "SY/repin", {"url": sy.url, "fingerprint": new_fingerprint})
    assert again.status_code == 409 and again.json()["code"] == "same_key"
    with iq.node.db.read() as s:
        [old] = s.scalars(select(PartnerKey)).all()
    assert old.fingerprint == old_fingerprint and old.compromised_since is not None

    # The thief's keys are refused from now on, whatever the route.
    assert (await admin_post(iq, "SY/resume")).status_code == 200
    with pytest.raises(CryptoError):
        inject(iq, forge(thief, iq, 5))

    # SY's next report takes seq 4, which the thief had used: it gets through.
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    # IQ pulls what it lacks above its cursor: SY sends seq 3 again under its new keys, and
    # that copy, the same signed report, is trusted again.
    await Puller(iq.node).pull_all()
    trusted = inbound(iq)
    assert sorted(trusted) == [1, 2, 3, 4] and cursor(iq) == 4
    assert trusted[3].status == "quarantined"  # genuine, still for an officer to review
    with iq.node.db.read() as s:
        forged = {row.id: row for row in s.scalars(select(Inbound)) if row.distrusted_at}
    assert set(forged) == {forged_next, forged_far}

    # Everything stored from before the re-pin still reads and verifies under the old key.
    with iq.node.db.read() as s:
        for row in s.scalars(select(Inbound).order_by(Inbound.seq)):
            assert received_bundle(iq.node, row)["type"] == "bundle"
    log = verify_log(iq.node)
    assert log.ok, log.failure
    assert ("SY",) in [c.cosigned_by for c in log.checkpoints]

    # IQ's envelope sealed to SY's old key goes out sealed to the new one, and arrives.
    clock.advance(3600)  # its next attempt, after the backoff
    await iq.deliver()
    with iq.node.db.read() as s:
        deliveries = list(s.scalars(select(Delivery).order_by(Delivery.seq)))
    assert [d.state for d in deliveries] == ["acknowledged", "acknowledged"]
    header, _ = parse_header(deliveries[1].envelope, max_bytes=len(deliveries[1].envelope))
    assert header.recipient_key in {k.kid for k in fresh.kem_keys}

    # The damage report names the forgeries.
    headers = await iq.login("admin")
    async with iq.client() as c:
        params = {"since": since.isoformat()}
        r = await c.get("/api/v1/admin/partners/SY/damage", params=params, headers=headers)
    damage = r.json()
    named = {i["inbound_id"] for i in damage["signed"] if i["distrusted"]}
    assert named == {forged_next, forged_far}
    [repinned] = [e for e in events(iq, "partner.repin") if e.outcome == "allowed"]
    assert "3 reports signed by the old key" in (repinned.reason or "")
    refused = [e for e in events(iq, "partner.repin") if e.outcome == "denied"]
    assert len(refused) == 2  # the wrong fingerprint, and the same key again


async def test_a_removed_partner_gets_nothing_and_its_records_stay(pinned):
    iq, sy = pinned
    assert (await submit(sy, sy_report(), to=("IQ",))).status_code == 201
    await sy.deliver()
    sy_net = "sy.test"
    iq.network.down.add(sy_net)
    assert (await submit(iq, report())).status_code == 201
    await iq.deliver()  # SY is unreachable: sealed, tried, not delivered
    r = await admin_post(iq, "SY/remove")
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn"] == 1 and r.json()["partner"]["removed_at"]
    assert (await admin_post(iq, "SY/remove")).json()["code"] == "already_removed"
    assert (await admin_post(iq, "SY/resume")).json()["code"] == "partner_removed"
    iq.network.down.discard(sy_net)
    with iq.node.db.read() as s:
        [delivery] = s.scalars(select(Delivery)).all()
    assert delivery.state == "withheld" and "removed" in (delivery.last_error or "")
    assert await iq.deliver() == 0
    refused = await submit(iq, report())
    assert refused.status_code == 409 and refused.json()["code"] == "partner_removed"
    # Its records stay: the report it sent still reads.
    async with iq.client() as c:
        inbox = (await c.get("/api/v1/inbox", headers=await iq.login("officer"))).json()
    assert len(inbox) == 1
    # Added again? Only by re-pinning, with the fingerprint check.
    async with iq.client() as c:
        pin = {"node_id": "SY", "url": sy.url,
               "fingerprint": fingerprint(sy.node.identity.signing.public)}  # fmt: skip
        again = await c.post("/api/v1/admin/partners", headers=await iq.login("admin"), json=pin)
    assert again.status_code == 409 and again.json()["code"] == "partner_removed"
    assert [e.outcome for e in events(iq, "partner.remove")] == ["allowed", "denied"]
