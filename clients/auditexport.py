"""An export of a node's audit log: a directory an auditor can verify with nothing but its files
and liaison (``liaison audit export`` writes it, ``liaison audit verify-export`` checks it).

    records.jsonl      every record as GET /api/v1/audit/events gives it, one JSON object a line,
                       in log order, then the records written outside the log
    checkpoints.json   every checkpoint as GET /api/v1/audit/checkpoints gives it, smallest first
    keys.json          GET /api/v1/audit/keys: the node's and its witnesses' public keys
    README.txt         how to verify, for whoever receives the directory

The directory is mode 0700 and the files 0600; an export never overwrites anything. Reading one
back refuses JSON that could be read two ways (a key twice in an object, NaN).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients.errors import VerificationFailed
from clients.privatefiles import create_private, private_dir

RECORDS = "records.jsonl"
CHECKPOINTS = "checkpoints.json"
KEYS = "keys.json"
README = "README.txt"

_README = """\
The audit log of liaison node {node_id}, exported {exported_at}
====================================================================

{records} records, {checkpoints} signed checkpoints.

  records.jsonl     every record, one JSON object a line, in log order ("seq" 0, 1, 2, ...),
                    each with the leaf hash the node's Merkle tree holds for it ("leaf_hash")
  checkpoints.json  every checkpoint the node signed (C2SP signed notes, "note"), with the
                    cosignatures its partners gave as witnesses ("cosignatures")
  keys.json         the public keys: the node's identity and checkpoint key, and each
                    witness's identity and cosignature key

To verify, with nothing but these files and liaison (no network, no access to the node):

    liaison audit verify-export {directory} --fingerprint "<{node_id}'s fingerprint>"

Take the fingerprint from {node_id}'s administrators, read out over a channel you trust, not
from keys.json: anyone who could change these files could change that too. (keys.json states
{fingerprint}.) Add --witness-fingerprint NODE="..." for a witness whose fingerprint you know.

It checks that the keys are the fingerprint's; that the records follow each other with no gap,
repeat or stranger (a deleted, inserted or moved record); that each record gives its leaf hash
(an edited record); that every checkpoint is signed by the node's key, and that the records up to
its size give the root it signed (a record rewritten with its hash, a truncated log); and that
every cosignature verifies under its witness's key. It names the first record that fails.

The formats are in liaison's docs/protocol.md, section 9. A leaf is
SHA-256(0x00 || JCS({{"v": 1, "seq", "at" (integer microseconds: "at_us" here), "actor_type",
"actor", "role", "action", "object_type", "object_id", "outcome", "reason", "remote_addr",
"policy_version"}})), and the tree is RFC 9162's.
"""


@dataclass(frozen=True)
class Export:
    """An export read back; ``records`` streams records.jsonl (read it once)."""

    keys: dict[str, Any]
    checkpoints: list[Any]
    records: Iterator[Any]


def write(
    directory: Path,
    *,
    keys: dict[str, Any],
    checkpoints: list[dict[str, Any]],
    records: Iterable[dict[str, Any]],
    exported_at: str,
) -> int:
    """Write an export to ``directory`` (created 0700, or empty) and return the records written.

    Raises:
        FileExistsError: ``directory`` exists and is not empty.
        OSError: a file cannot be written.
    """
    private_dir(directory)
    _write_json(directory / KEYS, keys)
    _write_json(directory / CHECKPOINTS, checkpoints)
    count = 0
    with os.fdopen(create_private(directory / RECORDS), "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    readme = _README.format(
        node_id=keys.get("node_id"),
        exported_at=exported_at,
        records=count,
        checkpoints=len(checkpoints),
        directory=directory,
        fingerprint=keys.get("fingerprint"),
    )
    with os.fdopen(create_private(directory / README), "w", encoding="utf-8") as fh:
        fh.write(readme)
    return count


def _write_json(path: Path, value: Any) -> None:
    with os.fdopen(create_private(path), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read(directory: Path) -> Export:
    """Open an export for verification.

    Raises:
        VerificationFailed: a file is missing or is not the JSON it should be (records.jsonl is
            checked line by line as it is read).
    """
    keys = _read_json(directory / KEYS)
    checkpoints = _read_json(directory / CHECKPOINTS)
    if not isinstance(keys, dict):
        raise VerificationFailed(f"{directory / KEYS} is not a JSON object")
    if not isinstance(checkpoints, list):
        raise VerificationFailed(f"{directory / CHECKPOINTS} is not a JSON list")
    path = directory / RECORDS
    if not path.is_file():
        raise VerificationFailed(f"{path} is missing: not an audit export")
    return Export(keys, checkpoints, _records(path))


def _read_json(path: Path) -> Any:
    try:
        return strict_loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VerificationFailed(f"{path} is missing: not an audit export") from exc
    except ValueError as exc:  # and UnicodeDecodeError
        raise VerificationFailed(f"{path} is not JSON: {exc}") from exc


def _records(path: Path) -> Iterator[Any]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                yield strict_loads(line.decode("utf-8"))
            except ValueError as exc:  # and UnicodeDecodeError
                raise VerificationFailed(f"{path} line {number} is not JSON: {exc}") from exc


def strict_loads(text: str) -> Any:
    """JSON that can be read only one way: no key twice in an object, no NaN or Infinity.

    Raises:
        ValueError: otherwise, or not JSON.
    """
    return json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key appears twice in one object")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
