"""``liaison audit alerts|checkpoint|reconcile``: the logs of two nodes held against each other.

``alerts`` lists what this node, as a partner's witness, caught in that partner's log (a log
that shrank or forked, with both signed checkpoints as evidence); ``checkpoint`` has the node
sign a checkpoint of its own log now, for its partners to cosign; ``reconcile`` compares what was
sent to a partner with what it signed as received, both ways, and exits 1 on any discrepancy.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

from clients import output
from clients.cli.common import Context, emit, emit_json, node_url, opt


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
                    or "nobody yet (a partner cosigns at its next witness round)",
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
