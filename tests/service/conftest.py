"""Fixtures for service tests: two in-process nodes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.databases import BACKENDS, fresh_database
from tests.twonode import Clock, Network, make_node, pin_each_other


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def nodes(backend, tmp_path, clock):
    """IQ (Baghdad) and SY (Damascus), not yet pinned to each other."""
    network = Network()
    with (
        fresh_database(backend, tmp_path, "iq", migrated=True) as iq_url,
        fresh_database(backend, tmp_path, "sy", migrated=True) as sy_url,
    ):
        iq = make_node("IQ", "Baghdad", tmp_path, iq_url, network, clock)
        sy = make_node("SY", "Damascus", tmp_path, sy_url, network, clock)
        try:
            yield iq, sy
        finally:
            iq.close()
            sy.close()


@pytest.fixture
async def pinned(nodes):
    iq, sy = nodes
    await pin_each_other(iq, sy)
    return iq, sy
