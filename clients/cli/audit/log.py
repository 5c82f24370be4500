"""``liaison audit [log]``: the node's access log, filtered, as a table, JSON or CSV.

One page (``--limit``, default 200) or ``--all`` (page by page, by ``after_seq``), in log order.
CSV is streamed row by row; a free-text cell that a spreadsheet would run as a formula is
prefixed with ``'`` (:func:`clients.output.csv_cell`).
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime

from clients import output
from clients.cli.common import Context, emit, emit_json, node_url, opt
from clients.sdk import MAX_AUDIT_PAGE

DEFAULT_LIMIT = 200
PAGE_SIZE = MAX_AUDIT_PAGE
"""Records fetched per request by ``--all``, ``verify`` and ``export`` (tests make it small)."""
CSV_COLUMNS = (
    "seq", "at", "at_us", "actor_type", "actor", "role", "action", "object_type", "object_id",
    "outcome", "reason", "remote_addr", "policy_version", "id", "leaf_hash",
)  # fmt: skip
_CODED = frozenset({"seq", "at", "at_us", "id", "leaf_hash"})
"""Columns whose values come from the node in a fixed alphabet, never from a person."""


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
