"""Signed notes, checkpoints and cosignatures: the published examples, then attacks.

Known answers are read in place from
``../shared/vectors/merkle/signed_note_checkpoint_vectors.json``: the C2SP signed-note,
tlog-checkpoint and tlog-cosignature examples and the golang.org/x/mod sumdb/note tests. The C2SP
checkpoint and cosignature examples publish no key, so they are checked for format only; the Go
examples are verified, and one is re-signed byte for byte from its published test key.
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import merkle
from crypto.errors import (
    CryptoError,
    InputTooLarge,
    MalformedInput,
    NotFresh,
    SignatureInvalid,
    UnknownKey,
)
from crypto.note import (
    MAX_NOTE_BYTES,
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    Checkpoint,
    NoteSignature,
    NoteVerifier,
    VerifiedSignature,
    add_signature,
    cosign,
    cosignature_message,
    key_id,
    parse_checkpoint,
    parse_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_cosignature,
    verify_note,
)
from crypto.signing import SigningKey
from tests.conftest import shared_path

from .conftest import NOW


def _vectors() -> dict[str, dict[str, Any]]:
    path = shared_path("vectors", "merkle", "signed_note_checkpoint_vectors.json")
    return {v["name"]: v for v in json.loads(path.read_text())["vectors"]}


V = _vectors()
C2SP_NOTE = V["c2sp-signed-note-example"]
GO_TWO = V["go-sumdb-note-two-signers"]
GO_SIGN = V["go-sumdb-note-sign-deterministic"]
GO_TREE = V["go-sumdb-tree-note-body"]
C2SP_CHECKPOINT = V["c2sp-checkpoint-example (format only)"]
C2SP_COSIGNED = V["c2sp-cosignature-v1-signed-message"]


def _go_signer_key(skey: str) -> tuple[str, int, Ed25519PrivateKey]:
    """Go's ``PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)`` test key format."""
    private, key, name, hex_id, data = skey.split("+", 4)
    assert (private, key) == ("PRIVATE", "KEY")
    raw = base64.b64decode(data, validate=True)
    assert raw[0] == SIG_ED25519 and len(raw) == 33
    return name, int(hex_id, 16), Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_vector_count():
    assert len(V) == 6


# --- The published examples ----------------------------------------------------------------------


@pytest.mark.parametrize("vkey", [C2SP_NOTE["vkey"], *GO_TWO["vkeys"]])
def test_verifier_keys_and_the_key_id_rule(vkey):
    verifier = parse_verifier_key(vkey)
    name, hex_id, _ = vkey.split("+", 2)
    assert verifier.name == name and verifier.sig_type == SIG_ED25519
    assert verifier.key_id == int(hex_id, 16) == key_id(name, 0x01, verifier.public_key)
    assert verifier.vkey == vkey == verifier_key(name, verifier.public_key)


def test_c2sp_signed_note_example():
    verifier = parse_verifier_key(C2SP_NOTE["vkey"])
    verified = verify_note(C2SP_NOTE["note"], [verifier])
    assert verified.text == "This is an example message.\n"
    assert verified.signatures == (
        VerifiedSignature("example.com/foo", 0x530D903A, SIG_ED25519, None),
    )
    assert verify_note(C2SP_NOTE["note"].encode(), [verifier]).text == verified.text


def test_go_note_with_two_signers():
    peter, enoch = (parse_verifier_key(v) for v in GO_TWO["vkeys"])
    both = verify_note(GO_TWO["note"], [peter, enoch])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    # A signature by a key we do not know is ignored, not an error.
    only = verify_note(GO_TWO["note"], [enoch])
    assert only.signed_by(enoch) and not only.signed_by(peter)
    with pytest.raises(UnknownKey):
        verify_note(GO_TWO["note"], [])


def test_go_deterministic_signature_is_reproduced():
    name, hex_id, key = _go_signer_key(GO_SIGN["skey"])
    public = key.public_key()
    assert key_id(name, SIG_ED25519, public.public_bytes_raw()) == hex_id == 0xC74F20A3
    assert verifier_key(name, public) == GO_TWO["vkeys"][0]
    signed = sign_note(GO_SIGN["text"], name=name, key=key)
    assert signed == GO_SIGN["text"] + "\n" + GO_SIGN["expected_signature_line"]
    # Adding the published EnochRoot line gives exactly the published two-signer note.
    enoch_line = GO_TWO["note"].splitlines(keepends=True)[-1]
    assert add_signature(signed, enoch_line) == GO_TWO["note"]


def test_go_tree_note_body_is_a_checkpoint():
    checkpoint = parse_checkpoint(GO_TREE["text"])
    assert checkpoint.origin == "go.sum database tree"  # an origin with spaces is valid
    assert checkpoint.size == 123456789012
    assert checkpoint.root == merkle.leaf_hash(b"hello world")
    assert checkpoint.extensions == ()
    assert checkpoint.to_text() == GO_TREE["text"]


def test_c2sp_checkpoint_example_format():
    note = parse_note(C2SP_CHECKPOINT["note"])
    assert note.text.count("\n") == 3 and len(note.signatures) == 2
    log, witness = note.signatures
    assert log.name == "example.com/behind-the-sofa" and len(log.signature) == 64
    # 4-byte key id || 8-byte big-endian timestamp || 64-byte Ed25519 signature = 76 bytes.
    assert witness.name == "witness.example.com/w1" and len(witness.signature) == 72
    assert int.from_bytes(witness.signature[:8], "big") == 1679315147
    assert note.encode() == C2SP_CHECKPOINT["note"]
    checkpoint = parse_checkpoint(note.text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.to_text() == note.text
    # No published key: nothing verifies, and a key that only shares the name is ignored.
    impostor = NoteVerifier.ed25519(log.name, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(UnknownKey):
        verify_note(C2SP_CHECKPOINT["note"], [impostor])


def test_c2sp_cosignature_message():
    text = parse_note(C2SP_CHECKPOINT["note"]).text
    assert cosignature_message(text, 1679315147) == C2SP_COSIGNED["message"].encode()


# --- Keys for the attacks ------------------------------------------------------------------------

LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
LOG = NoteVerifier.ed25519("liaison/IQ/audit", LOG_KEY.public_key())
WITNESS = NoteVerifier.cosigner("liaison/SY/witness", WITNESS_KEY.public_key())
CHECKPOINT = Checkpoint("liaison/IQ/audit", 8, merkle.root([merkle.leaf_hash(b"x")] * 8))
TEXT = CHECKPOINT.to_text()
SIGNED = sign_note(TEXT, name=LOG.name, key=LOG_KEY)
LOG_LINE = SIGNED.splitlines(keepends=True)[-1]


def _line(name: str, data: bytes) -> str:
    return f"\u2014 {name} {base64.b64encode(data).decode()}\n"


def test_sign_with_the_node_hybrid_key():
    key = SigningKey(bytes(range(32)), bytes(32))
    verifier = NoteVerifier.ed25519("liaison/IQ/audit", key.public.ed25519)
    assert verifier == LOG  # the same Ed25519 seed as LOG_KEY
    assert sign_note(TEXT, name=LOG.name, key=key) == SIGNED
    assert verify_note(SIGNED, [verifier]).signed_by(verifier)


# --- Note attacks --------------------------------------------------------------------------------


def test_tampered_text_is_refused():
    with pytest.raises(SignatureInvalid):
        verify_note(SIGNED.replace("\n8\n", "\n9\n"), [LOG])


def test_wrong_key_under_the_right_name_is_ignored():
    impostor = NoteVerifier.ed25519(LOG.name, OTHER_KEY.public_key())
    assert impostor.key_id != LOG.key_id
    with pytest.raises(UnknownKey):
        verify_note(SIGNED, [impostor])


def test_signature_by_another_key_under_the_known_name_and_id_is_refused():
    forged = TEXT + "\n" + _line(LOG.name, LOG.key_id.to_bytes(4, "big") + OTHER_KEY.sign(b"x"))
    with pytest.raises(SignatureInvalid):
        verify_note(forged, [LOG])


def test_wrong_key_id_is_an_unknown_signature():
    data = base64.b64decode(LOG_LINE.split(" ")[2])
    relabelled = TEXT + "\n" + _line(LOG.name, (LOG.key_id ^ 1).to_bytes(4, "big") + data[4:])
    with pytest.raises(UnknownKey):
        verify_note(relabelled, [LOG])


def test_one_bad_known_signature_rejects_the_whole_note():
    bad = _line(WITNESS.name, WITNESS.key_id.to_bytes(4, "big") + bytes(72))
    with pytest.raises(SignatureInvalid):
        verify_note(add_signature(SIGNED, bad), [LOG, WITNESS])


def test_unknown_signatures_are_ignored_whatever_their_size():
    note = SIGNED + _line("example.com/pq", bytes(4) + bytes(2420)) + _line("x", bytes(5))
    verified = verify_note(note, [LOG])
    assert [s.name for s in verified.signatures] == [LOG.name]


def test_sixteen_and_a_hundred_signatures_are_accepted_not_more():
    lines = [_line(f"w{i}.example", bytes(76)) for i in range(99)]
    assert len(verify_note(SIGNED + "".join(lines[:15]), [LOG]).signatures) == 1
    assert len(verify_note(SIGNED + "".join(lines), [LOG]).signatures) == 1
    with pytest.raises(InputTooLarge):
        parse_note(SIGNED + "".join(lines) + _line("w99.example", bytes(76)))


def test_oversized_note_is_refused():
    big = "a" * MAX_NOTE_BYTES + "\n"
    with pytest.raises(InputTooLarge):
        parse_note(big + "\n" + LOG_LINE)
    with pytest.raises(InputTooLarge):
        sign_note(big, name=LOG.name, key=LOG_KEY)


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(SIGNED[:-1], id="missing-final-newline"),
        pytest.param(TEXT + LOG_LINE, id="no-blank-line"),
        pytest.param(TEXT + "\n", id="no-signature"),
        pytest.param(SIGNED + "trailing\n", id="trailing-line"),
        pytest.param(SIGNED + "trailing", id="trailing-data"),
        pytest.param(SIGNED + "\n", id="trailing-blank-line"),
        pytest.param(SIGNED + LOG_LINE, id="duplicate-line"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace("\u2014", "-"), id="hyphen-not-em-dash"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace("\u2014", "\u2013"), id="en-dash"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace("\u2014 ", "\u2014"), id="no-space"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace(" ", "  ", 1), id="two-spaces"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace("audit ", "audit+x "), id="plus-in-name"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace("/audit", "/\u00a0audit"), id="nbsp-in-name"),
        pytest.param(TEXT + "\n" + LOG_LINE.replace("=\n", "\n"), id="unpadded-base64"),
        pytest.param(TEXT + "\n" + _line("x", bytes(4)), id="signature-too-short"),
        pytest.param(SIGNED.replace("audit\n8", "audit\r\n8", 1), id="carriage-return"),
        pytest.param(SIGNED.replace("\n8\n", "\n8\t\n"), id="tab"),
        pytest.param(SIGNED.replace("\n8\n", "\n8\x00\n"), id="nul"),
        pytest.param(b"\xff" + SIGNED.encode(), id="invalid-utf8"),
        pytest.param("\ud800" + SIGNED, id="lone-surrogate"),
    ],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(MalformedInput):
        verify_note(note, [LOG])


def test_non_canonical_base64_is_refused():
    b64 = LOG_LINE.split(" ")[2].rstrip("\n")
    assert b64.endswith("=")  # 68 bytes: one padding character, two spare bits
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(b64[-2])
    sloppy = b64[:-2] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[last | 1]
    assert base64.b64decode(sloppy + "=") == base64.b64decode(b64)
    with pytest.raises(MalformedInput, match="non-canonical"):
        parse_note(TEXT + "\n" + LOG_LINE.replace(b64, sloppy + "="))


def test_text_with_empty_lines_splits_at_the_last_blank_line():
    text = "first\n\nthird\n"
    note = sign_note(text, name=LOG.name, key=LOG_KEY)
    assert verify_note(note, [LOG]).text == text


def test_ambiguous_known_keys_are_refused():
    with pytest.raises(MalformedInput, match="same key id"):
        verify_note(SIGNED, [LOG, NoteVerifier.ed25519(LOG.name, LOG.public_key)])


def test_known_signature_of_the_wrong_length_is_refused():
    short = TEXT + "\n" + _line(LOG.name, LOG.key_id.to_bytes(4, "big") + bytes(63))
    with pytest.raises(MalformedInput, match="64 bytes"):
        verify_note(short, [LOG])


@pytest.mark.parametrize(
    "text",
    ["no final newline", "bad\rtext\n", "cosignature/v1\ntime 1\nlog\n1\nroot\n", ""],
)
def test_sign_note_refuses_bad_text(text):
    with pytest.raises(MalformedInput):
        sign_note(text, name=LOG.name, key=LOG_KEY)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u2003b", "a\nb", "a\x7f\x01"])
def test_sign_note_refuses_bad_names(name):
    with pytest.raises(MalformedInput):
        sign_note(TEXT, name=name, key=LOG_KEY)


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param(LOG.vkey.replace(f"{LOG.key_id:08x}", f"{LOG.key_id ^ 1:08x}"), id="wrong-id"),
        pytest.param(LOG.vkey.replace(f"{LOG.key_id:08x}", f"{LOG.key_id:08X}"), id="uppercase"),
        pytest.param(LOG.vkey.replace(f"+{LOG.key_id:08x}", ""), id="no-id"),
        pytest.param(LOG.vkey.replace(LOG.name, "a b"), id="space-in-name"),
        pytest.param(LOG.vkey[:-1], id="truncated-base64"),
        pytest.param(
            f"n+00000000+{base64.b64encode(bytes([2]) + bytes(32)).decode()}", id="type-2"
        ),
        pytest.param(f"n+00000000+{base64.b64encode(bytes([1]) + bytes(31)).decode()}", id="31"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_verifier_keys_are_refused(vkey):
    with pytest.raises(MalformedInput):
        parse_verifier_key(vkey)


def test_cosigner_verifier_key_round_trip():
    vkey = verifier_key(WITNESS.name, WITNESS.public_key, sig_type=SIG_COSIGNATURE_V1)
    assert parse_verifier_key(vkey) == WITNESS
    assert WITNESS.key_id == key_id(WITNESS.name, 0x04, WITNESS.public_key)
    assert WITNESS.key_id != NoteVerifier.ed25519(WITNESS.name, WITNESS.public_key).key_id


# --- Checkpoints ---------------------------------------------------------------------------------

ROOT64 = base64.b64encode(CHECKPOINT.root).decode()


def test_checkpoint_round_trip_with_extensions_and_size_zero():
    text = f"example.com/log\n0\n{ROOT64}\next one\n+two\n"
    checkpoint = parse_checkpoint(text)
    assert checkpoint.size == 0 and checkpoint.extensions == ("ext one", "+two")
    assert checkpoint.to_text() == text
    top = f"o\n{2**64 - 1}\n{ROOT64}\n"
    assert parse_checkpoint(top).size == 2**64 - 1


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"o\n01\n{ROOT64}\n", id="leading-zero"),
        pytest.param(f"o\n00\n{ROOT64}\n", id="double-zero"),
        pytest.param(f"o\n+1\n{ROOT64}\n", id="plus-sign"),
        pytest.param(f"o\n-1\n{ROOT64}\n", id="negative"),
        pytest.param(f"o\n 1\n{ROOT64}\n", id="space"),
        pytest.param(f"o\n1_000\n{ROOT64}\n", id="underscore"),
        pytest.param(f"o\n\u0661\n{ROOT64}\n", id="arabic-indic-digit"),
        pytest.param(f"o\n{2**64}\n{ROOT64}\n", id="over-uint64"),
        pytest.param(f"o\n{'9' * 30}\n{ROOT64}\n", id="thirty-digits"),
        pytest.param("o\n1\n", id="two-lines"),
        pytest.param(f"\n1\n{ROOT64}\n", id="empty-origin"),
        pytest.param(f"o\n1\n{ROOT64}\n\next\n", id="empty-extension"),
        pytest.param(f"o\n1\n{ROOT64}", id="no-final-newline"),
        pytest.param(f"o\r\n1\n{ROOT64}\n", id="carriage-return"),
        pytest.param(f"o\n1\n{ROOT64.rstrip('=')}\n", id="unpadded-root"),
        pytest.param(f"o\n1\n{base64.urlsafe_b64encode(bytes([251] * 32)).decode()}\n", id="url"),
        pytest.param(f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n", id="31-byte-root"),
        pytest.param(f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n", id="33-byte-root"),
    ],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(MalformedInput):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    "args",
    [
        ("", 1, bytes(32)),
        ("a\nb", 1, bytes(32)),
        ("o", -1, bytes(32)),
        ("o", True, bytes(32)),
        ("o", 2**64, bytes(32)),
        ("o", 1, bytes(31)),
        ("o", 1, bytes(32), ("",)),
    ],
)
def test_checkpoint_values_are_checked(args):
    with pytest.raises(MalformedInput):
        Checkpoint(*args)


# --- Cosignatures --------------------------------------------------------------------------------


def test_cosign_round_trip():
    line = cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW)
    assert verify_cosignature(TEXT, line, WITNESS, now=NOW) == NOW
    data = base64.b64decode(line.split(" ")[2])
    assert len(data) == 76 and data[:4] == WITNESS.key_id.to_bytes(4, "big")
    assert int.from_bytes(data[4:12], "big") == NOW
    WITNESS_KEY.public_key().verify(data[12:], b"cosignature/v1\ntime %d\n" % NOW + TEXT.encode())
    cosigned = add_signature(SIGNED, line)
    verified = verify_note(cosigned, [LOG, WITNESS], now=NOW)
    assert verified.signed_by(LOG) == VerifiedSignature(LOG.name, LOG.key_id, SIG_ED25519, None)
    assert verified.signed_by(WITNESS) == VerifiedSignature(
        WITNESS.name, WITNESS.key_id, SIG_COSIGNATURE_V1, NOW
    )


def test_cosign_with_the_node_hybrid_key():
    key = SigningKey(bytes(range(32, 64)), bytes(32))
    line = cosign(TEXT, name=WITNESS.name, key=key, timestamp=NOW)
    assert line == cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW)


def test_a_newer_cosignature_replaces_the_older_one():
    old = cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW - 60)
    new = cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW)
    note = add_signature(add_signature(SIGNED, old), new)
    assert parse_note(note).signatures[-1].line() == new and note.count(WITNESS.name) == 1


def test_cosignature_of_another_checkpoint_is_refused():
    line = cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW)
    other = Checkpoint(CHECKPOINT.origin, 9, CHECKPOINT.root).to_text()
    with pytest.raises(SignatureInvalid):
        verify_cosignature(other, line, WITNESS)
    with pytest.raises(SignatureInvalid):
        verify_note(other + "\n" + line, [WITNESS])


def test_cosignature_with_a_changed_timestamp_is_refused():
    line = cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW)
    data = bytearray(base64.b64decode(line.split(" ")[2]))
    data[11] ^= 1
    with pytest.raises(SignatureInvalid):
        verify_cosignature(TEXT, _line(WITNESS.name, bytes(data)), WITNESS)


def test_cosignature_timestamp_over_2_63_is_refused():
    data = WITNESS.key_id.to_bytes(4, "big") + (2**63).to_bytes(8, "big") + bytes(64)
    with pytest.raises(MalformedInput, match="timestamp"):
        verify_cosignature(TEXT, _line(WITNESS.name, data), WITNESS)
    with pytest.raises(MalformedInput):
        cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=2**63)


def test_cosignature_from_the_future_is_refused():
    line = cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW + 301)
    assert verify_cosignature(TEXT, line, WITNESS) == NOW + 301
    with pytest.raises(NotFresh):
        verify_cosignature(TEXT, line, WITNESS, now=NOW)
    with pytest.raises(NotFresh):
        verify_note(add_signature(SIGNED, line), [LOG, WITNESS], now=NOW)


def test_cosignature_by_another_witness_is_refused():
    line = cosign(TEXT, name=WITNESS.name, key=OTHER_KEY, timestamp=NOW)
    with pytest.raises(UnknownKey):
        verify_cosignature(TEXT, line, WITNESS)


def test_note_signature_and_cosignature_do_not_substitute():
    # The same key and name, two types: two key ids, so neither line matches the other verifier.
    same_key = NoteVerifier.cosigner(LOG.name, LOG.public_key)
    with pytest.raises(MalformedInput, match="type 0x04"):
        verify_cosignature(TEXT, LOG_LINE, LOG)
    with pytest.raises(UnknownKey):
        verify_cosignature(TEXT, LOG_LINE, same_key)
    with pytest.raises(UnknownKey):
        verify_note(SIGNED, [same_key])


@pytest.mark.parametrize(
    "text", ["not a checkpoint\n", f"o\n01\n{ROOT64}\n", TEXT + "\n", TEXT[:-1]]
)
def test_only_checkpoints_are_cosigned(text):
    with pytest.raises(MalformedInput):
        cosign(text, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW)


@pytest.mark.parametrize("line", [LOG_LINE[:-1], LOG_LINE + LOG_LINE, "\n", "x\n"])
def test_add_signature_refuses_anything_but_one_line(line):
    with pytest.raises(MalformedInput):
        add_signature(SIGNED, line)


def test_note_signature_line_encoding():
    signature = NoteSignature("n", 0x01020304, b"\xff")
    assert signature.line() == "\u2014 n AQIDBP8=\n"


# --- Properties ----------------------------------------------------------------------------------

COSIGNED = add_signature(SIGNED, cosign(TEXT, name=WITNESS.name, key=WITNESS_KEY, timestamp=NOW))
COSIGNED_BYTES = COSIGNED.encode()


@settings(max_examples=400, deadline=None)
@given(position=st.integers(0, len(COSIGNED_BYTES) - 1), mask=st.integers(1, 255))
def test_a_flipped_byte_never_yields_a_forged_note(position, mask):
    """Either the note is refused, or what verifies is the original text, by the original keys.

    (Flipping a byte of a key name turns that signature into an unknown one, which is ignored.)
    """
    data = bytearray(COSIGNED_BYTES)
    data[position] ^= mask
    try:
        verified = verify_note(bytes(data), [LOG, WITNESS])
    except CryptoError:
        return
    assert verified.text == TEXT
    assert {s.name for s in verified.signatures} <= {LOG.name, WITNESS.name}


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_garbage_raises_only_crypto_errors(data):
    for call in (
        lambda: verify_note(data, [LOG]),
        lambda: verify_note(TEXT + "\n" + (data if isinstance(data, str) else "x"), [LOG]),
        lambda: parse_checkpoint(data if isinstance(data, str) else TEXT),
        lambda: parse_verifier_key(data if isinstance(data, str) else LOG.vkey),
    ):
        with contextlib.suppress(CryptoError):
            call()
