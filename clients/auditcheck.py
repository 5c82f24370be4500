"""The auditor's own verification of a node's audit log, with nothing but ``crypto`` and what the
node, a proof file or an export hands over (docs/protocol.md section 9).

``liaison audit verify``, ``verify-export`` and ``check-proof`` run these checks on the auditor's
side rather than trusting the node's ``GET /api/v1/audit/verify``. Everything they read is
unverified until it passes here; only :class:`TrustedKeys` (from :func:`check_keys`) is used to
verify anything else.

Keys (:func:`check_keys`), against a fingerprint the auditor knows out of band:

K1. The node's identity public keys (Ed25519 and ML-DSA-65) give the fingerprint the node states
    and, when given, the one the auditor gave (``--fingerprint`` or ``LIAISON_NODE_FINGERPRINT``).
K2. The checkpoint key is an Ed25519 note key (type 0x01) named ``liaison/<node>/audit`` whose
    public key is the identity's Ed25519 key: the fingerprint covers it.
K3. Each witness's identity gives the fingerprint the node pinned for it (and the one the auditor
    gave for it, if any); its cosignature key is a cosignature/v1 key (type 0x04) named
    ``liaison/<witness>/witness`` with that identity's Ed25519 key.

The log (:func:`check_log`): the steps V1-V6 of :func:`crypto.logverify.verify_log`, over the
records in log order with the leaf hashes the node's tree holds, and every checkpoint.

A proof file (:func:`check_proof`, format ``liaison-audit-proof/1``):

P1. The format is known; the file's keys pass K1-K3.
P2. The checkpoint note is signed by the node's checkpoint key and parses strictly as a
    checkpoint of its log, of the size the file states.
P3. Each cosignature verifies under its witness's key.
P4. The leaf recomputed from the record (:func:`crypto.logverify.record_leaf`) is the leaf hash
    the file states, and the record's seq is the proof's index.
P5. The RFC 9162 inclusion proof leads from that leaf, at that index, to the signed root.

This is the second module of ``clients`` that may import beyond the client, and only ``crypto``
(never ``service`` or ``policies``), inside its functions, so that officer commands never load it.
Every failure raises :class:`clients.errors.VerificationFailed`, its text terminal-safe (a
fingerprint typed wrong, :class:`clients.errors.UsageError`); crypto errors are translated here
with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from clients.errors import UsageError, VerificationFailed
from clients.output import clean

if TYPE_CHECKING:  # types only: nothing of crypto is loaded until a check runs
    from crypto.note import NoteVerifier
    from crypto.signing import VerifyKey

PROOF_FORMAT = "liaison-audit-proof/1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TrustedKeys:
    """Keys that passed K1-K3. ``pinned`` says whether the node's fingerprint was compared with
    one the auditor gave; ``pinned_witnesses`` the witnesses for which that holds."""

    node_id: str
    fingerprint: str
    node_keys: tuple[NoteVerifier, ...]
    """The node's checkpoint key now first, then those it had before a new identity."""
    witnesses: Mapping[str, tuple[NoteVerifier, ...]]
    """Each witness's keys: the one pinned now first, then any it was pinned to before."""
    witness_fingerprints: Mapping[str, str]
    pinned: bool
    pinned_witnesses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Failure:
    """Where the log first fails to verify: the step (V1-V6), the record's seq, and why."""

    step: str
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"record {self.seq}" if self.seq is not None else "the log"
        return f"{self.step}: {where}: {self.detail}"


@dataclass(frozen=True)
class CheckedCheckpoint:
    size: int
    root: str
    """base64url, as the API spells hashes."""
    cosigned_by: tuple[str, ...]


@dataclass(frozen=True)
class LogCheck:
    """What :func:`check_log` found: the records read (all of them when ``ok``), the root of the
    log they make (base64url), the checkpoints verified, and the first failure."""

    records: int
    root: str
    checkpoints: tuple[CheckedCheckpoint, ...]
    failure: Failure | None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class ProofCheck:
    """A proof file that passed P1-P5: record ``seq`` is in the node's log of ``size``."""

    node_id: str
    seq: int
    size: int
    root: str
    record: Mapping[str, Any]
    cosigned_by: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def _refused(message: str) -> VerificationFailed:
    """The error for a failed check; its text quotes the node's strings, made terminal-safe."""
    return VerificationFailed(clean(message))


# -- keys ----------------------------------------------------------------------------------------


def normalize_fingerprint(text: str, what: str = "--fingerprint") -> str:
    """A typed fingerprint as 12 groups of 5 digits.

    Raises:
        UsageError: not 60 digits (spaces, dashes and dots between groups are fine).
    """
    from crypto.errors import MalformedInput
    from crypto.fingerprint import normalize

    try:
        digits = normalize(text)
    except MalformedInput as exc:
        raise UsageError(f"{what}: {exc}") from exc
    return " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))


def check_keys(
    unverified_keys: Mapping[str, Any],
    *,
    fingerprint: str | None = None,
    witness_fingerprints: Mapping[str, str] | None = None,
) -> TrustedKeys:
    """Check a keys document (``GET /api/v1/audit/keys``, a proof's or an export's ``keys``):
    K1-K3 of the module text.

    ``fingerprint`` is the node's as the auditor knows it out of band, ``witness_fingerprints``
    those of its partners by node id; without them the keys are only checked to agree with each
    other, which a node that lies about its whole log can arrange.

    Raises:
        UsageError: a fingerprint given that is not 60 digits.
        VerificationFailed: the document is malformed, or a check fails.
    """
    from crypto.errors import CryptoError
    from crypto.logverify import origin_of, witness_name
    from crypto.note import SIG_COSIGNATURE_V1, SIG_ED25519

    wanted = normalize_fingerprint(fingerprint) if fingerprint else None
    wanted_witnesses = {
        name: normalize_fingerprint(fp, f"the fingerprint of witness {name}")
        for name, fp in (witness_fingerprints or {}).items()
    }
    try:
        node_id = _text(unverified_keys, "node_id")
        identity = _identity(unverified_keys.get("identity"))
        node_fp = _stated_fingerprint(identity, unverified_keys.get("fingerprint"), node_id)
        if wanted is not None and node_fp != wanted:  # K1
            raise _refused(
                f"the node's keys have the fingerprint {node_fp}, not the one you gave: they are "
                f"not {node_id}'s keys as you know them; nothing was verified"
            )
        node_key = _note_key(
            unverified_keys.get("checkpoint_key"),
            origin_of(node_id),
            SIG_ED25519,
            identity,
            f"{node_id}'s checkpoint key",
        )
        node_keys = [node_key, *_previous(unverified_keys, "checkpoint_key", origin_of(node_id),
                                          SIG_ED25519, node_id)]  # fmt: skip
        raw_witnesses = unverified_keys.get("witnesses") or {}
        if not isinstance(raw_witnesses, Mapping):
            raise _refused("the keys' witnesses are not a JSON object")
        witnesses, fingerprints = {}, {}
        for name, unverified in raw_witnesses.items():  # K3
            if not isinstance(unverified, Mapping):
                raise _refused(f"witness {name}'s keys are not a JSON object")
            witness_identity = _identity(unverified.get("identity"))
            fp = _stated_fingerprint(witness_identity, unverified.get("fingerprint"), name)
            if name in wanted_witnesses and fp != wanted_witnesses[name]:
                raise _refused(
                    f"witness {name}'s keys have the fingerprint {fp}, not the one you gave"
                )
            current = _note_key(
                unverified.get("cosignature_key"),
                witness_name(name),
                SIG_COSIGNATURE_V1,
                witness_identity,
                f"witness {name}'s cosignature key",
            )
            older = _previous(unverified, "cosignature_key", witness_name(name),
                              SIG_COSIGNATURE_V1, name)  # fmt: skip
            witnesses[name] = (current, *older)
            fingerprints[name] = fp
    except CryptoError as exc:
        raise _refused(f"the keys do not parse: {exc}") from exc
    missing = sorted(set(wanted_witnesses) - set(witnesses))
    if missing:
        raise _refused(f"the node names no witness {', '.join(missing)}")
    return TrustedKeys(
        node_id,
        node_fp,
        tuple(node_keys),
        witnesses,
        fingerprints,
        wanted is not None,
        frozenset(wanted_witnesses),
    )


def _previous(
    document: Mapping[str, Any], field: str, name: str, sig_type: int, who: str
) -> list[NoteVerifier]:
    """The keys a node signed with before a new identity, or a witness was pinned to before a
    re-pin (``previous``): each an identity with its stated fingerprint and its ``field`` key,
    checked as the current one is (K2, K3)."""
    previous = document.get("previous") or []
    if not isinstance(previous, list):
        raise _refused(f"{who}'s previous keys are not a JSON array")
    keys = []
    for index, old in enumerate(previous):
        if not isinstance(old, Mapping):
            raise _refused(f"{who}'s previous key {index} is not a JSON object")
        identity = _identity(old.get("identity"))
        _stated_fingerprint(identity, old.get("fingerprint"), who)
        keys.append(_note_key(old.get(field), name, sig_type, identity,
                              f"{who}'s previous key {index}"))  # fmt: skip
    return keys


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise _refused(f"the keys' {name} is not a string")
    return value


def _identity(unverified: object) -> VerifyKey:
    from crypto.encoding import b64u_decode
    from crypto.signing import VerifyKey

    if not isinstance(unverified, Mapping):
        raise _refused("an identity is not a JSON object")
    return VerifyKey(
        ed25519=b64u_decode(unverified.get("ed25519"), field="identity ed25519"),
        ml_dsa_65=b64u_decode(unverified.get("ml_dsa_65"), field="identity ml_dsa_65"),
    )


def _stated_fingerprint(identity: VerifyKey, stated: object, who: str) -> str:
    """The fingerprint of ``identity``, which must be the one stated next to it."""
    from crypto.fingerprint import fingerprint

    actual = fingerprint(identity)
    if stated != actual:
        raise _refused(
            f"{who}'s identity keys have the fingerprint {actual}, not the {stated} stated next "
            "to them"
        )
    return actual


def _note_key(
    vkey: object, name: str, sig_type: int, identity: VerifyKey, what: str
) -> NoteVerifier:
    """K2/K3: a verifier key named ``name``, of ``sig_type``, holding the identity's Ed25519 key."""
    import hmac

    from crypto.note import parse_verifier_key

    if not isinstance(vkey, str):
        raise _refused(f"{what} is not a verifier key string")
    key = parse_verifier_key(vkey)
    if key.name != name or key.sig_type != sig_type:
        raise _refused(
            f"{what} is {key.name} of type {key.sig_type:#04x}, not {name} of type {sig_type:#04x}"
        )
    if not hmac.compare_digest(key.public_key, identity.ed25519):
        raise _refused(f"{what} is not the Ed25519 key of the identity the fingerprint covers")
    return key


# -- the log -------------------------------------------------------------------------------------


def check_log(
    keys: TrustedKeys,
    records: Iterable[Mapping[str, Any]],
    checkpoints: Sequence[Mapping[str, Any]],
) -> LogCheck:
    """Verify ``records`` (as ``GET /api/v1/audit/events`` gives them, in that order, including
    the unsequenced ones) against every signed checkpoint (as ``GET /api/v1/audit/checkpoints``
    gives them): V1-V6 of :mod:`crypto.logverify`. ``records`` is read once, as it comes.

    Fetch the checkpoints before the records: a checkpoint signed after the last record was read
    would look like a truncated log (V4).

    Raises:
        VerificationFailed: a checkpoint entry or a record is not a JSON object of the API's shape
            (the log's own failures are reported in :attr:`LogCheck.failure`).
    """
    from crypto.encoding import b64u_encode
    from crypto.logverify import verify_log

    report = verify_log(
        _leaf_records(records),
        node_id=keys.node_id,
        node_key=keys.node_keys,
        checkpoints=[_signed_checkpoint(c, i) for i, c in enumerate(checkpoints)],
        witnesses=keys.witnesses,
    )
    failure = report.failure
    return LogCheck(
        records=report.records,
        root=b64u_encode(report.root),
        checkpoints=tuple(
            CheckedCheckpoint(c.size, b64u_encode(c.root), c.cosigned_by)
            for c in report.checkpoints
        ),
        failure=None if failure is None else Failure(failure.step, failure.seq, failure.detail),
        notes=report.notes,
    )


def _leaf_record(record: object, where: str) -> dict[str, Any]:
    """A record of the API (``at`` ISO 8601, ``at_us`` microseconds, ``leaf_hash`` base64url)
    or of a proof (``at`` microseconds) as :func:`crypto.logverify.record_leaf` reads it."""
    from crypto.encoding import b64u_decode
    from crypto.errors import MalformedInput

    if not isinstance(record, Mapping):
        raise _refused(f"{where} is not a JSON object")
    fields = dict(record)
    if "at_us" in fields:
        # The leaf covers at_us; the ISO 8601 ``at`` beside it is what people read, so it must
        # be the same instant: if not, the record is checked with it, and fails V2.
        fields["at"] = fields["at_us"]
        shown = _micros(record.get("at"))
        if shown != fields["at_us"]:
            fields["at"] = shown
    try:
        fields["leaf_hash"] = b64u_decode(record.get("leaf_hash"), field="leaf_hash", length=32)
    except MalformedInput:
        fields["leaf_hash"] = None  # no leaf the tree holds: fails V2, named by its seq
    return fields


def _micros(value: object) -> int | None:
    """An ISO 8601 timestamp as integer microseconds since the epoch; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _leaf_records(records: Iterable[object]) -> Iterator[dict[str, Any]]:
    for number, record in enumerate(records):
        yield _leaf_record(record, f"record number {number} (counting from 0)")


def _signed_checkpoint(checkpoint: object, index: int) -> Any:
    from crypto.logverify import SignedCheckpoint

    where = f"checkpoint number {index} (counting from 0)"
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("note"), str):
        raise _refused(f"{where} is not a JSON object with a note")
    cosignatures = checkpoint.get("cosignatures") or []
    if not isinstance(cosignatures, list):
        raise _refused(f"{where}'s cosignatures are not a list")
    pairs = []
    for c in cosignatures:
        if not (
            isinstance(c, Mapping)
            and isinstance(c.get("witness"), str)
            and isinstance(c.get("line"), str)
        ):
            raise _refused(f"{where} has a cosignature without a witness and a line")
        pairs.append((c["witness"], c["line"]))
    return SignedCheckpoint(checkpoint["note"], tuple(pairs))


# -- a proof file --------------------------------------------------------------------------------


def check_proof(
    unverified_proof: Mapping[str, Any],
    *,
    fingerprint: str | None = None,
    witness_fingerprints: Mapping[str, str] | None = None,
) -> tuple[TrustedKeys, ProofCheck]:
    """Verify a ``liaison-audit-proof/1`` document offline: P1-P5 of the module text.

    Raises:
        UsageError: a fingerprint given that is not 60 digits.
        VerificationFailed: any check fails, or the document is malformed.
    """
    from crypto import merkle
    from crypto.encoding import b64u_decode, b64u_encode
    from crypto.errors import CryptoError
    from crypto.logverify import origin_of, record_leaf, verify_cosignature_by_any
    from crypto.note import parse_checkpoint, verify_note

    if unverified_proof.get("format") != PROOF_FORMAT:  # P1
        raise _refused(f"not a {PROOF_FORMAT} file")
    keys_doc = unverified_proof.get("keys")
    if not isinstance(keys_doc, Mapping):
        raise _refused("the proof holds no keys")
    keys = check_keys(keys_doc, fingerprint=fingerprint, witness_fingerprints=witness_fingerprints)
    checkpoint = unverified_proof.get("checkpoint")
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("note"), str):
        raise _refused("the proof holds no checkpoint note")
    index, size = unverified_proof.get("index"), unverified_proof.get("size")
    if not isinstance(index, int) or isinstance(index, bool):
        raise _refused("the proof's index is not an integer")
    proof = unverified_proof.get("proof")
    if not isinstance(proof, list):
        raise _refused("the proof's hashes are not a list")
    record = _leaf_record(unverified_proof.get("record"), "the proof's record")
    try:
        verified = verify_note(checkpoint["note"], keys.node_keys)  # P2
        signed = parse_checkpoint(verified.text)
    except CryptoError as exc:
        raise _refused(f"P2: the checkpoint is not signed by {keys.node_id}'s key: {exc}") from exc
    if signed.origin != origin_of(keys.node_id):
        raise _refused(f"P2: the checkpoint is of {signed.origin}, not {origin_of(keys.node_id)}")
    if signed.size != size:
        raise _refused(
            f"P2: the checkpoint was signed at size {signed.size}, not the {size} the proof states"
        )
    cosigned, notes = [], []
    for pair in _signed_checkpoint(checkpoint, 0).cosignatures:  # P3
        witness, line = pair
        key = keys.witnesses.get(witness)
        if key is None:
            notes.append(f"a cosignature by {witness}, whose key the proof does not hold")
            continue
        try:
            verify_cosignature_by_any(verified.text, line, key)
        except CryptoError as exc:
            raise _refused(f"P3: {witness}'s cosignature does not verify: {exc}") from exc
        cosigned.append(witness)
    try:
        leaf = merkle.leaf_hash(record_leaf(record))  # P4
    except (KeyError, CryptoError) as exc:
        raise _refused(f"P4: the record cannot be encoded: {exc}") from exc
    try:
        stated = b64u_decode(unverified_proof.get("leaf_hash"), field="leaf_hash", length=32)
    except CryptoError as exc:
        raise _refused(f"P4: the proof's leaf hash does not parse: {exc}") from exc
    if stated != leaf:
        raise _refused("P4: the record does not give the leaf hash the proof states: it was edited")
    if record.get("seq") != index:
        raise _refused(f"P4: the record's seq {record.get('seq')} is not the proof's index {index}")
    try:
        path = [b64u_decode(h, field="a proof hash", length=32) for h in proof]
        merkle.verify_inclusion(leaf, index, signed.size, path, signed.root)  # P5
    except CryptoError as exc:
        raise _refused(f"P5: the inclusion proof does not verify: {exc}") from exc
    return keys, ProofCheck(
        node_id=keys.node_id,
        seq=index,
        size=signed.size,
        root=b64u_encode(signed.root),
        record=unverified_proof["record"],
        cosigned_by=tuple(sorted(cosigned)),
        notes=tuple(notes),
    )
