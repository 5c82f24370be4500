"""Hybrid signatures: both halves required, bound to their purpose."""

from __future__ import annotations

import copy
import hashlib
import pickle
from dataclasses import FrozenInstanceError, fields

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from crypto import signing
from crypto.encoding import b64u_encode
from crypto.errors import MalformedInput, SignatureInvalid
from crypto.signing import HybridSignature, SigningKey, VerifyKey


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


# --- VerifyKey loads its keys once; equality, hash and repr stay those of the bytes -------------


def test_verify_key_equality_and_hash_follow_the_bytes():
    key = SigningKey.generate().public
    again = VerifyKey(ed25519=bytes(key.ed25519), ml_dsa_65=bytes(key.ml_dsa_65))
    assert again == key and hash(again) == hash(key)
    assert VerifyKey.from_json(key.to_json()) == key
    assert key != SigningKey.generate().public
    assert repr(key) == f"VerifyKey(ed25519={key.ed25519!r}, ml_dsa_65={key.ml_dsa_65!r})"
    assert [f.name for f in fields(key) if f.init] == ["ed25519", "ml_dsa_65"]


def test_verify_key_identity_digest_and_key_id_are_unchanged():
    key = SigningKey.generate().public
    digest = hashlib.sha512(b"liaison/v1/identity\x00" + key.ed25519 + key.ml_dsa_65).digest()
    assert key.identity_digest == digest
    assert key.key_id == "sig-" + b64u_encode(digest[:12])
    assert key.same_as(VerifyKey.from_json(key.to_json()))


def test_verify_key_is_immutable():
    key = SigningKey.generate().public
    with pytest.raises(FrozenInstanceError):
        key.ed25519 = bytes(32)  # type: ignore[misc]


def test_verify_key_survives_pickle_and_copy():
    signer = SigningKey.generate()
    sig = signer.sign("envelope", b"m")
    for clone in (
        pickle.loads(pickle.dumps(signer.public)),
        copy.copy(signer.public),
        copy.deepcopy(signer.public),
    ):
        assert clone == signer.public and clone.key_id == signer.public.key_id
        clone.verify("envelope", b"m", sig)
        with pytest.raises(SignatureInvalid):
            clone.verify("envelope", b"other", sig)


def test_verify_key_uses_keys_loaded_once(monkeypatch):
    key = SigningKey.generate()
    public = VerifyKey.from_json(key.public.to_json())

    def refuse(_: bytes) -> None:
        raise AssertionError("public key loaded again")

    monkeypatch.setattr(ed25519.Ed25519PublicKey, "from_public_bytes", refuse, raising=False)
    monkeypatch.setattr(mldsa.MLDSA65PublicKey, "from_public_bytes", refuse, raising=False)
    public.verify("envelope", b"m", key.sign("envelope", b"m"))


@pytest.mark.parametrize("name", ["Ed25519PublicKey", "MLDSA65PublicKey"])
def test_verify_key_refuses_a_key_the_library_refuses(monkeypatch, name):
    """A key the library cannot load is refused when the VerifyKey is made, as MalformedInput."""
    public = SigningKey.generate().public

    class Refusing:
        @staticmethod
        def from_public_bytes(_: bytes) -> None:
            raise ValueError("not a valid key")

    monkeypatch.setattr(signing, name, Refusing)
    with pytest.raises(MalformedInput, match="invalid"):
        VerifyKey(ed25519=public.ed25519, ml_dsa_65=public.ml_dsa_65)
    with pytest.raises(MalformedInput, match="invalid"):
        VerifyKey.from_json(public.to_json())


@pytest.mark.parametrize(("ed", "ml"), [(31, 1952), (33, 1952), (32, 1951), (32, 1953)])
def test_verify_key_wrong_lengths_are_refused(ed, ml):
    with pytest.raises(MalformedInput):
        VerifyKey(ed25519=bytes(ed), ml_dsa_65=bytes(ml))
