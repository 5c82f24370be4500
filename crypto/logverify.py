"""Verifying a liaison audit log: records, stored leaf hashes, signed and cosigned checkpoints.

Pure: the node runs it over its own tables (``service.auditverify``), an auditor's ``liaison
audit verify`` over what the API returns, and ``liaison audit verify-export`` over an export
directory, with nothing but this library. docs/protocol.md section 9 defines the formats.

:func:`verify_log` checks, and reports the **first** place that fails:

V1. Records come in log order with ``seq`` 0, 1, 2, … without a gap or a repeat: a gap is a
    deleted record, a repeat or a record out of place an inserted or moved one; a record without
    a ``seq`` was written outside the log.
V2. Each record's leaf, recomputed from its fields (:func:`record_leaf`), equals the leaf hash
    the node's tree holds for that index: an edited or swapped record fails here, named by seq.
V3. Every checkpoint is signed by the node's key under the log's origin and parses strictly.
V4. No checkpoint is larger than the log: a signed size beyond the last record is truncation.
V5. The root recomputed from the records at each checkpoint's size equals the signed root.
V6. Each cosignature verifies under the named witness's key; it is counted per checkpoint.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto import merkle
from crypto.canonical import canonicalize
from crypto.errors import CryptoError, UnknownKey
from crypto.note import NoteVerifier, parse_checkpoint, verify_cosignature, verify_note

LEAF_VERSION = 1
RECORD_FIELDS = (
    "seq", "at", "actor_type", "actor", "role", "action", "object_type", "object_id", "outcome",
    "reason", "remote_addr", "policy_version",
)  # fmt: skip
"""The fields of a record a leaf covers, besides ``"v"`` (``at`` in microseconds)."""


def origin_of(node_id: str) -> str:
    """The checkpoint origin, and the name of the node's checkpoint key, for ``node_id``'s log."""
    return f"liaison/{node_id}/audit"


def witness_name(node_id: str) -> str:
    """The name of ``node_id``'s cosignature key when it witnesses a partner's log."""
    return f"liaison/{node_id}/witness"


def record_leaf(record: Mapping[str, Any]) -> bytes:
    """The bytes a record's leaf hashes: ``JCS({"v": 1, <RECORD_FIELDS>})``.

    ``record`` maps every field of :data:`RECORD_FIELDS` (``at`` as integer microseconds since
    the epoch; absent values None); other keys are ignored.

    Raises:
        KeyError: a field is missing.
    """
    leaf: dict[str, Any] = {"v": LEAF_VERSION}
    for name in RECORD_FIELDS:
        leaf[name] = record[name]
    return canonicalize(leaf)


@dataclass(frozen=True, slots=True)
class Failure:
    """The first place the log does not verify: the step, the record's seq (or None), and why."""

    step: str
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"record {self.seq}" if self.seq is not None else "the log"
        return f"{self.step}: {where}: {self.detail}"


@dataclass(frozen=True, slots=True)
class CheckedCheckpoint:
    size: int
    root: bytes
    cosigned_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LogReport:
    """What :func:`verify_log` found: the records read, the root of the whole log, the
    checkpoints checked (with who cosigned each), and the first failure, if any."""

    records: int
    root: bytes
    checkpoints: tuple[CheckedCheckpoint, ...] = ()
    failure: Failure | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint note as the node stored it, with the cosignature lines witnesses gave it."""

    note: str
    cosignatures: Sequence[tuple[str, str]] = ()
    """``(witness node id, cosignature line)`` pairs."""


class _Range:
    """A compact range: the roots of the complete subtrees of the leaves seen so far."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []  # (level, hash), left to right

    def append(self, leaf: bytes) -> None:
        level, value = 0, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            value = merkle.node_hash(left, value)
            level += 1
        self.stack.append((level, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        value = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            value = merkle.node_hash(left, value)
        return value


def verify_cosignature_by_any(
    text: str, line: str, keys: NoteVerifier | Sequence[NoteVerifier]
) -> None:
    """V6 for one cosignature line, by whichever of the witness's keys it names (a partner
    re-pinned since has an old key and a new one).

    Raises:
        CryptoError: by none of them, or it does not verify.
    """
    candidates = [keys] if isinstance(keys, NoteVerifier) else list(keys)
    last: CryptoError = UnknownKey("no key for this witness")
    for key in candidates:
        try:
            verify_cosignature(text, line, key)
            return
        except UnknownKey as exc:  # by another of its keys: try the next
            last = exc
    raise last


def verify_log(
    records: Iterable[Mapping[str, Any]],
    *,
    node_id: str,
    node_key: NoteVerifier | Sequence[NoteVerifier],
    checkpoints: Sequence[SignedCheckpoint] = (),
    witnesses: Mapping[str, NoteVerifier | Sequence[NoteVerifier]] | None = None,
) -> LogReport:
    """Verify ``records`` (in the order given, each with its fields and ``leaf_hash``, the bytes
    the node's tree holds, or None) against ``checkpoints`` (steps V1-V6 in the module text).

    ``node_key`` is the node's checkpoint key (type 0x01, named :func:`origin_of`), or its keys
    (the one it signs with now and those it signed with before a change of identity),
    ``witnesses`` the cosignature keys (type 0x04) of its partners by node id: one, or several
    (every key a partner was pinned to; a cosignature counts by the one it names).
    """
    origin = origin_of(node_id)
    witnesses = witnesses or {}
    node_keys = [node_key] if isinstance(node_key, NoteVerifier) else list(node_key)

    def refused(step: str, detail: str) -> LogReport:
        return LogReport(0, merkle.EMPTY_ROOT, failure=Failure(step, None, detail))

    # V3: parse and check every checkpoint first, so that V5 can compare as records stream by.
    pending: dict[int, tuple[bytes, tuple[str, ...]]] = {}
    notes: list[str] = []
    for signed in checkpoints:
        try:
            verified = verify_note(signed.note, node_keys)
            checkpoint = parse_checkpoint(verified.text)
        except CryptoError as exc:
            return refused("V3", f"a checkpoint does not verify: {exc}")
        if checkpoint.origin != origin:
            return refused("V3", f"a checkpoint is for {checkpoint.origin!r}, not {origin!r}")
        cosigners = []
        for witness, line in signed.cosignatures:
            keys = witnesses.get(witness)
            if keys is None:
                notes.append(f"checkpoint {checkpoint.size}: cosignature by unknown {witness}")
                continue
            try:
                verify_cosignature_by_any(verified.text, line, keys)
            except CryptoError as exc:  # V6
                return refused("V6", f"{witness}'s cosignature of checkpoint "
                               f"{checkpoint.size} does not verify: {exc}")  # fmt: skip
            cosigners.append(witness)
        pending[checkpoint.size] = (checkpoint.root, tuple(sorted(cosigners)))
    checked: list[CheckedCheckpoint] = []
    tree = _Range()

    def check_size() -> Failure | None:
        expected = pending.pop(tree.size, None)
        if expected is None:
            return None
        root, cosigners = expected
        if not hmac.compare_digest(tree.root(), root):  # V5
            return Failure("V5", tree.size - 1 if tree.size else None,
                           f"the records up to here give another root than the checkpoint of "
                           f"size {tree.size} signed")  # fmt: skip
        checked.append(CheckedCheckpoint(tree.size, root, cosigners))
        return None

    def report(failure: Failure | None) -> LogReport:
        return LogReport(tree.size, tree.root(), tuple(checked), failure, tuple(notes))

    failure = check_size()
    if failure:
        return report(failure)
    for record in records:
        seq = record.get("seq")
        if seq is None:  # V1
            return report(Failure("V1", None, f"record id {record.get('id')} has no place in "
                                  "the log: written outside it"))  # fmt: skip
        if seq != tree.size:  # V1
            if isinstance(seq, int) and seq > tree.size:
                detail = f"records {tree.size}..{seq - 1} are missing: deleted"
                return report(Failure("V1", tree.size, detail))
            return report(Failure("V1", seq, f"found where record {tree.size} belongs: "
                                  "inserted or moved"))  # fmt: skip
        try:
            leaf = merkle.leaf_hash(record_leaf(record))
        except (KeyError, CryptoError) as exc:
            return report(Failure("V2", seq, f"the record cannot be encoded: {exc}"))
        stored = record.get("leaf_hash")
        if not isinstance(stored, bytes) or not hmac.compare_digest(leaf, stored):  # V2
            return report(Failure("V2", seq, "the record does not match the leaf hash the log "
                                  "holds for it: edited, or swapped with another"))  # fmt: skip
        tree.append(leaf)
        failure = check_size()
        if failure:
            return report(failure)
    if pending:  # V4
        largest = max(pending)
        return report(Failure("V4", None, f"a checkpoint was signed at size {largest} but the log "
                              f"holds {tree.size} records: truncated"))  # fmt: skip
    return report(None)
