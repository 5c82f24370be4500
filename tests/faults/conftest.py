"""Fixtures for fault tests: IQ (the sender) and SY (the receiver) as real server processes, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.databases import BACKENDS, fresh_database
from tests.faults.live import LiveNode


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def nodes(backend, tmp_path):
    """IQ and SY, initialised with an officer each, not running yet; every server they start is
    stopped when the test ends (before their PostgreSQL databases are dropped)."""
    with (
        fresh_database(backend, tmp_path, "iq") as iq_url,
        fresh_database(backend, tmp_path, "sy") as sy_url,
    ):
        iq = LiveNode("IQ", "Baghdad", tmp_path, iq_url)
        sy = LiveNode("SY", "Damascus", tmp_path, sy_url)
        try:
            iq.init()
            sy.init()
            yield iq, sy
        finally:
            iq.shutdown()
            sy.shutdown()
