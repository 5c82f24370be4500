"""The keys a node works with besides its own: its partners' pinned keys and verified key
documents, and the serial of the key document it publishes.

A node publishes one signed key document (docs/protocol.md section 2): its identity keys, its
current encryption (KEM) keys and its endpoint, under a serial kept in ``node_state`` that every
rotation raises (``service.node.Node.key_document``). A partner is pinned by the fingerprint of
its identity keys; its key documents must be signed by those keys, and are verified once per
serial here, then reused.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy.orm import Session

from crypto.errors import UnknownKey
from crypto.keydoc import VerifiedKeyDocument, verify_key_document
from crypto.signing import VerifyKey
from service.models import NodeState, Partner

KEY_SERIAL = "key_document_serial"
"""The ``node_state`` row holding the serial of the key document this node publishes."""
PREVIOUS_SIGNING_KEYS = "previous_signing_keys"
"""The ``node_state`` row listing the signing keys this node had before a new identity
(``liaison node new-identity``): what it signed with them (checkpoints) still verifies."""


def pinned_key(partner: Partner) -> VerifyKey:
    """The identity keys pinned for ``partner`` (compared out of band when it was added)."""
    return VerifyKey(ed25519=partner.ed25519_key, ml_dsa_65=partner.ml_dsa_65_key)


def signed_by(partner: Partner, key_id: str) -> VerifyKey:
    """The key, pinned now or before a re-pin (``partners.previous_keys``), whose id is
    ``key_id``: what verifies something ``partner`` signed, stored here earlier.

    Raises:
        UnknownKey: ``partner`` was never pinned to such a key.
    """
    if key_id == partner.signing_key_id:
        return pinned_key(partner)
    for old in partner.previous_keys:
        if old.signing_key_id == key_id:
            return VerifyKey(ed25519=old.ed25519_key, ml_dsa_65=old.ml_dsa_65_key)
    raise UnknownKey(f"{partner.node_id} was never pinned to signing key {key_id}")


def previous_signing_keys(session: Session) -> list[dict[str, Any]]:
    """This node's signing keys before each new identity, oldest first: ``{"ed25519",
    "ml_dsa_65"}`` (b64u), ``key_id``, ``fingerprint`` and ``retired_at`` (Unix seconds)."""
    state = session.get(NodeState, PREVIOUS_SIGNING_KEYS)
    found: list[dict[str, Any]] = json.loads(state.value) if state is not None else []
    return found


def previous_verify_keys(session: Session) -> list[VerifyKey]:
    return [VerifyKey.from_json(item["key"]) for item in previous_signing_keys(session)]


def key_serial(session: Session) -> int:
    """The serial of the key document this node publishes (1 before any rotation)."""
    state = session.get(NodeState, KEY_SERIAL)
    return int(state.value) if state is not None else 1


class Keyring:
    """The verified key documents of the node's partners, cached: each document is verified once
    per (partner, serial, pinned key)."""

    def __init__(self) -> None:
        self._partners: dict[tuple[int, int, str], VerifiedKeyDocument] = {}
        self._lock = threading.Lock()

    def partner_document(self, partner: Partner) -> VerifiedKeyDocument:
        """``partner``'s stored key document, verified under its pinned keys.

        Raises:
            CryptoError: the stored document no longer verifies (it was tampered with).
        """
        key = (partner.id, partner.key_serial, partner.signing_key_id)  # a re-pin may reuse serials
        with self._lock:
            document = self._partners.get(key)
        if document is None:
            document = verify_key_document(
                partner.key_document,
                pinned_key=pinned_key(partner),
                expected_node_id=partner.node_id,
            )
            with self._lock:
                self._partners[key] = document
        return document
