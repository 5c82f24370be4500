"""``liaison audit export``: the whole log, its checkpoints and keys to a new directory.

The directory is for ``audit verify-export``, offline, on any machine (:mod:`clients.auditexport`
writes and reads it).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from clients import auditexport, output
from clients.cli.audit import log
from clients.cli.common import Context, emit, emit_json, node_url, opt
from clients.errors import ApiError, UsageError


def audit_export(args: argparse.Namespace, ctx: Context) -> int:
    """Write records.jsonl, checkpoints.json, keys.json and README.txt to a new directory.

    The README is written last: an export cut short by a lost connection has none, and its
    records fall short of its checkpoints, which verify-export reports (V4).

    Raises:
        UsageError: ``--out`` exists and is not an empty directory (nothing is written).
        ApiError: the node's export answer lacks the keys or the checkpoints.
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
        records = client.iter_audit_events(page_size=log.PAGE_SIZE, include_unsequenced=True)
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
