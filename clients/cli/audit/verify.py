"""``liaison audit verify`` and ``audit verify-export``: the whole log verified on this side.

``verify`` fetches the keys, every checkpoint and every record from the node; ``verify-export``
reads them from an export directory, offline. Both hand them to :mod:`clients.auditcheck` (keys
K1-K3, then V1-V6 over every record) and print the same report; they exit 1 when the log does not
verify. Keys not checked against a fingerprint the auditor gave are reported as such, with a
warning: a node that rewrote its whole log under keys of its own would pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clients import auditcheck, auditexport, output
from clients.cli.audit import log
from clients.cli.common import Context, emit, emit_json, node_url, opt, warn
from clients.errors import UsageError
from clients.sdk import MAX_CHECKPOINTS, LiaisonClient

FINGERPRINT_ENV = "LIAISON_NODE_FINGERPRINT"


def given_fingerprints(args: argparse.Namespace) -> tuple[str | None, dict[str, str]]:
    """The node's fingerprint (``--fingerprint`` or ``$LIAISON_NODE_FINGERPRINT``; None if
    neither) and the witnesses' by node id (``--witness-fingerprint NODE=FP``, repeated).

    Raises:
        UsageError: a ``--witness-fingerprint`` is not ``NODE=FP``.
    """
    node = opt(args, "fingerprint") or os.environ.get(FINGERPRINT_ENV) or None
    witnesses: dict[str, str] = {}
    for value in opt(args, "witness_fingerprint") or ():
        name, sep, fp = value.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--witness-fingerprint takes NODE=FINGERPRINT, not {value!r}")
        witnesses[name.strip()] = fp
    return node, witnesses


def fingerprint_line(fp: str, checked: bool, *, by_node: bool = False) -> str:
    """A fingerprint and whether it was checked against one the auditor gave."""
    if checked:
        return f"{fp} (the fingerprint you gave)"
    if by_node:
        return f"{fp} (as the node pinned it; not checked against one you gave)"
    return f"{fp} (NOT checked: give --fingerprint or set {FINGERPRINT_ENV})"


def _checkpoints(client: LiaisonClient) -> list[dict[str, Any]]:
    """Every checkpoint the node lists; when it lists as many as it can, the latest as well."""
    listed = client.audit_checkpoints(limit=MAX_CHECKPOINTS)
    if len(listed) >= MAX_CHECKPOINTS:
        latest = client.latest_audit_checkpoint()
        if all(c.get("size") != latest.get("size") for c in listed):
            listed.append(latest)
        warn(
            f"the node lists at most {MAX_CHECKPOINTS} checkpoints: the oldest of them and the "
            "latest were verified, not the ones in between"
        )
    return listed


def audit_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Re-verify the node's log on this side: keys (K1-K3), then V1-V6 over every record."""
    fingerprint, witness_fps = given_fingerprints(args)
    url = node_url(args)
    with ctx.client(url) as client:
        keys = auditcheck.check_keys(
            client.audit_keys(), fingerprint=fingerprint, witness_fingerprints=witness_fps
        )
        checkpoints = _checkpoints(client)  # before the records: see auditcheck.check_log
        records = client.iter_audit_events(page_size=log.PAGE_SIZE, include_unsequenced=True)
        result = auditcheck.check_log(keys, records, checkpoints)
    return _report(args, keys, result, f"the node at {url}")


def audit_verify_export(args: argparse.Namespace, ctx: Context) -> int:
    """``audit verify`` over an export directory, offline."""
    fingerprint, witness_fps = given_fingerprints(args)
    directory = Path(args.directory)
    export = auditexport.read(directory)
    keys = auditcheck.check_keys(
        export.keys, fingerprint=fingerprint, witness_fingerprints=witness_fps
    )
    result = auditcheck.check_log(keys, export.records, export.checkpoints)
    return _report(args, keys, result, f"the export in {directory}")


def _report(
    args: argparse.Namespace,
    keys: auditcheck.TrustedKeys,
    result: auditcheck.LogCheck,
    source: str,
) -> int:
    """Print what was verified (JSON with ``--json``), warn, and return 1 if it failed."""
    warnings = _warnings(keys, result)
    node = output.clean(keys.node_id)
    if opt(args, "json"):
        emit_json(
            {
                "ok": result.ok,
                "node_id": keys.node_id,
                "fingerprint": keys.fingerprint,
                "fingerprint_checked": keys.pinned,
                "witnesses": {
                    name: {"fingerprint": fp, "fingerprint_checked": name in keys.pinned_witnesses}
                    for name, fp in keys.witness_fingerprints.items()
                },
                "records": result.records,
                "root": result.root,
                "checkpoints": [
                    {"size": c.size, "root": c.root, "cosigned_by": list(c.cosigned_by)}
                    for c in result.checkpoints
                ],
                "failure": None
                if result.failure is None
                else {
                    "step": result.failure.step,
                    "seq": result.failure.seq,
                    "detail": result.failure.detail,
                },
                "notes": list(result.notes),
                "warnings": warnings,
            }
        )
    else:
        counted = "verified" if result.ok else "verified before the failure"
        pairs: list[tuple[str, object]] = [
            ("Log", f"{keys.node_id}, from {source}"),
            ("Node key", fingerprint_line(keys.fingerprint, keys.pinned)),
        ]
        for name, fp in sorted(keys.witness_fingerprints.items()):
            pairs.append(
                (
                    f"Witness {name}",
                    fingerprint_line(fp, name in keys.pinned_witnesses, by_node=True),
                )
            )
        pairs += [
            ("Records", f"{result.records} {counted}"),
            ("Root", f"{result.root} (of those {result.records})"),
            ("Checkpoints", f"{len(result.checkpoints)} {counted}"),
        ]
        emit(output.fields(pairs))
        for line in _checkpoint_lines(result.checkpoints):
            emit(f"  {line}")
        for note in result.notes:
            emit(f"note: {output.clean(note)}")
        if result.ok:
            emit(f"verified: {node}'s audit log is intact, {result.records} records")
        else:
            emit(f"FAILED at {output.clean(result.failure)}")
    for text in warnings:
        warn(text)
    if result.failure is not None:
        print(
            f"liaison: {node}'s audit log does not verify: {output.clean(result.failure)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _warnings(keys: auditcheck.TrustedKeys, result: auditcheck.LogCheck) -> list[str]:
    warnings = []
    if not keys.pinned:
        warnings.append(
            f"{keys.node_id}'s keys were not checked against a fingerprint you know: a node that "
            f"rewrote its whole log under keys of its own would pass (give --fingerprint or set "
            f"{FINGERPRINT_ENV})"
        )
    if result.ok and not result.checkpoints:
        warnings.append(
            f"{keys.node_id} has signed no checkpoint yet: nothing binds its records "
            "(liaison audit checkpoint signs one)"
        )
    elif result.ok and not result.checkpoints[-1].cosigned_by:
        latest = result.checkpoints[-1].size
        warnings.append(
            f"the latest checkpoint (size {latest}) is not cosigned by any partner: no witness "
            "holds evidence of it yet (a partner cosigns at its next witness round)"
        )
    return warnings


def _checkpoint_lines(checkpoints: Sequence[auditcheck.CheckedCheckpoint]) -> list[str]:
    """One line per run of checkpoints cosigned by the same witnesses."""
    runs: list[tuple[int, int, int, tuple[str, ...]]] = []  # (first size, last size, count, by)
    for c in checkpoints:
        if runs and runs[-1][3] == c.cosigned_by:
            first, _, count, by = runs[-1]
            runs[-1] = (first, c.size, count + 1, by)
        else:
            runs.append((c.size, c.size, 1, c.cosigned_by))
    lines = []
    for first, last, count, by in runs:
        sizes = f"size {first}" if count == 1 else f"sizes {first} to {last} ({count} checkpoints)"
        lines.append(f"{sizes}: " + (f"cosigned by {', '.join(by)}" if by else "not cosigned"))
    return lines
