"""`make demo` as a test: two real `liaison serve` processes on loopback, driven through the CLI
in subprocesses exactly as their administrators and officers would type it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_two_real_nodes_exchange_reports_end_to_end():
    done = subprocess.run(
        [sys.executable, "-m", "demo.two_nodes", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert "4 reports submitted, 4 delivered and acknowledged with signed receipts" in summary
    assert "4 read by the partner officers, 1 refused by policy, 1 held and approved" in summary


@pytest.mark.slow
def test_crypto_demo_runs():
    done = subprocess.run(
        [sys.executable, "-m", "demo.crypto_demo"], cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 tampered copy refused" in done.stdout
