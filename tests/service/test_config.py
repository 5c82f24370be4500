"""Settings refuse combinations that would break guarantees."""

from __future__ import annotations

import pydantic
import pytest

from service.settings import load_settings


def test_a_lease_shorter_than_a_send_is_refused(tmp_path):
    base = {"node_id": "IQ", "public_url": "http://127.0.0.1:8600"}
    load_settings(tmp_path, delivery_lease_seconds=60, delivery_timeout=30, **base)
    with pytest.raises(pydantic.ValidationError, match="delivery_lease_seconds must exceed"):
        load_settings(tmp_path, delivery_lease_seconds=5, delivery_timeout=30, **base)


@pytest.mark.parametrize("bad", ["iq!", "", "x" * 64])
def test_invalid_node_ids_are_validation_errors(tmp_path, bad):
    with pytest.raises(pydantic.ValidationError, match="node id"):
        load_settings(tmp_path, node_id=bad, public_url="http://127.0.0.1:8600")


def test_envelope_lifetime_is_capped_at_what_receivers_accept(tmp_path):
    with pytest.raises(pydantic.ValidationError):
        load_settings(tmp_path, node_id="IQ", public_url="http://x", envelope_lifetime=31 * 86400)
