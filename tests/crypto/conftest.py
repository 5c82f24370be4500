"""Node identities for the crypto tests, generated once: key generation is the slow part."""

from __future__ import annotations

import pytest

from crypto.keys import NodeIdentity

NOW = 1_764_374_400  # 2025-11-29T00:00:00Z; tests pass time in, they never read the clock


@pytest.fixture(scope="session")
def iq() -> NodeIdentity:
    return NodeIdentity.generate("IQ", now=NOW - 3600)


@pytest.fixture(scope="session")
def sy() -> NodeIdentity:
    return NodeIdentity.generate("SY", now=NOW - 3600)


@pytest.fixture(scope="session")
def jo() -> NodeIdentity:
    """A third node, for forwarding attacks."""
    return NodeIdentity.generate("JO", now=NOW - 3600)
