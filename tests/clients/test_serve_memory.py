"""``liaison serve`` caps glibc's malloc arenas, so RSS does not grow with concurrent requests.

bench/concurrency.py measures the effect on real nodes (IQ's peak RSS from 1 to 16 clients);
this test proves the cap itself: sixteen threads allocating at once get sixteen arenas without
it and two with it, counted from glibc's own ``malloc_stats`` report.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from clients.local.server import MALLOC_ARENAS

PROBE = textwrap.dedent(
    """
    import ctypes, sys, threading
    if sys.argv[1] == "cap":
        from clients.local.server import cap_malloc_arenas
        assert cap_malloc_arenas()
    barrier = threading.Barrier(16)

    def work():
        barrier.wait()
        for _ in range(200):
            chunks = [bytearray(2000) for _ in range(200)]
            del chunks

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctypes.CDLL("libc.so.6").malloc_stats()
    """
)


def _arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the cap is for glibc; other C libraries are left alone",
)
def test_serve_caps_malloc_arenas_that_concurrent_threads_would_multiply():
    assert _arenas("nocap") > MALLOC_ARENAS  # the probe can see the growth it guards against
    assert _arenas("cap") <= MALLOC_ARENAS


def test_an_operators_own_setting_is_left_alone(monkeypatch):
    from clients.local.server import cap_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert cap_malloc_arenas() is False
