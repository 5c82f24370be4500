"""Protocol version 2's root of trust (docs/protocol.md section 10): a threshold of offline root
keys, rotated by TUF's rules, certifying and revoking operational keys. Each test tries to get
something past a verifier that the rules forbid."""

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
)
from crypto.operational import certify, revoke, verify_certificate, verify_revocation
from crypto.root import MAX_CHAIN, build_root, check_self_signed, root_fingerprint, trust_roots
from crypto.signing import SigningKey

NOW = 1_800_000_000
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def custodians() -> list[SigningKey]:
    """Six root keys, each (in life) in a file of its own, held by a different person."""
    return [SigningKey.generate() for _ in range(6)]


def root(keys, version=1, threshold=2, signed_by=None, expires=NOW + YEAR) -> bytes:
    return build_root(
        node_id="SY",
        version=version,
        expires=expires,
        threshold=threshold,
        keys=[k.public for k in keys],
        signed_by=signed_by or keys[:threshold],
    )


def pinned(keys, threshold=2) -> str:
    return root_fingerprint("SY", threshold, [k.public for k in keys])


def trust(chain, **kw):
    kw.setdefault("expected_node_id", "SY")
    return trust_roots(chain, now=NOW, **kw)


def test_the_first_root_is_the_one_read_out_and_signed_by_its_threshold(custodians):
    a, b, c = custodians[:3]
    first = root([a, b, c])
    [verified] = trust([first], pinned_fingerprint=pinned([a, b, c]))
    assert verified.version == 1 and verified.threshold == 2 and len(verified.keys) == 3
    assert verified.fingerprint == pinned([a, b, c])
    # Another key set, or the same keys with another threshold, is another fingerprint.
    with pytest.raises(FingerprintMismatch):
        trust([first], pinned_fingerprint=pinned([a, b, custodians[3]]))
    with pytest.raises(FingerprintMismatch):
        trust([first], pinned_fingerprint=pinned([a, b, c], threshold=1))
    with pytest.raises(SignatureInvalid, match="1 of its keys, 2 needed"):
        trust([root([a, b, c], signed_by=[a])], pinned_fingerprint=pinned([a, b, c]))
    with pytest.raises(MalformedInput, match="version 1"):
        trust([root([a, b, c], version=2)], pinned_fingerprint=pinned([a, b, c]))
    with pytest.raises(MalformedInput, match="not of IQ"):
        trust([first], pinned_fingerprint=pinned([a, b, c]), expected_node_id="IQ")


def test_one_key_signing_twice_is_one_vote_and_outsiders_do_not_vote(custodians):
    a, b, c, outsider = custodians[:4]
    signed = json.loads(root([a, b, c], signed_by=[a, outsider]))
    with pytest.raises(SignatureInvalid, match="1 of its keys"):
        trust([canonicalize(signed)], pinned_fingerprint=pinned([a, b, c]))
    twice = json.loads(root([a, b, c], signed_by=[a]))
    twice["signatures"] = twice["signatures"] * 2
    with pytest.raises(MalformedInput, match="more than once"):
        trust([canonicalize(twice)], pinned_fingerprint=pinned([a, b, c]))


def test_a_root_edited_after_signing_is_refused(custodians):
    a, b, c = custodians[:3]
    edited = json.loads(root([a, b, c]))
    edited["root"]["threshold"] = 1  # one stolen key would then be enough
    with pytest.raises((SignatureInvalid, FingerprintMismatch)):
        trust([canonicalize(edited)], pinned_fingerprint=pinned([a, b, c], threshold=1))
    with pytest.raises(SignatureInvalid):
        check_self_signed(canonicalize(edited))


def test_rotation_needs_the_old_threshold_and_the_new_one(custodians):
    a, b, c, d, e, _ = custodians
    [v1] = trust([root([a, b, c])], pinned_fingerprint=pinned([a, b, c]))
    # c's file was copied: the others sign version 2 without it, with d in its place.
    v2 = root([a, b, d], version=2, signed_by=[a, b, d])
    [verified] = trust([v2], trusted=v1)
    assert verified.version == 2 and {k.key_id for k in verified.keys} == {
        k.public.key_id for k in (a, b, d)
    }
    # A thief holding c alone (and new keys of its own) cannot make a version 2.
    with pytest.raises(SignatureInvalid, match="version 1's keys"):
        trust([root([c, d, e], version=2, signed_by=[c, d, e])], trusted=v1)
    # The old threshold without the new keys' own signatures is not enough either.
    with pytest.raises(SignatureInvalid, match="root version 2 is signed by 0"):
        trust([root([d, e, custodians[5]], version=2, signed_by=[a, b])], trusted=v1)


def test_no_skipped_version_no_rollback_and_only_the_final_root_must_be_current(custodians):
    a, b, c, d = custodians[:4]
    [v1] = trust([root([a, b, c])], pinned_fingerprint=pinned([a, b, c]))
    with pytest.raises(MalformedInput, match="does not follow"):
        trust([root([a, b, c], version=3)], trusted=v1)
    with pytest.raises(MalformedInput, match="does not follow"):
        trust([root([a, b, c], version=1)], trusted=v1)
    # An expired intermediate root is still a link of the chain; an expired final one is not.
    v2 = root([a, b, d], version=2, signed_by=[a, b, d], expires=NOW - 10)
    v3 = root([a, b, d], version=3, signed_by=[a, b])
    assert [r.version for r in trust([v2, v3], trusted=v1)] == [2, 3]
    with pytest.raises(KeyExpired):
        trust([v2], trusted=v1)
    with pytest.raises(MalformedInput, match=f"more than {MAX_CHAIN}"):
        trust([v2] * (MAX_CHAIN + 1), trusted=v1)


def test_certificates_need_a_threshold_of_their_root_and_of_the_newest(custodians):
    a, b, c, d = custodians[:4]
    [v1] = trust([root([a, b, c])], pinned_fingerprint=pinned([a, b, c]))
    operational = SigningKey.generate().public
    cert = certify(node_id="SY", root=v1, key=operational, not_before=NOW - 60,
                   not_after=NOW + 90 * 86400, signed_by=[a, c])  # fmt: skip
    verified = verify_certificate(cert, roots={1: v1}, now=NOW, expected_node_id="SY")
    assert verified.kid == operational.key_id and verified.root_version == 1
    lone = certify(node_id="SY", root=v1, key=operational, not_before=NOW - 60,
                   not_after=NOW + 60, signed_by=[c])  # fmt: skip
    with pytest.raises(SignatureInvalid):
        verify_certificate(lone, roots={1: v1}, now=NOW, expected_node_id="SY")
    with pytest.raises(KeyExpired):
        verify_certificate(cert, roots={1: v1}, now=NOW + 91 * 86400, expected_node_id="SY")
    with pytest.raises(UnknownKey):
        verify_certificate(cert, roots={2: v1}, now=NOW, expected_node_id="SY")
    bad_kid = json.loads(cert)
    bad_kid["certificate"]["kid"] = "sig-AAAAAAAAAAAAAAAA"
    with pytest.raises(MalformedInput, match="kid"):
        verify_certificate(canonicalize(bad_kid), roots={1: v1}, now=NOW, expected_node_id="SY")
    # c's file was copied and version 2 drops it: what c helped certify no longer stands;
    # what a and b certified does.
    [v2] = trust([root([a, b, d], version=2, signed_by=[a, b, d])], trusted=v1)
    with pytest.raises(SignatureInvalid, match="root version 2 lists"):
        verify_certificate(cert, roots={1: v1, 2: v2}, now=NOW, expected_node_id="SY")
    kept = certify(node_id="SY", root=v1, key=operational, not_before=NOW - 60,
                   not_after=NOW + 60, signed_by=[a, b])  # fmt: skip
    assert verify_certificate(kept, roots={1: v1, 2: v2}, now=NOW, expected_node_id="SY")


def test_revocations_are_signed_by_a_threshold_and_cannot_be_edited(custodians):
    a, b, c = custodians[:3]
    [v1] = trust([root([a, b, c])], pinned_fingerprint=pinned([a, b, c]))
    kid = SigningKey.generate().public.key_id
    made = revoke(node_id="SY", root=v1, kid=kid, since=NOW - 3600,
                  reason="key file copied", signed_by=[b, c])  # fmt: skip
    verified = verify_revocation(made, roots={1: v1}, expected_node_id="SY")
    assert (verified.kid, verified.since, verified.reason) == (kid, NOW - 3600, "key file copied")
    lone = revoke(node_id="SY", root=v1, kid=kid, since=0, reason="x", signed_by=[a])
    with pytest.raises(SignatureInvalid):
        verify_revocation(lone, roots={1: v1}, expected_node_id="SY")
    later = json.loads(made)
    later["revocation"]["since"] = NOW  # a thief narrowing the window
    with pytest.raises(SignatureInvalid):
        verify_revocation(canonicalize(later), roots={1: v1}, expected_node_id="SY")
    with pytest.raises(MalformedInput, match="not of IQ"):
        verify_revocation(made, roots={1: v1}, expected_node_id="IQ")
