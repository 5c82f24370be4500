"""Envelope v1: round trips, and a refusal for every attack listed in docs/threat-model.md."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.canonical import canonicalize
from crypto.envelope import (
    ENVELOPE_MAGIC,
    SIGNED_MAGIC,
    EnvelopeHeader,
    envelope_digest,
    open_envelope,
    seal,
    sign_message,
    verify_signed_message,
)
from crypto.errors import (
    CryptoError,
    DecryptionFailed,
    HeaderMismatch,
    InputTooLarge,
    KeyExpired,
    MalformedInput,
    NotFresh,
    SignatureInvalid,
    UnknownKey,
    UnsupportedAlgorithm,
    WrongRecipient,
)
from crypto.keys import NodeIdentity
from crypto.suites import SUITES, XWING_AES

from .conftest import NOW

STIX = "application/stix+json;version=2.1"
REPORT = canonicalize(
    {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{"type": "indicator", "name": "Courier safe house, fictional"}],
    }
)


def _seal(sender: NodeIdentity, recipient: NodeIdentity, body: bytes = REPORT, **kw):
    args = {
        "sender": sender,
        "recipient_id": recipient.node_id,
        "recipient_key": recipient.current_kem_key(NOW).published(),
        "body": body,
        "content_type": STIX,
        "message_id": str(uuid.uuid4()),
        "seq": 1,
        "now": NOW,
    }
    args.update(kw)
    return seal(**args)


def _open(data: bytes, recipient: NodeIdentity, *senders: NodeIdentity, now: int = NOW):
    return open_envelope(
        data, recipient=recipient, senders={s.node_id: s.signing.public for s in senders}, now=now
    )


def _reframe(header_raw: bytes, sealed: bytes) -> bytes:
    return ENVELOPE_MAGIC + struct.pack(">H", len(header_raw)) + header_raw + sealed


def _split(data: bytes) -> tuple[bytes, bytes]:
    (n,) = struct.unpack_from(">H", data, len(ENVELOPE_MAGIC))
    start = len(ENVELOPE_MAGIC) + 2
    return data[start : start + n], data[start + n :]


def _with_header(data: bytes, **changes: object) -> bytes:
    """Rewrite clear header fields (keeping it canonical) and keep the original ciphertext."""
    header_raw, sealed = _split(data)
    fields = EnvelopeHeader.parse(header_raw)
    obj = {k: getattr(fields, k) for k in EnvelopeHeader.__dataclass_fields__ if k != "raw"}
    obj["v"] = 1
    obj.update(changes)
    return _reframe(canonicalize(obj), sealed)


def test_round_trip(iq, sy):
    sealed = _seal(iq, sy)
    opened = _open(sealed.data, sy, iq)
    assert opened.body == REPORT
    assert opened.header.sender == "IQ" and opened.header.recipient == "SY"
    assert opened.digest == sealed.digest
    # The kept signed message re-verifies later with nothing but the sender's public keys.
    header, body = verify_signed_message(opened.signed_message, iq.signing.public)
    assert body == REPORT and header.raw == sealed.header.raw


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_round_trip_every_suite(suite, iq):
    recipient = NodeIdentity.generate("SY", now=NOW - 10, suite=SUITES[suite])
    assert _open(_seal(iq, recipient).data, recipient, iq).body == REPORT


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=4096), seq=st.integers(0, 2**53 - 1))
def test_round_trip_random_reports(iq, sy, body, seq):
    opened = _open(_seal(iq, sy, body=body, seq=seq).data, sy, iq)
    assert opened.body == body and opened.header.seq == seq


def test_every_single_bit_flip_is_refused(iq, sy):
    """Flip one bit in every byte of the envelope: each copy must be refused, none may crash."""
    data = _seal(iq, sy).data
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 1 << (position % 8)
        with pytest.raises(CryptoError):
            _open(bytes(tampered), sy, iq)


def test_truncation_at_every_length_is_refused(iq, sy):
    data = _seal(iq, sy).data
    for length in [*range(0, 64), *range(64, len(data), 97), len(data) - 1]:
        with pytest.raises(CryptoError):
            _open(data[:length], sy, iq)


def test_trailing_bytes_are_refused(iq, sy):
    with pytest.raises(DecryptionFailed):
        _open(_seal(iq, sy).data + b"\x00", sy, iq)


def test_swapped_headers_are_refused(iq, sy):
    """The clear header of one envelope with the ciphertext of another (HPKE info binds it)."""
    first, second = _seal(iq, sy).data, _seal(iq, sy).data
    header_a, _ = _split(first)
    _, sealed_b = _split(second)
    with pytest.raises(DecryptionFailed):
        _open(_reframe(header_a, sealed_b), sy, iq)


@pytest.mark.parametrize(
    ("field", "value"),
    [("message_id", "00000000-0000-4000-8000-000000000000"), ("seq", 99), ("expires", NOW + 60)],
)
def test_edited_clear_header_is_refused(iq, sy, field, value):
    with pytest.raises(DecryptionFailed):
        _open(_with_header(_seal(iq, sy).data, **{field: value}), sy, iq)


def test_surreptitious_forwarding_to_a_third_node_is_refused(iq, sy, jo):
    """SY opens IQ's envelope and re-encrypts IQ's signed report to JO, claiming IQ sent it."""
    opened = _open(_seal(iq, sy).data, sy, iq)
    jo_key = jo.current_kem_key(NOW).published()
    # Attempt 1: a fresh clear header addressed to JO around IQ's signed message.
    header = EnvelopeHeader.build(
        suite=jo_key.suite.name,
        sender="IQ",
        sender_key=iq.signing.public.key_id,
        recipient="JO",
        recipient_key=jo_key.kid,
        message_id=opened.header.message_id,
        seq=opened.header.seq,
        created=opened.header.created,
        expires=opened.header.expires,
        content_type=STIX,
    )
    forged = _reframe(
        header.raw, jo_key.public_key.seal(jo_key.suite, opened.signed_message, header.info)
    )
    with pytest.raises(HeaderMismatch):
        _open(forged, jo, iq)
    # Attempt 2: keep IQ's header (addressed to SY) and only re-encrypt: JO sees it is not for it.
    original = opened.header
    forged = _reframe(
        original.raw, jo_key.public_key.seal(jo_key.suite, opened.signed_message, original.info)
    )
    with pytest.raises(WrongRecipient):
        _open(forged, jo, iq)


def test_signed_report_reused_by_partner_under_its_own_name_is_refused(iq, sy):
    """SY cannot present IQ's envelope as IQ's to IQ (reflection): the header is for SY."""
    with pytest.raises(WrongRecipient):
        _open(_seal(iq, sy).data, iq, sy)


def test_forged_sender_signature_is_refused(iq, sy, jo):
    """JO seals a report claiming to be IQ, signing with its own keys."""
    sy_key = sy.current_kem_key(NOW).published()
    header = EnvelopeHeader.build(
        suite=sy_key.suite.name,
        sender="IQ",
        sender_key=iq.signing.public.key_id,
        recipient="SY",
        recipient_key=sy_key.kid,
        message_id=str(uuid.uuid4()),
        seq=1,
        created=NOW,
        expires=NOW + 3600,
        content_type=STIX,
    )
    signed = sign_message(jo.signing, header, REPORT)
    forged = _reframe(header.raw, sy_key.public_key.seal(sy_key.suite, signed, header.info))
    with pytest.raises(SignatureInvalid):
        _open(forged, sy, iq)


def test_stripping_the_post_quantum_signature_is_refused(iq, sy):
    """Replace the ML-DSA signature with zeros (a downgrade to Ed25519 alone)."""
    opened = _open(_seal(iq, sy).data, sy, iq)
    stripped = opened.signed_message[:-3309] + bytes(3309)
    with pytest.raises(SignatureInvalid, match="ml-dsa"):
        verify_signed_message(stripped, iq.signing.public)


def test_wrong_recipient_is_refused(iq, sy, jo):
    with pytest.raises(WrongRecipient):
        _open(_seal(iq, sy).data, jo, iq)


def test_unpinned_sender_is_refused(iq, sy):
    with pytest.raises(UnknownKey):
        _open(_seal(iq, sy).data, sy)


def test_sender_key_id_not_the_pinned_one_is_refused(iq, sy, jo):
    with pytest.raises(UnknownKey):
        open_envelope(_seal(iq, sy).data, recipient=sy, senders={"IQ": jo.signing.public}, now=NOW)


def test_unknown_recipient_key_id_is_refused(iq, sy):
    data = _with_header(_seal(iq, sy).data, recipient_key="kem-AAAAAAAAAAAAAAAA")
    with pytest.raises(UnknownKey):
        _open(data, sy, iq)


def test_destroyed_key_cannot_open(iq):
    recipient = NodeIdentity.generate("SY", now=NOW - 10)
    data = _seal(iq, recipient).data
    recipient.destroy_kem_keys_before(NOW + 10**9)
    with pytest.raises(UnknownKey):
        _open(data, recipient, iq)


def test_algorithm_substitution_in_header_is_refused(iq, sy):
    """The header claims AES-256-GCM while the recipient key was published for ChaCha20."""
    assert sy.current_kem_key(NOW).suite != XWING_AES
    data = _with_header(_seal(iq, sy).data, suite=XWING_AES.name)
    with pytest.raises(UnsupportedAlgorithm):
        _open(data, sy, iq)


@pytest.mark.parametrize("suite", ["X-Wing/HKDF-SHA256/NULL", "X25519/HKDF-SHA256/AES-128-GCM", ""])
def test_unknown_suite_is_refused(iq, sy, suite):
    with pytest.raises(UnsupportedAlgorithm):
        _open(_with_header(_seal(iq, sy).data, suite=suite), sy, iq)


def test_other_versions_are_refused(iq, sy):
    data = _seal(iq, sy).data
    with pytest.raises(UnsupportedAlgorithm):
        _open(data[:4] + b"\x02" + data[5:], sy, iq)
    with pytest.raises(UnsupportedAlgorithm):
        _open(_with_header(data, v=2), sy, iq)


def test_expired_envelope_is_refused(iq, sy):
    data = _seal(iq, sy, lifetime=3600).data
    assert _open(data, sy, iq, now=NOW + 3000).body == REPORT
    with pytest.raises(NotFresh, match="expired"):
        _open(data, sy, iq, now=NOW + 3600 + 121)


def test_envelope_from_the_future_is_refused(iq, sy):
    with pytest.raises(NotFresh, match="future"):
        _open(_seal(iq, sy).data, sy, iq, now=NOW - 600)


def test_over_long_lifetime_is_refused(iq, sy):
    with pytest.raises(NotFresh, match="lifetime"):
        _open(_seal(iq, sy, lifetime=365 * 24 * 3600).data, sy, iq)


def test_envelope_sealed_to_an_expired_key_is_refused(iq):
    recipient = NodeIdentity.generate("SY", now=NOW - 1000, kem_lifetime=500)
    old_key = recipient.kem_keys[0]
    recipient.add_kem_key(now=NOW - 500)
    # The sender refuses to seal to an expired key ...
    with pytest.raises(KeyExpired):
        _seal(iq, recipient, recipient_key=old_key.published())
    # ... and the receiver refuses an envelope that claims it was sealed to one anyway.
    data = _seal(iq, recipient, recipient_key=old_key.published(), now=NOW - 700).data
    forged = _with_header(data, created=NOW - 100)
    with pytest.raises((KeyExpired, DecryptionFailed)):
        _open(forged, recipient, iq)
    # Sealed inside the window and delivered late, after the key expired but before it was
    # destroyed, the envelope still opens: outages must not lose reports.
    assert _open(data, recipient, iq, now=NOW - 100).body == REPORT


def test_oversize_input_is_refused_before_any_work(sy, iq):
    with pytest.raises(InputTooLarge):
        open_envelope(
            b"LENV\x01" + bytes(10_000), recipient=sy, senders={}, now=NOW, max_bytes=4096
        )


@pytest.mark.parametrize(
    "header",
    [
        b'{"v":1,"v":1}',
        b'{"created":NaN}',
        b"[" * 200,
        b'{"a":1}',
        b" " + canonicalize({"v": 1}),
        b"\xff\xfe",
    ],
    ids=["duplicate-key", "nan", "deep", "wrong-fields", "not-canonical", "not-utf8"],
)
def test_malformed_headers_are_refused(iq, sy, header):
    _, sealed = _split(_seal(iq, sy).data)
    with pytest.raises(MalformedInput):
        _open(_reframe(header, sealed), sy, iq)


def test_duplicate_key_header_with_valid_ciphertext_is_refused(iq, sy):
    """Even when the duplicate-key spelling is what was bound into HPKE, it never parses."""
    sy_key = sy.current_kem_key(NOW).published()
    good = EnvelopeHeader.build(
        suite=sy_key.suite.name,
        sender="IQ",
        sender_key=iq.signing.public.key_id,
        recipient="SY",
        recipient_key=sy_key.kid,
        message_id=str(uuid.uuid4()),
        seq=1,
        created=NOW,
        expires=NOW + 3600,
        content_type=STIX,
    )
    evil = good.raw[:-1] + b',"recipient":"JO"}'
    with pytest.raises(MalformedInput, match="duplicate"):
        EnvelopeHeader.parse(evil)


def test_signed_message_framing_is_strict(iq):
    header = EnvelopeHeader.build(
        suite=XWING_AES.name,
        sender="IQ",
        sender_key=iq.signing.public.key_id,
        recipient="SY",
        recipient_key="kem-x",
        message_id=str(uuid.uuid4()),
        seq=0,
        created=NOW,
        expires=NOW + 60,
        content_type=STIX,
    )
    signed = sign_message(iq.signing, header, REPORT)
    assert signed.startswith(SIGNED_MAGIC)
    for bad in (signed[:-1], signed + b"\x00", b"XXXX" + signed[4:], signed[:10]):
        with pytest.raises(MalformedInput):
            verify_signed_message(bad, iq.signing.public)


def test_open_parses_the_header_once(iq, sy, monkeypatch):
    """R10 already proved the signed header equals the clear one, parsed in R2."""
    data = _seal(iq, sy).data
    calls = []
    parse = EnvelopeHeader.parse

    def counting(raw: bytes) -> EnvelopeHeader:
        calls.append(raw)
        return parse(raw)

    monkeypatch.setattr(EnvelopeHeader, "parse", counting)
    opened = _open(data, sy, iq)
    assert calls == [opened.header.raw]
    # verify_signed_message still parses what it returns.
    calls.clear()
    header, body = verify_signed_message(opened.signed_message, iq.signing.public)
    assert calls == [opened.header.raw] and header == opened.header and body == REPORT


def _signed_with_raw_header(sender: NodeIdentity, header_raw: bytes, body: bytes) -> bytes:
    tbs = struct.pack(">H", len(header_raw)) + header_raw + struct.pack(">I", len(body)) + body
    sig = sender.signing.sign("envelope", tbs)
    return SIGNED_MAGIC + tbs + sig.ed25519 + sig.ml_dsa_65


@pytest.mark.parametrize(
    "header_raw",
    [b"{}", b'{"v":1}', b"not json", b'{"v": 1}'],
    ids=["empty-object", "missing-fields", "not-json", "not-canonical"],
)
def test_verify_signed_message_still_parses_the_signed_header(iq, header_raw):
    """Correctly signed, but the header inside is not a v1 header: refused after the signatures."""
    signed = _signed_with_raw_header(iq, header_raw, REPORT)
    with pytest.raises(MalformedInput):
        verify_signed_message(signed, iq.signing.public)


def test_verify_signed_message_checks_signatures_before_the_header(iq, jo):
    signed = _signed_with_raw_header(iq, b"not json", REPORT)
    with pytest.raises(SignatureInvalid):
        verify_signed_message(signed, jo.signing.public)


def test_verified_envelope_is_unchanged_by_the_single_parse(iq, sy):
    sealed = _seal(iq, sy)
    opened = _open(sealed.data, sy, iq)
    assert opened.header == EnvelopeHeader.parse(sealed.header.raw) == sealed.header
    assert opened.digest == envelope_digest(sealed.data)
    header, body = verify_signed_message(opened.signed_message, iq.signing.public)
    assert (header, body) == (opened.header, opened.body)
