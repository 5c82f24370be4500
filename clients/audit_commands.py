"""The auditor's ``liaison audit`` commands, once ``clients.cli`` has parsed their arguments.

    audit [log]       the access log, filtered, as a table, JSON or CSV
    audit verify      fetch the keys, every checkpoint and every record; verify them here
    audit proof       fetch the inclusion proof of one record (a self-contained JSON file)
    audit check-proof verify such a file offline
    audit export      the whole log, its checkpoints and keys to a directory
    audit verify-export   verify such a directory offline, as audit verify does
    audit alerts      what the node caught, as a witness, in a partner's log
    audit checkpoint  have the node sign a checkpoint now
    audit reconcile   what we sent a partner against what it signed as received, and back

Handlers follow :mod:`clients.commands`: they print, return an exit code (1 when something does
not verify or does not reconcile) or raise a :mod:`clients.errors` exception. The verification
itself is :mod:`clients.auditcheck`'s, which alone loads ``crypto``, and only when it runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clients import auditcheck, auditexport, output
from clients.commands import Context, emit, emit_json, node_url, opt
from clients.errors import ApiError, UsageError, VerificationFailed
from clients.privatefiles import write_private
from clients.sdk import MAX_AUDIT_PAGE, MAX_CHECKPOINTS, LiaisonClient

FINGERPRINT_ENV = "LIAISON_NODE_FINGERPRINT"
DEFAULT_LIMIT = 200
PAGE_SIZE = MAX_AUDIT_PAGE
"""Records fetched per request by ``--all``, ``verify`` and ``export``."""
CSV_COLUMNS = (
    "seq", "at", "at_us", "actor_type", "actor", "role", "action", "object_type", "object_id",
    "outcome", "reason", "remote_addr", "policy_version", "id", "leaf_hash",
)  # fmt: skip
_CODED = frozenset({"seq", "at", "at_us", "id", "leaf_hash"})
"""Columns whose values come from the node in a fixed alphabet, never from a person."""


def warn(text: str) -> None:
    print(f"warning: {output.clean(text)}", file=sys.stderr)


# -- the log -------------------------------------------------------------------------------------


def audit_log(args: argparse.Namespace, ctx: Context) -> int:
    """``liaison audit [log]``: one page (``--limit``, default 200) or ``--all``, in log order."""
    filters = {
        "actor": opt(args, "actor"),
        "action": opt(args, "action"),
        "object_id": opt(args, "object_id"),
        "object_type": opt(args, "object_type"),
        "outcome": opt(args, "outcome"),
        "since": opt(args, "since"),
        "until": opt(args, "until"),
        "after_seq": opt(args, "after_seq"),
    }
    limit = None if opt(args, "all") else opt(args, "limit", DEFAULT_LIMIT)
    fmt = opt(args, "format") or "table"
    with ctx.client(node_url(args)) as client:
        records = client.iter_audit_events(limit=limit, page_size=PAGE_SIZE, **filters)
        if fmt == "csv":  # streamed: an --all export to a spreadsheet can be long
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for r in records:
                writer.writerow(
                    [output.csv_cell(r.get(c), free_text=c not in _CODED) for c in CSV_COLUMNS]
                )
            return 0
        events = list(records)
    if fmt == "json":
        emit_json(events)
        return 0
    if not events:
        emit("no audit records")
        return 0
    rows = [
        (
            e.get("seq"),
            output.when(e.get("at")),
            f"{e.get('actor_type')}:{e.get('actor')}",
            e.get("action"),
            f"{e.get('object_type')}:{e.get('object_id')}" if e.get("object_id") else "-",
            e.get("outcome"),
            output.clean(e.get("reason"), width=80),
        )
        for e in events
    ]
    emit(output.table(("SEQ", "AT", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "REASON"), rows))
    return 0


def iso_time(value: str) -> datetime:
    """An ``--since``/``--until`` argument: ISO 8601, UTC unless it has an offset."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time (e.g. 2025-01-31 or 2025-01-31T08:00:00+03:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- verifying the log ---------------------------------------------------------------------------


def _fingerprints(args: argparse.Namespace) -> tuple[str | None, dict[str, str]]:
    node = opt(args, "fingerprint") or os.environ.get(FINGERPRINT_ENV) or None
    witnesses: dict[str, str] = {}
    for value in opt(args, "witness_fingerprint") or ():
        name, sep, fp = value.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--witness-fingerprint takes NODE=FINGERPRINT, not {value!r}")
        witnesses[name.strip()] = fp
    return node, witnesses


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
    fingerprint, witness_fps = _fingerprints(args)
    url = node_url(args)
    with ctx.client(url) as client:
        keys = auditcheck.check_keys(
            client.audit_keys(), fingerprint=fingerprint, witness_fingerprints=witness_fps
        )
        checkpoints = _checkpoints(client)  # before the records: see auditcheck.check_log
        records = client.iter_audit_events(page_size=PAGE_SIZE, include_unsequenced=True)
        result = auditcheck.check_log(keys, records, checkpoints)
    return _report(args, keys, result, f"the node at {url}")


def audit_verify_export(args: argparse.Namespace, ctx: Context) -> int:
    """``audit verify`` over an export directory, offline."""
    fingerprint, witness_fps = _fingerprints(args)
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
            ("Node key", _fingerprint_line(keys.fingerprint, keys.pinned)),
        ]
        for name, fp in sorted(keys.witness_fingerprints.items()):
            pairs.append(
                (
                    f"Witness {name}",
                    _fingerprint_line(fp, name in keys.pinned_witnesses, by_node=True),
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


def _fingerprint_line(fp: str, checked: bool, *, by_node: bool = False) -> str:
    if checked:
        return f"{fp} (the fingerprint you gave)"
    if by_node:
        return f"{fp} (as the node pinned it; not checked against one you gave)"
    return f"{fp} (NOT checked: give --fingerprint or set {FINGERPRINT_ENV})"


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
            "holds evidence of it yet (a partner cosigns at its next pull round)"
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


# -- proofs --------------------------------------------------------------------------------------


def audit_proof(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        proof = client.audit_proof(args.seq, size=opt(args, "size"))
    if not opt(args, "out"):
        emit_json(proof)
        return 0
    out = Path(args.out)
    text = json.dumps(proof, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_private(out, text.encode("utf-8"))
    node_id = output.clean((proof.get("keys") or {}).get("node_id"))
    emit(
        f"wrote the proof of record {args.seq} in {node_id}'s checkpoint of size "
        f"{output.clean(proof.get('size'))} to {output.clean(out)}"
    )
    emit(
        f"check it: liaison audit check-proof {output.clean(out)} --fingerprint \"<{node_id}'s "
        'fingerprint>"'
    )
    return 0


def audit_check_proof(args: argparse.Namespace, ctx: Context) -> int:
    """Verify a proof file with nothing but the file (P1-P5 of :mod:`clients.auditcheck`)."""
    fingerprint, witness_fps = _fingerprints(args)
    path = Path(args.file)
    try:
        unverified = auditexport.strict_loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise VerificationFailed(f"{path} is not JSON: {exc}") from exc
    if not isinstance(unverified, dict):
        raise VerificationFailed(f"{path} is not a proof file")
    keys, proof = auditcheck.check_proof(
        unverified, fingerprint=fingerprint, witness_fingerprints=witness_fps
    )
    if opt(args, "json"):
        emit_json(
            {
                "ok": True,
                "node_id": proof.node_id,
                "seq": proof.seq,
                "size": proof.size,
                "root": proof.root,
                "cosigned_by": list(proof.cosigned_by),
                "fingerprint": keys.fingerprint,
                "fingerprint_checked": keys.pinned,
                "notes": list(proof.notes),
            }
        )
    else:
        r = proof.record
        emit(
            output.fields(
                [
                    (
                        "Record",
                        f"{proof.seq}: {_micros_text(r.get('at'))} "
                        f"{r.get('actor_type')}:{r.get('actor')} {r.get('action')} "
                        f"{r.get('outcome')}",
                    ),
                    ("Checkpoint", f"size {proof.size}, root {proof.root}"),
                    (
                        "Signed by",
                        f"{proof.node_id}, {_fingerprint_line(keys.fingerprint, keys.pinned)}",
                    ),
                    ("Cosigned by", ", ".join(proof.cosigned_by) or "nobody"),
                ]
            )
        )
        for note in proof.notes:
            emit(f"note: {output.clean(note)}")
        node = output.clean(proof.node_id)
        emit(f"verified: record {proof.seq} is in {node}'s audit log of size {proof.size}")
    if not keys.pinned:
        warn(
            f"the proof's keys were not checked against a fingerprint you know: anyone can make "
            f"a proof that verifies under keys of their own (give --fingerprint or set "
            f"{FINGERPRINT_ENV})"
        )
    return 0


def _micros_text(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return output.clean(value)
    moment = datetime.fromtimestamp(value // 1_000_000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


# -- export --------------------------------------------------------------------------------------


def audit_export(args: argparse.Namespace, ctx: Context) -> int:
    """Write records.jsonl, checkpoints.json, keys.json and README.txt to a new directory.

    The README is written last: an export cut short by a lost connection has none, and its
    records fall short of its checkpoints, which verify-export reports (V4).
    """
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty directory; nothing was written")
    with ctx.client(node_url(args)) as client:
        started = client.start_audit_export()  # the checkpoints and keys, before the records
        keys, checkpoints = started.get("keys"), started.get("checkpoints")
        if not isinstance(keys, dict) or not isinstance(checkpoints, list):
            raise ApiError(
                200, "bad_response", "the node's export answer lacks keys or checkpoints"
            )
        records = client.iter_audit_events(page_size=PAGE_SIZE, include_unsequenced=True)
        count = auditexport.write(
            out,
            keys=keys,
            checkpoints=checkpoints,
            records=records,
            exported_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        )
    node_id = output.clean(keys.get("node_id"))
    if opt(args, "json"):
        emit_json(
            {
                "directory": str(out),
                "node_id": keys.get("node_id"),
                "records": count,
                "checkpoints": len(checkpoints),
            }
        )
        return 0
    emit(
        f"exported {output.plural(count, 'record')}, "
        f"{output.plural(len(checkpoints), 'checkpoint')} and the keys of {node_id} to "
        f"{output.clean(out)}"
    )
    emit(
        f"verify it: liaison audit verify-export {output.clean(out)} --fingerprint \"<{node_id}'s "
        'fingerprint>"'
    )
    return 0


# -- alerts, checkpoints, reconciliation ---------------------------------------------------------


def audit_alerts(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        alerts = client.audit_alerts()
    if opt(args, "json"):
        emit_json(alerts)
        return 0
    if not alerts:
        emit("no alerts")
        return 0
    rows = [
        (
            a.get("id"),
            output.when(a.get("at")),
            a.get("subject"),
            a.get("kind"),
            output.clean(a.get("detail"), width=100),
        )
        for a in alerts
    ]
    emit(output.table(("ID", "AT", "PARTNER", "KIND", "DETAIL"), rows))
    emit("the evidence (both signed checkpoints) is in: liaison audit alerts --json")
    return 0


def audit_checkpoint(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        checkpoint = client.sign_audit_checkpoint()
    if opt(args, "json"):
        emit_json(checkpoint)
        return 0
    cosigners = [c.get("witness") for c in checkpoint.get("cosignatures") or []]
    emit(
        output.fields(
            [
                ("Checkpoint", f"size {checkpoint.get('size')}"),
                ("Root", checkpoint.get("root")),
                ("Signed at", output.when(checkpoint.get("signed_at"))),
                (
                    "Cosigned by",
                    ", ".join(map(output.clean, cosigners))
                    or "nobody yet (a partner cosigns at its next pull round)",
                ),
            ]
        )
    )
    emit("")
    for line in str(checkpoint.get("note", "")).splitlines():
        emit(output.clean(line) if line else "")
    return 0


def audit_reconcile(args: argparse.Namespace, ctx: Context) -> int:
    """Matched counts and every discrepancy; exit 1 when there is one."""
    with ctx.client(node_url(args)) as client:
        answer = client.audit_reconcile(args.partner)
    discrepancies = answer.get("discrepancies") or []
    if opt(args, "json"):
        emit_json(answer)
    else:
        sent, received = answer.get("sent") or {}, answer.get("received") or {}
        emit(
            output.fields(
                [
                    ("Partner", answer.get("partner")),
                    ("Sent", f"{sent.get('matched')} matched, {sent.get('pending')} pending"),
                    (
                        "Received",
                        f"{received.get('matched')} matched, {received.get('pending', 0)} pending",
                    ),
                    ("Discrepancies", len(discrepancies) or "none"),
                    *(
                        [
                            (
                                "Note",
                                "the partner's lists were cut at their limit: only the sequence "
                                "numbers they cover were compared",
                            )
                        ]
                        if answer.get("complete") is False
                        else []
                    ),
                ]
            )
        )
        if discrepancies:
            emit("")
            emit(
                output.table(
                    ("DIRECTION", "MESSAGE", "SEQ", "KIND", "DETAIL"),
                    _discrepancy_rows(discrepancies),
                )
            )
    if discrepancies:
        many = "discrepancy" if len(discrepancies) == 1 else "discrepancies"
        print(
            f"liaison: {len(discrepancies)} {many} with {output.clean(args.partner)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _discrepancy_rows(discrepancies: Iterable[Any]) -> list[tuple[object, ...]]:
    return [
        (
            d.get("direction"),
            d.get("message_id"),
            d.get("seq"),
            d.get("kind"),
            output.clean(d.get("detail"), width=100),
        )
        if isinstance(d, dict)
        else ("?", "?", "?", "?", output.clean(d))
        for d in discrepancies
    ]
