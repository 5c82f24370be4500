"""A real ``liaison serve`` rotates its keys while its partner keeps sending: the key file gets a
new data key, a new encryption key and a new token key beside the old ones, SIGHUP makes the
running node use them (sealing with the new data key and re-sealing what it stores in the
background; publishing the new encryption key, which the partner fetches), no delivery fails
meanwhile, and once the re-seal is done the old data key leaves the key file and every report
still reads."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from clients.local import node as admin_local
from clients.sdk import LiaisonClient
from tests.faults.live import (
    KDF_MEMORY_KIB,
    PASSPHRASE,
    PASSWORD,
    start_and_pin,
    submit_reports,
    wait_for_exchange,
)

pytestmark = pytest.mark.slow


def _wait_for(check, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} within {seconds:.0f} s")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_keys_rotate_under_load_and_nothing_is_lost(nodes):
    iq, sy = nodes  # SY sends, IQ rotates the key its stored reports are sealed with
    iq.add_user("admin", "admin")
    start_and_pin(sy, iq)
    before = submit_reports(sy, "IQ", 40)
    wait_for_exchange(sy, iq, before, timeout=120)

    admin_local.change_data_keys(iq.data_dir, passphrase=PASSPHRASE,
                                 kdf_memory_kib=KDF_MEMORY_KIB)  # fmt: skip
    kem = admin_local.rotate_keys(iq.data_dir, passphrase=PASSPHRASE,
                                  kdf_memory_kib=KDF_MEMORY_KIB)["new_key"]  # fmt: skip
    admin_local.rotate_token_key(iq.data_dir, passphrase=PASSPHRASE, kdf_memory_kib=KDF_MEMORY_KIB)
    admin = LiaisonClient(iq.url, None, timeout=30)
    admin.login("admin", PASSWORD)
    try:
        with ThreadPoolExecutor(1) as pool:  # SY keeps sending while IQ switches keys
            during = pool.submit(submit_reports, sy, "IQ", 60, threads=2)
            time.sleep(0.3)
            iq.server.process.send_signal(signal.SIGHUP)

            def resealed() -> bool:
                status = admin.data_keys()
                return status["current"] == 2 and status["reseal_done"]

            _wait_for(resealed, "the re-seal under data key 2 did not finish")
            later = during.result()
        wait_for_exchange(sy, iq, {**before, **later}, timeout=120)
        assert kem.encode() in httpx.get(f"{iq.url}/federation/v1/key-document", timeout=5).content
        status = admin.data_keys()
        assert set(status["in_use"]) == {"2"}, status

        retired = admin_local.change_data_keys(iq.data_dir, passphrase=PASSPHRASE, retire=True,
                                               kdf_memory_kib=KDF_MEMORY_KIB)  # fmt: skip
        assert retired["retired"] == [1] and retired["held"] == [2]
        assert admin.reload_keys()["data_keys"] == [2]
        officer = iq.officer()
        try:
            inbox = officer.inbox(limit=500)
            assert len(inbox) == len(before) + len(later)
            bundles = {officer.get_inbound_bundle(item["id"])["id"] for item in inbox}
        finally:
            officer.close()
        assert bundles == set(before.values()) | set(later.values())
    finally:
        admin.close()
    assert not iq.log_problems() and not sy.log_problems()
