"""The compromise drill, with real ``liaison serve`` processes.

SY's key file is copied. With it a thief injects reports into IQ, one under the sequence number
SY will use next and one far ahead, and cosigns IQ's audit checkpoint in SY's name, while SY's
officers keep sending. IQ's administrator suspends SY from the time of the theft; SY's
administrator gives SY a new identity (``node new-identity``) and reads out the new fingerprint;
IQ re-pins SY and resumes it. Afterwards nothing genuine is lost or stored twice, every forged
item is distrusted and named in the damage report, the false cosignature no longer counts, and
both audit logs verify.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from clients.local import node as admin_local
from clients.sdk import LiaisonClient
from crypto import httpsig
from crypto.envelope import seal
from crypto.keydoc import verify_key_document
from crypto.keys import load_identity
from crypto.logverify import witness_name
from crypto.note import cosign, parse_note
from service.federation import wire
from service.reports import STIX_MEDIA_TYPE
from tests.faults.live import (
    KDF_MEMORY_KIB,
    PASSPHRASE,
    PASSWORD,
    LiveNode,
    fictional_bundle,
    start_and_pin,
    submit_reports,
    wait_for_exchange,
)

pytestmark = pytest.mark.slow


class Thief:
    """Whoever holds a copy of SY's key file (and its passphrase), talking to IQ as SY."""

    def __init__(self, key_file: Path, target: LiveNode) -> None:
        self.identity = load_identity(key_file, PASSPHRASE)
        self.target = target

    def post(self, path: str, body: bytes, content_type: str) -> httpx.Response:
        url = self.target.url + path
        unsigned = httpsig.HttpRequestParts("POST", url, {"content-type": content_type}, body)
        signing = self.identity.signing
        headers = httpsig.sign_request(unsigned, key=signing, keyid=signing.public.key_id,
                                       now=int(time.time()))  # fmt: skip
        return httpx.post(url, content=body, timeout=10,
                          headers={"content-type": content_type, **headers})  # fmt: skip

    def inject(self, seq: int) -> str:
        """A fabricated report to IQ under ``seq``; its message id."""
        served = httpx.get(self.target.url + wire.KEY_DOCUMENT_PATH, timeout=10).content
        document = verify_key_document(served, pinned_fingerprint=self.target.fingerprint,
                                       expected_node_id="IQ")  # fmt: skip
        now = int(time.time())
        message_id = str(uuid.uuid4())
        envelope = seal(sender=self.identity, recipient_id="IQ",
                        recipient_key=document.current_encryption_key(now),
                        body=fictional_bundle(900 + seq), content_type=STIX_MEDIA_TYPE,
                        message_id=message_id, seq=seq, now=now).data  # fmt: skip
        answer = self.post(wire.ENVELOPES_PATH, envelope, wire.ENVELOPE_MEDIA_TYPE)
        assert answer.status_code == 200, answer.text  # IQ cannot tell: the keys are SY's
        return message_id

    def cosign_latest(self) -> str:
        """A cosignature of IQ's latest checkpoint in SY's name; the line."""
        answer = self.post(wire.CHECKPOINT_PATH, b'{"from":0}', "application/json")
        assert answer.status_code == 200, answer.text
        note = json.loads(answer.content)["checkpoint"]
        text = parse_note(note).text
        line = cosign(text, name=witness_name("SY"), key=self.identity.signing,
                      timestamp=int(time.time()))  # fmt: skip
        size = int(text.splitlines()[1])
        body = json.dumps({"size": size, "cosignature": line}).encode()
        stored = self.post(wire.COSIGNATURE_PATH, body, "application/json")
        assert stored.status_code == 200, stored.text
        return line


def _admin(node: LiveNode) -> LiaisonClient:
    """IQ's administrator, logged in."""
    client = LiaisonClient(node.url, None, timeout=30)
    client.login("admin", PASSWORD)
    return client


def _inbound(node: LiveNode) -> dict[str, tuple[int, bool]]:
    """Message id -> (seq, distrusted) of what ``node`` holds from SY."""
    database = node.database()
    try:
        rows = database.rows("SELECT message_id, seq, distrusted_at FROM inbound")
    finally:
        database.close()
    return {row.message_id: (row.seq, row.distrusted_at is not None) for row in rows}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_copied_key_file_is_contained_and_both_nodes_recover(nodes, tmp_path):
    iq, sy = nodes
    iq.add_user("admin", "admin")
    for node in (iq, sy):
        node.add_user("auditor", "auditor")
    start_and_pin(sy, iq)
    before = submit_reports(sy, "IQ", 3)  # seq 1-3
    wait_for_exchange(sy, iq, before, timeout=120)
    to_sy = submit_reports(iq, "SY", 2)
    wait_for_exchange(iq, sy, to_sy, timeout=120)

    # The theft. What the thief does from now on IQ cannot tell from SY's own traffic.
    stolen = tmp_path / "copied-identity.key"
    shutil.copy(sy.data_dir / "identity.key", stolen)
    time.sleep(1.1)
    theft = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    thief = Thief(stolen, iq)
    forged = {thief.inject(4), thief.inject(1_000_000)}  # SY's next number, and one far ahead
    false_cosignature = thief.cosign_latest()
    during = submit_reports(sy, "IQ", 2)  # SY's officers keep working: seq 4 is taken at IQ
    time.sleep(3)

    # IQ's administrator learns of the theft and suspends SY from then on.
    admin = _admin(iq)
    try:
        done = admin.suspend_partner("SY", compromised_since=theft.isoformat(),
                                     reason="SY reports a copied key file")  # fmt: skip
        assert len(done["quarantined"]) >= 2

        # SY's administrator gives SY a new identity and reads the fingerprint out by phone.
        assert sy.server.stop() == 0
        renewed = admin_local.new_identity(sy.data_dir, passphrase=PASSPHRASE,
                                           kdf_memory_kib=KDF_MEMORY_KIB)  # fmt: skip
        sy.start()
        repinned = admin.repin_partner("SY", sy.url, renewed["fingerprint"])
        assert repinned["previous_fingerprint"] == sy.fingerprint
        assert forged <= {m for m, (_, distrusted) in _inbound(iq).items() if distrusted}
        admin.resume_partner("SY")
        sy._token = None  # the new token key ended every token of the old one: log in again
        after = submit_reports(sy, "IQ", 2)

        # Nothing genuine lost, nothing twice; the thief's items are distrusted, and named.
        genuine = {**before, **during, **after}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            held = _inbound(iq)
            trusted = {m for m, (_, distrusted) in held.items() if not distrusted}
            if trusted == set(genuine):
                break
            time.sleep(1)
        held = _inbound(iq)
        assert {m for m, (_, d) in held.items() if not d} == set(genuine), sy.log_tail()
        assert {m for m, (_, d) in held.items() if d} == forged
        seqs = sorted(seq for m, (seq, d) in held.items() if not d)
        assert seqs == list(range(1, len(genuine) + 1))  # SY's own numbering, gap-free
        damage = admin.partner_damage("SY", theft.isoformat())
        named = {i["inbound_id"] for i in damage["signed"] if i["distrusted"]}
        assert len(named) == len(forged)

        database = iq.database()
        try:
            [row] = database.rows(
                "SELECT distrusted_at FROM audit_cosignatures WHERE line = :line",
                line=false_cosignature,
            )
        finally:
            database.close()
        assert row.distrusted_at is not None  # kept as evidence, no longer counted

    finally:
        admin.close()
    for node in (iq, sy):  # SY's checkpoints signed under its old key still verify
        auditor = LiaisonClient(node.url, None, timeout=30)
        auditor.login("auditor", PASSWORD)
        try:
            log = auditor.audit_self_check()
        finally:
            auditor.close()
        assert log["ok"], (node.node_id, log)
    assert not [p for p in iq.log_problems() + sy.log_problems() if "Traceback" in p]
