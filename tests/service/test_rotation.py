"""Rotating encryption keys: partners move to the new key without losing anything in flight."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crypto.keys import load_identity
from service.auth import TokenIssuer
from service.bootstrap import open_node
from service.exchange import Puller
from service.federation import wire
from service.keyfile import rotate_encryption_keys, rotate_token_key
from service.models import AuditEvent, Delivery, Partner
from tests.service.test_sync import _inbound_seqs, _submit
from tests.twonode import FAST_KDF, PASSPHRASE

pytestmark = pytest.mark.anyio
DAY = 24 * 3600


async def test_rotation_publishes_a_new_key_and_partners_follow(pinned, clock):
    iq, sy = pinned
    settings = sy.node.settings
    old_kid = sy.node.identity.kem_keys[0].kid
    clock.advance(80 * DAY)  # ten days before the first key expires, SY's admin rotates
    rotation = rotate_encryption_keys(settings, PASSPHRASE, now=sy.node.now(), kdf=FAST_KDF)
    assert rotation.serial == 2 and rotation.destroyed == [] and rotation.new_kid != old_kid
    with sy.node.db.write() as s:  # a key change is in the audit log
        [record] = s.scalars(select(AuditEvent).where(AuditEvent.action == "key.rotate")).all()
        assert record.object_id == rotation.new_kid and "serial 2" in (record.reason or "")

    # A restarted SY serves the new document and still holds the old key.
    restarted = open_node(settings, PASSPHRASE, clock=clock, http_client=sy.node.http_client)
    assert [k.kid for k in restarted.identity.kem_keys] == [old_kid, rotation.new_kid]
    sy.node.identity = restarted.identity
    sy.node.__dict__.pop("key_document", None)

    # IQ keeps sealing to the old key while it is valid; SY opens it.
    await _submit(iq, 1)
    await iq.deliver()
    assert _inbound_seqs(sy) == [1]

    # After the old key expires, IQ finds no valid key in its copy, fetches the new document
    # (serial 2, signed by the pinned keys) and seals to the new key.
    clock.advance(11 * DAY)
    await _submit(iq, 1)
    await iq.deliver()
    assert _inbound_seqs(sy) == [1, 2]
    with iq.node.db.write() as s:
        deliveries = s.scalars(select(Delivery).order_by(Delivery.seq)).all()
        assert {d.state for d in deliveries} == {"acknowledged"}
        assert rotation.new_kid.encode() in deliveries[1].envelope


def test_rotation_destroys_only_keys_no_envelope_can_need(nodes, clock):
    _, sy = nodes
    settings = sy.node.settings
    first = sy.node.identity.kem_keys[0]
    rotate_encryption_keys(settings, PASSPHRASE, now=sy.node.now(), kdf=FAST_KDF)
    # 20 days after the first key expired: kept (an envelope sealed to it may be in flight).
    kept = rotate_encryption_keys(
        settings, PASSPHRASE, now=first.not_after + 20 * DAY, kdf=FAST_KDF
    )
    assert kept.destroyed == []
    gone = rotate_encryption_keys(
        settings, PASSPHRASE, now=first.not_after + 31 * DAY, kdf=FAST_KDF
    )
    # The first key and the one added alongside it at the start have both been expired for
    # more than 30 days; the two added later remain.
    assert first.kid in gone.destroyed and len(gone.destroyed) == 2
    remaining = [k.kid for k in load_identity(settings.key_file, PASSPHRASE).kem_keys]
    assert first.kid not in remaining and len(remaining) == 2
    assert kept.new_kid in remaining and gone.new_kid in remaining


async def test_a_rotation_is_served_without_a_restart_and_the_partner_picks_it_up(pinned, clock):
    iq, sy = pinned
    old_kid = sy.node.identity.kem_keys[0].kid
    # A day after the node was made (within the same second the two keys would tie on
    # not_before, and the newest would be chosen by key id).
    clock.advance(DAY)
    await Puller(iq.node).pull_all()  # IQ's daily fetch of SY's key document: still serial 1
    rotation = rotate_encryption_keys(sy.node.settings, PASSPHRASE, now=sy.node.now(), kdf=FAST_KDF)
    admin = await sy.login("admin")
    async with sy.client() as c:
        r = await c.post("/api/v1/admin/node/reload-keys", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"serial": 2, "encryption_keys": [old_kid, rotation.new_kid],
                            "data_keys": [1]}  # fmt: skip
        served = (await c.get(f"{wire.PREFIX}/key-document")).content
    assert rotation.new_kid.encode() in served  # the running node serves the new document
    with sy.node.db.read() as s:
        [reload] = s.scalars(select(AuditEvent).where(AuditEvent.action == "key.reload")).all()
        assert "serial 2" in (reload.reason or "")

    # IQ fetches SY's key document every key_refresh_seconds, and seals to the newest key.
    await Puller(iq.node).pull_all()
    with iq.node.db.read() as s:
        assert s.scalar(select(Partner.key_serial).where(Partner.node_id == "SY")) == 1
    clock.advance(iq.node.settings.key_refresh_seconds + 1)
    await Puller(iq.node).pull_all()
    with iq.node.db.read() as s:
        assert s.scalar(select(Partner.key_serial).where(Partner.node_id == "SY")) == 2
    await _submit(iq, 1)
    await iq.deliver()
    assert _inbound_seqs(sy) == [1]
    with iq.node.db.read() as s:
        [delivery] = s.scalars(select(Delivery)).all()
        assert delivery.state == "acknowledged" and rotation.new_kid.encode() in delivery.envelope


async def test_a_key_file_of_another_identity_is_refused_and_the_old_keys_kept(pinned):
    iq, sy = pinned
    before = sy.node.key_document
    sy.node.settings.key_file.write_bytes(iq.node.settings.key_file.read_bytes())
    admin = await sy.login("admin")
    async with sy.client() as c:
        r = await c.post("/api/v1/admin/node/reload-keys", headers=admin)
        officer = await c.post("/api/v1/admin/node/reload-keys", headers=await sy.login("officer"))
    assert r.status_code == 409 and r.json()["code"] == "keys_refused", r.text
    assert officer.status_code == 403
    assert sy.node.node_id == "SY" and sy.node.key_document == before
    with sy.node.db.read() as s:
        [refused] = s.scalars(select(AuditEvent).where(AuditEvent.action == "key.reload")).all()
        assert refused.outcome == "denied" and "IQ" in (refused.reason or "")


async def test_a_rotated_token_key_ends_the_old_keys_tokens_one_lifetime_later(pinned, clock):
    iq, _ = pinned
    node = iq.node
    old_seed = node.identity.secrets["token-key"]
    officer = await iq.login("officer")  # signed by the old key
    kid = rotate_token_key(node.settings, PASSPHRASE, now=node.now(), kdf=FAST_KDF)
    admin = await iq.login("admin")  # still the old key: the node has not read the file yet
    async with iq.client() as c:
        r = await c.post("/api/v1/admin/node/reload-keys", headers=admin)
        assert r.status_code == 200, r.text
        assert (await c.get("/api/v1/reports", headers=officer)).status_code == 200  # the window
        fresh = await iq.login("officer")
        assert (
            node.tokens.kid == kid
            and (await c.get("/api/v1/reports", headers=fresh)).status_code == 200
        )
        # One token lifetime after the rotation, nothing the old key signs passes, whatever its
        # times say: the officer's token, or one minted by whoever copied the old key.
        clock.advance(node.settings.token_ttl)
        thief = TokenIssuer(node_id="IQ", key_seed=old_seed, ttl=node.settings.token_ttl)
        for now in (node.now(), node.now() - 60, node.now() - node.settings.token_ttl + 5):
            forged, _ = thief.issue(username="admin", role="admin", now=now)
            r = await c.get("/api/v1/admin/users", headers={"Authorization": f"Bearer {forged}"})
            assert r.status_code == 401, now
        assert (
            await c.get("/api/v1/reports", headers=await iq.login("officer"))
        ).status_code == 200
    with node.db.read() as s:
        [rotated] = s.scalars(select(AuditEvent).where(AuditEvent.action == "key.rotate_token"))
        assert rotated.object_id == kid
        reasons = [e.reason or "" for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.token"))]  # fmt: skip
    assert any("rotated away" in reason for reason in reasons)
