"""A real ``liaison serve`` told to read its key file again (SIGHUP) after ``liaison node
rotate-keys`` ran beside it: it serves the new key document at once, without a restart, and says
so in its log; a key file it cannot use is refused and the running keys kept."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from clients.local import node as admin_local
from tests.faults.live import KDF_MEMORY_KIB, PASSPHRASE, LiveNode

pytestmark = pytest.mark.slow


def _served(node: LiveNode) -> bytes:
    return httpx.get(f"{node.url}/federation/v1/key-document", timeout=5).content


def _wait_for(check, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {seconds:.0f} s")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sighup_serves_the_rotated_key_without_a_restart(nodes):
    iq, _ = nodes
    iq.start()
    pid = iq.server.process.pid
    before = _served(iq)
    rotation = admin_local.rotate_keys(iq.data_dir, passphrase=PASSPHRASE,
                                       kdf_memory_kib=KDF_MEMORY_KIB)  # fmt: skip
    new_kid = rotation["new_key"].encode()
    assert new_kid not in _served(iq)  # not before it is told
    iq.server.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: new_kid in _served(iq), "the new key document was not served")
    assert iq.server.process.pid == pid and iq.server.alive  # the same process
    assert _served(iq) != before
    _wait_for(lambda: "key file read again on SIGHUP" in iq.log_tail(), "no log line")

    # A key file that does not open is refused; the node keeps serving what it had.
    serving = _served(iq)
    iq.data_dir.joinpath("identity.key").write_bytes(b"not a key file")
    iq.server.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: "the key file was not reloaded" in iq.log_tail(), "no refusal logged")
    assert iq.server.alive and _served(iq) == serving
