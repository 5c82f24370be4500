"""C2SP signed notes, tlog checkpoints and Ed25519 cosignatures.

A signed note (c2sp.org/signed-note, golang.org/x/mod/sumdb/note) is a text ending in a newline,
a blank line, and one or more signature lines::

    example.com/behind-the-sofa                      <- text: here a tlog checkpoint
    20852163                                            (origin, tree size, base64 root,
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=         optional extension lines)

    — example.com/behind-the-sofa Az3grl...          <- em dash, space, key name, space,
    — witness.example.com/w1 jWbPPw...                  base64(4-byte key id || signature)

Two signature types are spoken, both Ed25519 (RFC 8032) with 32-byte public keys:

* ``SIG_ED25519`` (0x01, signed-note): the signature is over the note text.
* ``SIG_COSIGNATURE_V1`` (0x04, c2sp.org/tlog-cosignature): a witness's cosignature of a
  checkpoint; the signature bytes are ``u64 big-endian timestamp || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <timestamp>\\n" || checkpoint text``.

A key is known by its name and key id, ``SHA-256(name || "\\n" || type || public key)[:4]``, and
is written as a verifier key ``<name>+<8 hex digits of key id>+<base64(type || public key)>``.

Keys: signing accepts a plain ``Ed25519PrivateKey`` or the node's hybrid ``SigningKey`` (its
Ed25519 half). That half also makes liaison's own signatures, which always sign a message holding
a NUL byte (``crypto.signing``), and RFC 9421 signature bases, which start with a quoted
component name; a note text holds neither, and :func:`sign_note` refuses a text that starts like
a cosignature message, so a signature made here cannot be replayed as one of the others.

Only :func:`verify_note` and :func:`verify_cosignature` make note text trustworthy; a
:class:`Note` from :func:`parse_note` is unverified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import InputTooLarge, MalformedInput, NotFresh, SignatureInvalid, UnknownKey
from crypto.merkle import HASH_BYTES, MAX_TREE_SIZE
from crypto.signing import SigningKey

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
SIGNATURE_TYPES = (SIG_ED25519, SIG_COSIGNATURE_V1)

MAX_NOTE_BYTES = 128 * 1024
"""Room for the 16 signatures the spec requires us to accept even if they are post-quantum."""
MAX_SIGNATURES = 100
"""The golang.org/x/mod/sumdb/note limit; signed-note requires accepting at least 16."""
MAX_TIMESTAMP = 2**63 - 1

COSIGNATURE_HEADER = "cosignature/v1\n"
_DASH = "\u2014 "  # em dash, space
_ED25519_PUBLIC_BYTES = 32
_ED25519_SIGNATURE_BYTES = 64
_COSIGNATURE_BYTES = 8 + _ED25519_SIGNATURE_BYTES
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")

Ed25519Signer = Ed25519PrivateKey | SigningKey


# --- Small strict codecs -------------------------------------------------------------------------


def _b64decode(text: str, what: str) -> bytes:
    """Standard padded base64 (RFC 4648 section 4), one spelling per byte string."""
    if not _B64.fullmatch(text):
        raise MalformedInput(f"{what} is not padded standard base64")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput(f"{what} is not padded standard base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise MalformedInput(f"{what} has non-canonical base64 trailing bits")
    return data


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_key_name(name: object) -> str:
    """A key name: non-empty, UTF-8, no Unicode space, no ``+``, no control character.

    ``str.isspace`` covers Go's ``unicode.IsSpace`` (it adds only U+001C-U+001F, controls anyway).

    Raises:
        MalformedInput: otherwise.
    """
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(c.isspace() for c in name)
        or _CONTROL.search(name)
        or not _utf8_ok(name)
    ):
        raise MalformedInput(f"invalid key name {name!r}")
    return name


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """``SHA-256(name || 0x0A || sig_type || public_key)[:4]`` as a big-endian uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _check_timestamp(timestamp: object) -> int:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise MalformedInput("a cosignature timestamp must be an integer")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedInput(f"cosignature timestamp {timestamp} is outside [0, 2**63 - 1]")
    return timestamp


# --- Keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A known Ed25519 key: its name, signature type and 32-byte public key; key id derived."""

    name: str
    public_key: bytes
    sig_type: int = SIG_ED25519
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.sig_type not in SIGNATURE_TYPES:
            raise MalformedInput(f"unsupported note signature type {self.sig_type!r}")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise MalformedInput("an Ed25519 public key is 32 bytes")
        try:
            loaded = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise MalformedInput(f"invalid Ed25519 public key: {exc}") from exc
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public_key))
        object.__setattr__(self, "_key", loaded)

    @classmethod
    def ed25519(cls, name: str, public_key: Ed25519PublicKey | bytes) -> NoteVerifier:
        """The verifier of a note signer (type 0x01), e.g. a log signing its checkpoints."""
        return cls(name, _raw_public(public_key), SIG_ED25519)

    @classmethod
    def cosigner(cls, name: str, public_key: Ed25519PublicKey | bytes) -> NoteVerifier:
        """The verifier of a tlog-cosignature/v1 witness (type 0x04)."""
        return cls(name, _raw_public(public_key), SIG_COSIGNATURE_V1)

    @property
    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(type || public key)>``."""
        key_data = _b64encode(bytes([self.sig_type]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{key_data}"

    def _verify(self, text: str, signature: bytes) -> int | None:
        """Check ``signature`` (the bytes after the key id) over ``text``, by type.

        Returns the timestamp of a cosignature, None for a plain note signature.

        Raises:
            MalformedInput: wrong signature length, a bad timestamp, a cosigned non-checkpoint.
            SignatureInvalid: the signature does not verify.
        """
        if self.sig_type == SIG_COSIGNATURE_V1:
            return self._verify_cosignature(text, signature)
        if len(signature) != _ED25519_SIGNATURE_BYTES:
            raise MalformedInput("an Ed25519 note signature is 64 bytes after the key id")
        self._verify_ed25519(signature, text.encode("utf-8"))
        return None

    def _verify_cosignature(self, text: str, signature: bytes) -> int:
        if len(signature) != _COSIGNATURE_BYTES:
            raise MalformedInput(f"a cosignature is {_COSIGNATURE_BYTES} bytes after the key id")
        timestamp = _check_timestamp(int.from_bytes(signature[:8], "big"))
        self._verify_ed25519(signature[8:], cosignature_message(text, timestamp))
        return timestamp

    def _verify_ed25519(self, signature: bytes, message: bytes) -> None:
        try:
            self._key.verify(signature, message)
        except InvalidSignature as exc:
            raise SignatureInvalid(f"note signature by {self.name} does not verify") from exc


def _raw_public(public_key: Ed25519PublicKey | bytes) -> bytes:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes_raw()
    return public_key


def _sign(key: Ed25519Signer, message: bytes) -> tuple[bytes, bytes]:
    """(signature, raw public key) with a plain Ed25519 key or the node's hybrid one."""
    if isinstance(key, SigningKey):
        return key.sign_ed25519(message), key.public.ed25519
    if isinstance(key, Ed25519PrivateKey):
        return key.sign(message), key.public_key().public_bytes_raw()
    raise TypeError("key must be an Ed25519PrivateKey or a SigningKey")


def verifier_key(
    name: str, public_key: Ed25519PublicKey | bytes, *, sig_type: int = SIG_ED25519
) -> str:
    """The verifier key string of ``public_key`` under ``name`` (type 0x01 unless given)."""
    return NoteVerifier(name, _raw_public(public_key), sig_type).vkey


def parse_verifier_key(vkey: str) -> NoteVerifier:
    """Parse ``<name>+<8 lowercase hex>+<base64(type || 32-byte key)>``; types 0x01 and 0x04.

    Raises:
        MalformedInput: any other shape, or a key id that is not the one of the key.
    """
    if not isinstance(vkey, str):
        raise MalformedInput("a verifier key is a string")
    # The name holds no "+", the base64 may: split at the first two.
    name, _, rest = vkey.partition("+")
    hex_id, _, key64 = rest.partition("+")
    if not _KEY_ID_HEX.fullmatch(hex_id):
        raise MalformedInput("a verifier key id is 8 lowercase hex digits")
    data = _b64decode(key64, "verifier key data")
    if len(data) != 1 + _ED25519_PUBLIC_BYTES:
        raise MalformedInput("verifier key data must be a type byte and a 32-byte key")
    verifier = NoteVerifier(name, data[1:], data[0])
    if verifier.key_id != int(hex_id, 16):
        raise MalformedInput(f"verifier key id {hex_id} is not the id of its key")
    return verifier


# --- Notes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line, parsed, not verified."""

    name: str
    key_id: int
    signature: bytes
    """The bytes after the 4-byte key id."""

    def line(self) -> str:
        data = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {_b64encode(data)}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed signed note. Unverified: do not act on ``text`` before :func:`verify_note`."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    name: str
    key_id: int
    sig_type: int
    timestamp: int | None
    """When a cosigner (type 0x04) signed; None for a plain note signature."""


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note with at least one verified signature by a known key; every known one verified."""

    text: str
    signatures: tuple[VerifiedSignature, ...]

    def signed_by(self, verifier: NoteVerifier) -> VerifiedSignature | None:
        for signature in self.signatures:
            if (signature.name, signature.key_id) == (verifier.name, verifier.key_id):
                return signature
        return None


def _check_text(text: object) -> str:
    """A note text: UTF-8, ends in a newline, no control character but newline."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedInput("a note text must end with a newline")
    if _CONTROL.search(text) or not _utf8_ok(text):
        raise MalformedInput("a note text must be UTF-8 without control characters")
    return text


def _parse_line(line: str) -> NoteSignature:
    """``— <name> <base64(key id || signature)>`` without its newline."""
    if not line.startswith(_DASH):
        raise MalformedInput("a signature line must start with an em dash and a space")
    name, _, b64 = line[len(_DASH) :].partition(" ")
    check_key_name(name)
    data = _b64decode(b64, f"signature of {name}")
    if len(data) < 5:
        raise MalformedInput(f"signature of {name} is shorter than a key id and one byte")
    return NoteSignature(name, int.from_bytes(data[:4], "big"), data[4:])


def parse_note(data: bytes | str) -> Note:
    """Split a signed note into its text and signature lines (c2sp.org/signed-note "Format").

    N1 at most ``MAX_NOTE_BYTES``; N2 valid UTF-8 without control characters but newline;
    N3 the text ends at the last blank line and the note ends with a newline; N4 every line after
    it is ``— <key name> <base64>`` with a valid name and at least 5 bytes; N5 at most
    ``MAX_SIGNATURES`` lines; N6 no two lines with the same key name and key id.

    Raises:
        InputTooLarge: N1, N5.
        MalformedInput: N2-N4, N6.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not isinstance(raw, bytes):
        raise MalformedInput("a note is bytes or str")
    # N1
    if len(raw) > MAX_NOTE_BYTES:
        raise InputTooLarge(f"note of {len(raw)} bytes exceeds {MAX_NOTE_BYTES}")
    # N2
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput("a note must be valid UTF-8") from exc
    if _CONTROL.search(decoded):
        raise MalformedInput("a note must not hold control characters other than newline")
    # N3
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedInput("no blank line before the signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedInput("a note must end with a signature line and a newline")
    lines = block[:-1].split("\n")
    # N5
    if len(lines) > MAX_SIGNATURES:
        raise InputTooLarge(f"{len(lines)} signatures exceed {MAX_SIGNATURES}")
    # N4, N6
    signatures = tuple(_parse_line(line) for line in lines)
    if len({(s.name, s.key_id) for s in signatures}) != len(signatures):
        raise MalformedInput("two signatures with the same key name and key id")
    return Note(text, signatures)


def verify_note(
    data: bytes | str,
    known: Iterable[NoteVerifier],
    *,
    now: int | None = None,
    max_skew: int = 300,
) -> VerifiedNote:
    """Verify a signed note against the known keys (c2sp.org/signed-note "Signatures").

    1. Parse it (:func:`parse_note`, N1-N6).
    2. Look signatures up by (key name, key id); a signature whose pair is not known is ignored,
       even if its name or its id alone matches a known key.
    3. Verify every signature of a known key; one that fails rejects the whole note. Type 0x04
       signatures are cosignatures: the text must be a checkpoint and, when ``now`` is given,
       the timestamp no later than ``now + max_skew``.
    4. Require at least one verified signature by a known key.

    Raises:
        InputTooLarge, MalformedInput: step 1; two known verifiers with the same name and id.
        SignatureInvalid: step 3, a known key's signature does not verify.
        NotFresh: step 3, a cosignature from the future.
        UnknownKey: step 4, no signature by a known key.
    """
    # 1.
    note = parse_note(data)
    by_id: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in known:
        if (verifier.name, verifier.key_id) in by_id:
            raise MalformedInput(f"two known keys named {verifier.name} with the same key id")
        by_id[(verifier.name, verifier.key_id)] = verifier
    verified: list[VerifiedSignature] = []
    for signature in note.signatures:
        # 2.
        match = by_id.get((signature.name, signature.key_id))
        if match is None:
            continue
        # 3.
        timestamp = match._verify(note.text, signature.signature)
        if timestamp is not None and now is not None and timestamp > now + max_skew:
            raise NotFresh(f"cosignature by {match.name} is dated in the future")
        verified.append(VerifiedSignature(match.name, match.key_id, match.sig_type, timestamp))
    # 4.
    if not verified:
        raise UnknownKey("the note has no signature by a known key")
    return VerifiedNote(note.text, tuple(verified))


def sign_note(text: str, *, name: str, key: Ed25519Signer) -> str:
    """A signed note of ``text`` with one Ed25519 (type 0x01) signature by ``key`` as ``name``.

    Raises:
        MalformedInput: the text does not end with a newline, holds control characters, or
            starts with ``cosignature/v1`` (see the module text); a bad key name.
        InputTooLarge: the signed note would be over ``MAX_NOTE_BYTES``.
    """
    _check_text(text)
    if text.startswith(COSIGNATURE_HEADER):
        raise MalformedInput("a note text must not look like a cosignature message")
    check_key_name(name)
    signature, public = _sign(key, text.encode("utf-8"))
    line = NoteSignature(name, key_id(name, SIG_ED25519, public), signature).line()
    return parse_note(text + "\n" + line).encode()


def add_signature(note: str, line: str) -> str:
    """``note`` with one more signature line, e.g. a cosignature from :func:`cosign`.

    The line replaces one with the same key name and key id (a newer cosignature); it is not
    verified here: check it with :func:`verify_cosignature` first.

    Raises:
        InputTooLarge, MalformedInput: the note or the line does not parse, or the result is
            over the limits.
    """
    if not isinstance(line, str) or not line.endswith("\n") or "\n" in line[:-1]:
        raise MalformedInput("a signature line is one line ending with a newline")
    parsed = parse_note(note)
    added = _parse_line(line[:-1])
    kept = [s for s in parsed.signatures if (s.name, s.key_id) != (added.name, added.key_id)]
    return parse_note(Note(parsed.text, (*kept, added)).encode()).encode()


# --- Checkpoints (c2sp.org/tlog-checkpoint) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash, and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin), *(("extension", e) for e in self.extensions)]:
            if not isinstance(line, str) or not line or "\n" in line or _CONTROL.search(line):
                raise MalformedInput(f"a checkpoint {what} line must be non-empty text")
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            raise MalformedInput("a checkpoint tree size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedInput(f"checkpoint tree size {self.size} is outside [0, 2**64 - 1]")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_BYTES:
            raise MalformedInput(f"a checkpoint root hash is {HASH_BYTES} bytes")

    def to_text(self) -> str:
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text, strictly (c2sp.org/tlog-checkpoint "Note text").

    C1 at least three lines, each ending with a newline, none empty; C2 the origin is any
    non-empty line (clients must not assume the recommended URL form); C3 the tree size is ASCII
    decimal without leading zeroes, at most 2**64 - 1; C4 the root is padded standard base64 of
    32 bytes; C5 any further lines are extension lines, kept as they are.

    Raises:
        MalformedInput: any rule broken.
    """
    # C1
    _check_text(text)
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise MalformedInput("a checkpoint is at least three non-empty lines")
    origin, size_text, root_text, *extensions = lines
    # C3
    if not _SIZE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise MalformedInput("checkpoint tree size is not a canonical decimal uint64")
    # C4
    root = _b64decode(root_text, "checkpoint root hash")
    # C2, C5 (and the lengths and types again)
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


# --- Cosignatures (c2sp.org/tlog-cosignature, cosignature/v1) ------------------------------------


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint text: what is signed.

    Raises:
        MalformedInput: the text is not a checkpoint, the timestamp is outside [0, 2**63 - 1].
    """
    parse_checkpoint(checkpoint_text)
    _check_timestamp(timestamp)
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_text}".encode()


def cosign(checkpoint_text: str, *, name: str, key: Ed25519Signer, timestamp: int) -> str:
    """A witness's cosignature line for ``checkpoint_text`` (a note's text, no signatures).

    Returns ``— <name> base64(key id || u64 timestamp || Ed25519 signature)\\n`` with the key id of
    type 0x04, ready for :func:`add_signature`. Cosign only checkpoints you checked (consistent with
    everything you cosigned before): that is the statement a cosignature makes.

    Raises:
        MalformedInput: not a checkpoint text, a bad name or timestamp.
    """
    check_key_name(name)
    message = cosignature_message(checkpoint_text, timestamp)
    signature, public = _sign(key, message)
    data = timestamp.to_bytes(8, "big") + signature
    return NoteSignature(name, key_id(name, SIG_COSIGNATURE_V1, public), data).line()


def verify_cosignature(
    checkpoint_text: str,
    line: str,
    cosigner: NoteVerifier,
    *,
    now: int | None = None,
    max_skew: int = 300,
) -> int:
    """Check one cosignature line by ``cosigner`` over ``checkpoint_text``; its timestamp.

    1. ``cosigner`` is a cosignature/v1 (type 0x04) key.
    2. The line parses and names exactly that key (key name and key id).
    3. The signature is a u64 timestamp at most 2**63 - 1 and 64 bytes of Ed25519 signature.
    4. It verifies over :func:`cosignature_message` of the checkpoint text and the timestamp.
    5. When ``now`` is given, the timestamp is no later than ``now + max_skew``.

    Raises:
        MalformedInput: steps 1-3, or a text that is not a checkpoint.
        UnknownKey: step 2, the line is by another key.
        SignatureInvalid: step 4.
        NotFresh: step 5.
    """
    # 1.
    if cosigner.sig_type != SIG_COSIGNATURE_V1:
        raise MalformedInput("not a cosignature/v1 (type 0x04) key")
    # 2.
    if not isinstance(line, str) or not line.endswith("\n") or "\n" in line[:-1]:
        raise MalformedInput("a signature line is one line ending with a newline")
    parsed = _parse_line(line[:-1])
    if (parsed.name, parsed.key_id) != (cosigner.name, cosigner.key_id):
        raise UnknownKey(f"cosignature is by {parsed.name}+{parsed.key_id:08x}, not the cosigner")
    # 3., 4.
    timestamp = cosigner._verify_cosignature(checkpoint_text, parsed.signature)
    # 5.
    if now is not None and timestamp > now + max_skew:
        raise NotFresh(f"cosignature by {cosigner.name} is dated in the future")
    return timestamp
