"""Key documents are accepted only against a pinned fingerprint: never on first use."""

from __future__ import annotations

import json

import pytest

from crypto.canonical import canonicalize
from crypto.errors import (
    FingerprintMismatch,
    KeyExpired,
    MalformedInput,
    SignatureInvalid,
    UnknownKey,
    UnsupportedAlgorithm,
)
from crypto.fingerprint import fingerprint, normalize, verify_fingerprint
from crypto.keydoc import verify_key_document
from crypto.keys import NodeIdentity
from crypto.signed_json import dump_signed

from .conftest import NOW

ENDPOINT = "http://127.0.0.1:8601"


def _doc(identity: NodeIdentity, serial: int = 1) -> bytes:
    return identity.key_document(endpoint=ENDPOINT, serial=serial, now=NOW)


def test_document_verifies_against_its_fingerprint(sy):
    verified = verify_key_document(_doc(sy), pinned_fingerprint=fingerprint(sy.signing.public))
    assert verified.node_id == "SY" and verified.endpoint == ENDPOINT
    assert verified.signing_key == sy.signing.public
    assert verified.current_encryption_key(NOW).kid == sy.current_kem_key(NOW).kid


def test_fingerprint_is_read_aloud_digits():
    identity = NodeIdentity.generate("IQ", now=NOW)
    fp = fingerprint(identity.signing.public)
    groups = fp.split(" ")
    assert len(groups) == 12 and all(len(g) == 5 and g.isdigit() for g in groups)
    # Typed back with dashes or without spaces, it still matches.
    verify_fingerprint(identity.signing.public, fp.replace(" ", "-"))
    verify_fingerprint(identity.signing.public, fp.replace(" ", ""))


def test_a_different_nodes_fingerprint_is_refused(sy, jo):
    """A man in the middle serves his own document for SY: the read-out fingerprint catches it."""
    with pytest.raises(FingerprintMismatch):
        verify_key_document(_doc(jo), pinned_fingerprint=fingerprint(sy.signing.public))


def test_one_wrong_digit_is_refused(sy):
    fp = normalize(fingerprint(sy.signing.public))
    wrong = fp[:-1] + str((int(fp[-1]) + 1) % 10)
    with pytest.raises(FingerprintMismatch):
        verify_key_document(_doc(sy), pinned_fingerprint=wrong)


@pytest.mark.parametrize("bad", ["", "12345", "x" * 60, "1" * 59, "1" * 61])
def test_malformed_fingerprints_are_refused(sy, bad):
    with pytest.raises(MalformedInput):
        verify_key_document(_doc(sy), pinned_fingerprint=bad)


def test_pinned_key_must_match(sy, jo):
    verify_key_document(_doc(sy), pinned_key=sy.signing.public)
    with pytest.raises(FingerprintMismatch):
        verify_key_document(_doc(sy), pinned_key=jo.signing.public)


def _edit(data: bytes, edit) -> bytes:
    obj = json.loads(data)
    edit(obj["document"])
    return canonicalize(obj)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(endpoint="http://attacker.invalid"),
        lambda d: d.update(serial=d["serial"] + 1),
        lambda d: d["encryption_keys"][0].update(
            not_after=d["encryption_keys"][0]["not_after"] + 1
        ),
        lambda d: d.update(node_id="JO"),
    ],
    ids=["endpoint", "serial", "validity", "node-id"],
)
def test_edited_document_fails_its_signature(sy, edit):
    with pytest.raises(SignatureInvalid):
        verify_key_document(_edit(_doc(sy), edit), pinned_key=sy.signing.public)


def test_substituted_encryption_key_is_refused(sy, jo):
    """Swap in an attacker's encryption key (with a consistent kid): the signature breaks."""
    jo_key = json.loads(_doc(jo))["document"]["encryption_keys"][0]
    forged = _edit(_doc(sy), lambda d: d.update(encryption_keys=[jo_key]))
    with pytest.raises(SignatureInvalid):
        verify_key_document(forged, pinned_key=sy.signing.public)


def test_signature_by_other_keys_is_refused(sy, jo):
    """A document listing SY's signing keys but signed by JO's."""
    sy_doc = json.loads(_doc(sy))
    sy_doc["signatures"] = json.loads(_doc(jo))["signatures"]
    with pytest.raises(SignatureInvalid):
        verify_key_document(canonicalize(sy_doc), pinned_key=sy.signing.public)


def test_structural_problems_are_refused(sy):
    doc = _doc(sy)
    with pytest.raises(MalformedInput):
        verify_key_document(doc[:-5], pinned_key=sy.signing.public)
    with pytest.raises(MalformedInput, match="duplicate"):
        verify_key_document(doc[:-1] + b',"signatures":{}}', pinned_key=sy.signing.public)
    with pytest.raises(MalformedInput):
        verify_key_document(doc, pinned_key=sy.signing.public, expected_node_id="IQ")
    with pytest.raises(MalformedInput):
        verify_key_document(b"x" * 100_000, pinned_key=sy.signing.public)


def test_unknown_suite_in_document_is_refused(sy):
    """Correctly signed by SY, but listing a classical-only suite: refused, no downgrade."""
    document = json.loads(_doc(sy))["document"]
    document["encryption_keys"][0]["suite"] = "X25519/HKDF-SHA256/AES-128-GCM"
    signed = dump_signed("document", document, "key-document", sy.signing)
    with pytest.raises(UnsupportedAlgorithm):
        verify_key_document(signed, pinned_key=sy.signing.public)


def test_key_lookup_and_expiry():
    identity = NodeIdentity.generate("SY", now=NOW, kem_lifetime=100)
    verified = verify_key_document(_doc(identity), pinned_key=identity.signing.public)
    with pytest.raises(UnknownKey):
        verified.encryption_key("kem-nope")
    with pytest.raises(KeyExpired):
        verified.current_encryption_key(NOW + 100)
