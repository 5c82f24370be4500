"""Rotating the data key while the node serves: new content is sealed under the new key at once,
everything stored is re-sealed under it in the background without a read failing, and only then
may the old key leave the key file, after which a copy of the old database no longer opens."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import LargeBinary, select, update

from crypto.keys import load_identity, save_identity
from service.atrest import (
    AtRestCorrupted,
    DataKey,
    DataKeyring,
    Progress,
    data_key_secret_name,
    data_keys_in,
    generations_in_use,
)
from service.atrest.keys import generation_of
from service.bootstrap import SEALED_COLUMNS
from service.errors import Conflict
from service.exchange.worker import resealer
from service.keyfile import retire_data_keys, rotate_data_key
from service.models import AuditEvent, Base, Report
from tests.service.test_sync import _submit
from tests.twonode import FAST_KDF, PASSPHRASE, REPORTS

pytestmark = pytest.mark.anyio


# -- the sealed format ---------------------------------------------------------------------------


def test_values_name_their_key_and_row_and_old_ones_still_open():
    one, two = DataKey.generate(), DataKey.generate()
    ring = DataKeyring({1: one, 2: two})
    sealed = ring.seal(b"cell roster", "reports.body_ct/a")
    assert sealed[:5] == b"\x02\x00\x00\x00\x02" and generation_of(sealed) == 2
    assert ring.open(sealed, "reports.body_ct/a") == b"cell roster"
    with pytest.raises(AtRestCorrupted):  # moved to another row
        ring.open(sealed, "reports.body_ct/b")
    relabelled = sealed[:4] + b"\x01" + sealed[5:]  # claims generation 1: another key, other AAD
    with pytest.raises(AtRestCorrupted):
        ring.open(relabelled, "reports.body_ct/a")
    # A value sealed before rotation existed (format 1) is generation 1's.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = b"\x07" * 12
    legacy = b"\x01" + nonce + AESGCM(one).encrypt(nonce, b"old", b"liaison/v1/at-rest\x00ctx")
    assert generation_of(legacy) == 1 and ring.open(legacy, "ctx") == b"old"
    with pytest.raises(AtRestCorrupted, match="no longer holds"):
        DataKeyring({2: two}).open(legacy, "ctx")


def test_every_sealed_column_is_declared_for_the_reseal():
    """A column of sealed content the re-seal does not know would keep needing the old key."""
    declared = {column.name for column in SEALED_COLUMNS}
    sealed = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, LargeBinary) and column.name.endswith("_ct")
    }
    assert sealed == declared


# -- rotation on a running node ------------------------------------------------------------------


def opened(node) -> dict[str, bytes]:
    """Every sealed value of ``node``, opened, by column and row."""
    values = {}
    with node.node.db.read() as s:
        for column in SEALED_COLUMNS:
            query = select(column.key, column.value, *column.extra).where(column.value.is_not(None))
            for row in s.execute(query):
                values[f"{column.name}/{row[0]}"] = node.node.data_key.open(
                    row[1], column.context(row)
                )
    return values


def in_use(node) -> dict[int, int]:
    with node.node.db.read() as s:
        return generations_in_use(s, SEALED_COLUMNS)


async def reload(node):
    async with node.client() as c:
        return await c.post("/api/v1/admin/node/reload-keys", headers=await node.login("admin"))


async def data_keys(node) -> dict:
    async with node.client() as c:
        r = await c.get("/api/v1/admin/node/data-keys", headers=await node.login("admin"))
    assert r.status_code == 200, r.text
    return r.json()


def reseal_all(node, batch: int = 200) -> int:
    job = resealer(node.node)
    job.batch = batch
    total = 0
    while count := job.run_once():
        total += count
    return total


async def import_draft(node) -> str:
    bundle = json.loads((REPORTS / "iq-cell-wadi7.json").read_text())
    bundle["id"] = f"bundle--{uuid.uuid4()}"
    async with node.client() as c:
        r = await c.post(
            "/api/v1/drafts",
            content=json.dumps(bundle).encode(),
            headers={**await node.login("officer"), "content-type": "application/json"},
        )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def actions(node, action: str) -> list[AuditEvent]:
    with node.node.db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_a_rotated_data_key_reseals_everything_then_the_old_one_leaves(pinned):
    iq, sy = pinned
    await _submit(sy, 2, to="IQ")  # IQ holds inbound reports (and their TAXII objects)
    await sy.deliver()
    await _submit(iq, 2)  # and reports of its own, with their deliveries
    await iq.deliver()
    await import_draft(iq)
    before = opened(iq)
    assert len(before) >= 12 and set(in_use(iq)) == {1}

    with iq.node.db.read() as s:  # a stolen copy of the database, as it is now
        stolen = s.scalar(select(Report.body_ct).limit(1))

    change = rotate_data_key(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)
    assert change.generation == 2 and change.held == [1, 2]
    r = await reload(iq)
    assert r.status_code == 200, r.text
    assert r.json()["data_keys"] == [1, 2]

    # New content is sealed under key 2 at once; everything else still reads under key 1.
    await _submit(iq, 1)
    assert in_use(iq)[2] >= 2 and in_use(iq)[1] == len(before)
    status = await data_keys(iq)
    assert status["current"] == 2 and status["held"] == [1, 2] and not status["reseal_done"]

    # Retiring key 1 now would make stored values unreadable: refused, and recorded.
    with pytest.raises(Conflict, match="still need them"):
        retire_data_keys(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)
    [denied] = [e for e in actions(iq, "key.retire_data") if e.outcome == "denied"]
    assert "not retired" in (denied.reason or "")
    assert data_keys_in(load_identity(iq.node.settings.key_file, PASSPHRASE).secrets).keys() == {
        1,
        2,
    }

    # The re-seal, in small batches while officers keep working: nothing reads differently.
    job = resealer(iq.node)
    job.batch = 3
    assert 0 < job.run_once() <= 3
    await _submit(iq, 1)
    await iq.deliver()
    while job.run_once():
        pass
    after = opened(iq)
    assert {k: after[k] for k in before} == before
    assert set(in_use(iq)) == {2}
    [done] = actions(iq, "key.data_resealed")
    assert done.object_id == "data-key-2" and f"{len(before)} stored values" in (done.reason or "")
    status = await data_keys(iq)
    assert status["reseal_done"] and status["resealed"] == len(before)

    # Now key 1 may go; the running node drops it on reload and reads everything still.
    retired = retire_data_keys(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)
    assert retired.retired == [1] and retired.held == [2]
    assert (await reload(iq)).json()["data_keys"] == [2]
    assert opened(iq) == after
    async with iq.client() as c:
        officer = await iq.login("officer")
        inbox = (await c.get("/api/v1/inbox", headers=officer)).json()
        assert len(inbox) == 2
        r = await c.get(f"/api/v1/inbox/{inbox[0]['id']}/bundle", headers=officer)
        assert r.status_code == 200 and r.json()["type"] == "bundle"
    # The stolen copy of the old database does not open with the key file as it is now.
    assert stolen is not None
    with pytest.raises(AtRestCorrupted, match="no longer holds"):
        iq.node.data_key.open(stolen, "reports.body_ct/any")
    with pytest.raises(Conflict, match="nothing to retire"):
        retire_data_keys(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)
    assert sy  # SY never noticed: nothing it holds changed


async def test_the_reseal_carries_on_after_a_restart(pinned):
    iq, _ = pinned
    await _submit(iq, 3)
    await iq.deliver()
    count = len(opened(iq))
    rotate_data_key(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)
    assert (await reload(iq)).status_code == 200
    job = resealer(iq.node)
    job.batch = 2
    assert job.run_once() == 2
    with iq.node.db.read() as s:
        progress = Progress.load(s)
    assert progress is not None and progress.generation == 2 and not progress.done
    # A new process (a restart) takes the walk up from where it was kept.
    assert reseal_all(iq, batch=2) == count - 2
    assert set(in_use(iq)) == {2}
    assert reseal_all(iq) == 0  # and once done, there is nothing more to do


async def test_a_damaged_value_is_left_and_keeps_the_old_key_needed(pinned):
    iq, _ = pinned
    [report_id] = await _submit(iq, 1)
    rotate_data_key(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)
    await reload(iq)
    with iq.node.db.write() as s:  # an insider flips a byte of a stored body
        body = bytearray(s.scalar(select(Report.body_ct).where(Report.id == report_id)))
        body[-1] ^= 1
        s.execute(update(Report).where(Report.id == report_id).values(body_ct=bytes(body)))
    reseal_all(iq)
    assert in_use(iq).get(1) == 1  # not re-sealed, not lost: still under key 1
    status = await data_keys(iq)
    assert status["in_use"] == {"1": 1, "2": status["in_use"]["2"]}
    with pytest.raises(Conflict, match="1 under data key 1"):
        retire_data_keys(iq.node.settings, PASSPHRASE, now=iq.node.now(), kdf=FAST_KDF)


async def test_a_key_file_that_swaps_or_drops_a_needed_data_key_is_refused(pinned):
    iq, _ = pinned
    await _submit(iq, 1)
    settings = iq.node.settings
    keys = load_identity(settings.key_file, PASSPHRASE)
    original = dict(keys.secrets)
    keys.secrets[data_key_secret_name(1)] = DataKey.generate()  # another key under generation 1
    save_identity(keys, settings.key_file, PASSPHRASE, FAST_KDF)
    r = await reload(iq)
    assert r.status_code == 409 and "same generation" in r.json()["detail"]
    # Key 2 added and key 1 dropped by hand, while values still need key 1.
    keys.secrets = {k: v for k, v in original.items() if k != data_key_secret_name(1)}
    keys.secrets[data_key_secret_name(2)] = DataKey.generate()
    save_identity(keys, settings.key_file, PASSPHRASE, FAST_KDF)
    r = await reload(iq)
    assert r.status_code == 409 and "stored values still need" in r.json()["detail"]
    assert iq.node.data_key.generations == [1]  # still serving with what it had
    assert [e.outcome for e in actions(iq, "key.reload")] == ["denied", "denied"]
    assert len(opened(iq)) >= 2  # everything still opens
