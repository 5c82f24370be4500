"""Hybrid signatures: both halves required, bound to their purpose."""

from __future__ import annotations

import pytest

from crypto.errors import MalformedInput, SignatureInvalid
from crypto.signing import HybridSignature, SigningKey


def test_sign_and_verify():
    key = SigningKey.generate()
    sig = key.sign("envelope", b"message")
    key.public.verify("envelope", b"message", sig)
    assert HybridSignature.from_json(sig.to_json()) == sig


@pytest.mark.parametrize("half", ["ed25519", "ml_dsa_65"])
def test_each_half_is_required(half):
    key, other = SigningKey.generate(), SigningKey.generate()
    good, bad = key.sign("envelope", b"m"), other.sign("envelope", b"m")
    mixed = HybridSignature(
        ed25519=bad.ed25519 if half == "ed25519" else good.ed25519,
        ml_dsa_65=bad.ml_dsa_65 if half == "ml_dsa_65" else good.ml_dsa_65,
    )
    with pytest.raises(SignatureInvalid):
        key.public.verify("envelope", b"m", mixed)


def test_purpose_separates_signatures():
    key = SigningKey.generate()
    sig = key.sign("receipt", b"m")
    with pytest.raises(SignatureInvalid):
        key.public.verify("envelope", b"m", sig)


def test_signature_json_shape_is_strict():
    sig = SigningKey.generate().sign("envelope", b"m").to_json()
    with pytest.raises(MalformedInput):
        HybridSignature.from_json({"ed25519": sig["ed25519"]})
    with pytest.raises(MalformedInput):
        HybridSignature.from_json({**sig, "rsa": "AA"})
    with pytest.raises(MalformedInput):
        HybridSignature.from_json({**sig, "ed25519": sig["ed25519"][:-4]})


def test_seeds_reproduce_the_key():
    key = SigningKey.generate()
    assert SigningKey(*key.seeds()).public == key.public
