"""Receipts prove delivery only for the exact envelope sent, signed by the pinned partner."""

from __future__ import annotations

import hashlib
import json

import pytest

from crypto.canonical import canonicalize
from crypto.errors import MalformedInput, NotFresh, SignatureInvalid
from crypto.receipt import issue_receipt, verify_receipt

from .conftest import NOW

DIGEST = hashlib.sha256(b"the envelope bytes").digest()
MID = "3f1c2a4e-7d0b-4c9e-9a51-2b7e8d6f0a13"


def _issue(sy, **kw):
    args = {
        "key": sy.signing,
        "message_id": MID,
        "envelope_sha256": DIGEST,
        "sender": "IQ",
        "receiver": "SY",
        "received_at": NOW,
    }
    args.update(kw)
    return issue_receipt(**args)


def _verify(data, sy, **kw):
    args = {
        "receiver_key": sy.signing.public,
        "expected_receiver": "SY",
        "expected_sender": "IQ",
        "expected_message_id": MID,
        "expected_envelope_sha256": DIGEST,
        "now": NOW,
    }
    args.update(kw)
    return verify_receipt(data, **args)


def test_receipt_round_trip(sy):
    receipt = _verify(_issue(sy), sy)
    assert receipt.message_id == MID and receipt.received_at == NOW


def test_receipt_from_another_node_is_refused(sy, jo):
    with pytest.raises(SignatureInvalid):
        _verify(_issue(jo), sy)


@pytest.mark.parametrize(
    "kw",
    [
        {"message_id": "aaaaaaaa-other"},
        {"envelope_sha256": hashlib.sha256(b"another envelope").digest()},
        {"sender": "JO"},
        {"receiver": "JO"},
    ],
    ids=["message-id", "digest", "sender", "receiver"],
)
def test_receipt_for_something_else_is_refused(sy, kw):
    with pytest.raises(MalformedInput):
        _verify(_issue(sy, **kw), sy)


def test_edited_receipt_is_refused(sy):
    obj = json.loads(_issue(sy))
    obj["receipt"]["received_at"] = NOW - 3600
    with pytest.raises(SignatureInvalid):
        _verify(canonicalize(obj), sy)


def test_receipt_from_the_future_is_refused(sy):
    with pytest.raises(NotFresh):
        _verify(_issue(sy, received_at=NOW + 3600), sy)


def test_receipt_signature_does_not_verify_as_other_purpose(sy):
    """A receipt's signature cannot be replayed as a key document's (domain separation)."""
    from crypto.signed_json import load_signed

    body, signature = load_signed(_issue(sy), "receipt", max_bytes=16_384)
    with pytest.raises(SignatureInvalid):
        sy.signing.public.verify("key-document", canonicalize(body), signature)
