"""clients.auditcheck on its own: a keys document, records and checkpoints as a hostile node
could serve them. Whatever is wrong becomes VerificationFailed (or V1-V6 in the report), never
a crypto, key or type error leaking out."""

from __future__ import annotations

import pytest

from clients import auditcheck
from clients.errors import LiaisonError, UsageError, VerificationFailed
from crypto import merkle
from crypto.encoding import b64u_encode
from crypto.fingerprint import fingerprint
from crypto.logverify import record_leaf
from crypto.note import SIG_COSIGNATURE_V1, sign_note, verifier_key
from crypto.signing import SigningKey

NODE, WITNESS = SigningKey.generate(), SigningKey.generate()


def identity(key: SigningKey) -> dict[str, str]:
    return {"ed25519": b64u_encode(key.public.ed25519),
            "ml_dsa_65": b64u_encode(key.public.ml_dsa_65)}  # fmt: skip


def keys_doc() -> dict:
    return {
        "node_id": "IQ",
        "checkpoint_key": verifier_key("liaison/IQ/audit", NODE.public.ed25519),
        "identity": identity(NODE),
        "fingerprint": fingerprint(NODE.public),
        "witnesses": {
            "SY": {
                "cosignature_key": verifier_key(
                    "liaison/SY/witness", WITNESS.public.ed25519, sig_type=SIG_COSIGNATURE_V1
                ),
                "identity": identity(WITNESS),
                "fingerprint": fingerprint(WITNESS.public),
            }
        },
    }


def record(seq: int) -> dict:
    fields = {"id": seq + 1, "seq": seq, "at": "2025-01-31T08:00:00Z", "at_us": 1738310400000000,
              "actor_type": "user", "actor": "officer", "role": "officer", "action": "auth.login",
              "object_type": None, "object_id": None, "outcome": "allowed", "reason": None,
              "remote_addr": None, "policy_version": None}  # fmt: skip
    leaf = merkle.leaf_hash(record_leaf({**fields, "at": fields["at_us"]}))
    return {**fields, "leaf_hash": b64u_encode(leaf)}


def checkpoint_of(records: list[dict]) -> dict:
    from crypto.encoding import b64u_decode
    from crypto.note import Checkpoint

    root = merkle.root([b64u_decode(r["leaf_hash"]) for r in records])
    text = Checkpoint("liaison/IQ/audit", len(records), root).to_text()
    return {"note": sign_note(text, name="liaison/IQ/audit", key=NODE), "cosignatures": []}


def test_good_keys_pass_and_are_pinned_only_when_a_fingerprint_is_given():
    keys = auditcheck.check_keys(keys_doc())
    assert (keys.node_id, keys.pinned, set(keys.witnesses)) == ("IQ", False, {"SY"})
    pinned = auditcheck.check_keys(
        keys_doc(),
        fingerprint=fingerprint(NODE.public),
        witness_fingerprints={"SY": fingerprint(WITNESS.public)},
    )
    assert pinned.pinned and pinned.pinned_witnesses == {"SY"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(fingerprint="0" * 60), "not the 0000"),
        (lambda d: d.update(identity={"ed25519": "x"}), "do not parse"),
        (lambda d: d.update(identity=[]), "not a JSON object"),
        (lambda d: d.pop("node_id"), "node_id is not a string"),
        (lambda d: d.update(checkpoint_key="liaison/IQ/audit+00000000+AAAA"), "do not parse"),
        (lambda d: d.update(checkpoint_key=verifier_key("liaison/SY/audit", NODE.public.ed25519)),
         "not liaison/IQ/audit"),
        (lambda d: d["witnesses"]["SY"].update(
            cosignature_key=verifier_key("liaison/SY/witness", WITNESS.public.ed25519)),
         "of type 0x01, not liaison/SY/witness of type 0x04"),
        (lambda d: d["witnesses"]["SY"].update(
            cosignature_key=verifier_key("liaison/SY/witness", NODE.public.ed25519,
                                         sig_type=SIG_COSIGNATURE_V1)),
         "not the Ed25519 key of the identity"),
        (lambda d: d.update(witnesses=[1]), "witnesses are not a JSON object"),
    ],
)  # fmt: skip
def test_bad_keys_are_refused(edit, message):
    doc = keys_doc()
    edit(doc)
    with pytest.raises(VerificationFailed, match=message) as caught:
        auditcheck.check_keys(doc)
    assert type(caught.value.__cause__).__module__.split(".")[0] in ("crypto", "builtins")


def test_a_typed_fingerprint_that_is_not_60_digits_is_a_usage_error():
    with pytest.raises(UsageError, match="60 digits"):
        auditcheck.check_keys(keys_doc(), fingerprint="1234")
    with pytest.raises(VerificationFailed, match="names no witness JO"):
        auditcheck.check_keys(keys_doc(), witness_fingerprints={"JO": fingerprint(NODE.public)})


def test_a_log_that_verifies_and_one_whose_leaf_hash_is_garbage():
    keys = auditcheck.check_keys(keys_doc())
    records = [record(i) for i in range(5)]
    result = auditcheck.check_log(keys, records, [checkpoint_of(records[:3])])
    assert result.ok and result.records == 5 and [c.size for c in result.checkpoints] == [3]
    records[2]["leaf_hash"] = "not base64url!"
    failure = auditcheck.check_log(keys, records, []).failure
    assert failure is not None and (failure.step, failure.seq) == ("V2", 2)


@pytest.mark.parametrize(
    ("records", "checkpoints"),
    [
        (["a string"], []),
        ([record(0)], [{"note": 5}]),
        ([record(0)], [{"note": "x", "cosignatures": [{"witness": ["SY"], "line": "l"}]}]),
        ([record(0)], [{"note": "x", "cosignatures": "SY"}]),
    ],
)
def test_shapes_a_node_should_never_send_are_verification_failures(records, checkpoints):
    keys = auditcheck.check_keys(keys_doc())
    with pytest.raises(VerificationFailed):
        auditcheck.check_log(keys, records, checkpoints)


def test_every_failure_is_a_liaison_error():
    assert issubclass(VerificationFailed, LiaisonError)
