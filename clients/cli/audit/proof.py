"""``liaison audit proof`` and ``audit check-proof``: one record's inclusion proof.

``proof`` fetches a ``liaison-audit-proof/1`` document: the record, its RFC 9162 inclusion proof
in a signed checkpoint, that checkpoint with its cosignatures, and the keys. ``check-proof``
verifies such a file with nothing but the file (P1-P5 of :mod:`clients.auditcheck`).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from clients import auditcheck, auditexport, output
from clients.cli.audit.verify import FINGERPRINT_ENV, fingerprint_line, given_fingerprints
from clients.cli.common import Context, emit, emit_json, node_url, opt, warn
from clients.errors import VerificationFailed
from clients.privatefiles import write_private


def audit_proof(args: argparse.Namespace, ctx: Context) -> int:
    """Print the proof, or write it to ``--out`` (mode 0600) and say how to check it."""
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
    """Verify a proof file with nothing but the file (P1-P5 of :mod:`clients.auditcheck`).

    Raises:
        VerificationFailed: the file is not JSON, not a proof, or does not verify.
    """
    fingerprint, witness_fps = given_fingerprints(args)
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
                        f"{proof.node_id}, {fingerprint_line(keys.fingerprint, keys.pinned)}",
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
