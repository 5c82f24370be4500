"""``liaison inbox [list]|show|accept|reject``: reports received from partners.

What the inbound policy accepted is the inbox (``inbox`` alone lists it); what it holds for an
officer's review is the quarantine (``--quarantined``), and ``accept`` or ``reject`` decides it.
``show`` fetches the bundle, which the node verifies again under the pinned keys as it answers.
"""

from __future__ import annotations

import argparse
from typing import Any

from clients import output
from clients.cli.choices import INBOUND_STATUSES
from clients.cli.common import (
    TITLE_WIDTH,
    Context,
    SharedOptions,
    Subcommands,
    add_command,
    emit,
    emit_json,
    flag,
    node_url,
    opt,
)


def _status_options() -> argparse.ArgumentParser:
    """``--status S``, or ``--quarantined`` / ``--rejected`` for short (one of them)."""
    parent = argparse.ArgumentParser(add_help=False)
    which = parent.add_mutually_exclusive_group()
    flag(which, "--status", choices=INBOUND_STATUSES, help="which received reports (accepted)")
    flag(which, "--quarantined", dest="status", action="store_const", const="quarantined",
         help="reports the inbound policy holds for review")  # fmt: skip
    flag(which, "--rejected", dest="status", action="store_const", const="rejected",
         help="quarantined reports an officer rejected")  # fmt: skip
    return parent


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``inbox`` (itself ``inbox list``) and its actions to ``top``."""
    status = _status_options()
    listing = (shared.url, shared.json, shared.page, status)
    inbox = add_command(
        top,
        "inbox",
        inbox_list,
        listing,
        help="reports received from partners (and the quarantine)",
    )
    cmds = inbox.add_subparsers(dest="inbox_command", metavar="ACTION")
    add_command(cmds, "list", inbox_list, listing, help="(the default)")
    show = add_command(
        cmds,
        "show",
        inbox_show,
        (shared.url, shared.json),
        help="one received report: its inbound decision and its bundle",
    )
    show.add_argument("id", metavar="ID")
    flag(show, "--bundle", action="store_true", help="print only the STIX bundle")
    for name, handler, what in (
        ("accept", inbox_accept, "accept a quarantined report into the inbox"),
        ("reject", inbox_reject, "reject a quarantined report (it stays out)"),
    ):
        review = add_command(cmds, name, handler, (shared.url, shared.json, shared.note), help=what)
        review.add_argument("id", metavar="ID")


def inbox_list(args: argparse.Namespace, ctx: Context) -> int:
    """The received reports of one status (accepted by default); the quarantine and the rejected
    show the rule that held each and who reviewed it."""
    status = opt(args, "status") or "accepted"
    with ctx.client(node_url(args)) as client:
        received = client.inbox(
            status=status, limit=opt(args, "limit", 100), offset=opt(args, "offset", 0)
        )
    if opt(args, "json"):
        emit_json(received)
        return 0
    if not received:
        emit({"accepted": "no received reports"}.get(status, f"no {status} reports"))
        return 0
    if status == "accepted":
        rows = [
            (
                r["id"],
                output.when(r.get("received_at")),
                r.get("sender"),
                r.get("tlp"),
                output.clean(r.get("title"), width=TITLE_WIDTH),
            )
            for r in received
        ]
        emit(output.table(("ID", "RECEIVED", "SENDER", "TLP", "TITLE"), rows))
        return 0
    # The quarantine and the rejected: why the inbound policy held each, and who reviewed it.
    held = [
        (
            r["id"],
            output.when(r.get("received_at")),
            r.get("sender"),
            r.get("tlp"),
            r.get("rule"),
            r.get("reviewed_by"),
            output.clean(r.get("title"), width=TITLE_WIDTH),
        )
        for r in received
    ]
    emit(output.table(("ID", "RECEIVED", "SENDER", "TLP", "RULE", "REVIEWED BY", "TITLE"), held))
    return 0


def _inbound_fields(row: dict[str, Any]) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = [
        ("Received report", row["id"]),
        ("Sender", row.get("sender")),
        ("Received", output.when(row.get("received_at"))),
        ("Created", output.when(row.get("created_at"))),
        ("Message", f"{row.get('message_id')} (seq {row.get('seq')})"),
        ("Title", row.get("title")),
        ("TLP", row.get("tlp")),
        ("Bundle", row.get("bundle_id")),
        ("Objects", row.get("object_count")),
        ("Status", row.get("status")),
        ("Rule", row.get("rule")),
        ("Reason", row.get("reason")),
        ("Policy version", row.get("policy_version")),
    ]
    if row.get("reviewed_by"):
        pairs += [
            ("Reviewed by", row.get("reviewed_by")),
            ("Reviewed", output.when(row.get("reviewed_at"))),
            ("Review note", row.get("review_note")),
        ]
    return pairs


def inbox_show(args: argparse.Namespace, ctx: Context) -> int:
    """The received report's fields and findings, how to review it if quarantined, its bundle."""
    with ctx.client(node_url(args)) as client:
        row = client.get_inbound(args.id)
        bundle = client.get_inbound_bundle(args.id)
    if opt(args, "bundle"):
        emit_json(bundle)
        return 0
    if opt(args, "json"):
        emit_json({**row, "bundle": bundle})
        return 0
    pairs = _inbound_fields(row)
    pairs.append(("Signatures", "verified again just now, under the pinned keys"))
    emit(output.fields(pairs))
    findings = row.get("findings") or []
    if findings:
        emit("Findings:")
        for f in findings:
            emit(f"  {output.clean(f.get('rule'))}: {output.clean(f.get('message'))}")
    if row.get("status") == "quarantined":
        emit(f"review: liaison inbox accept {row['id']}  or  liaison inbox reject {row['id']}")
    emit("")
    emit_json(bundle)
    return 0


def inbox_accept(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        row = client.accept_quarantined(args.id, opt(args, "note"))
    return _reviewed(args, row, "accepted into the inbox")


def inbox_reject(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        row = client.reject_quarantined(args.id, opt(args, "note"))
    return _reviewed(args, row, "rejected")


def _reviewed(args: argparse.Namespace, row: dict[str, Any], what: str) -> int:
    if opt(args, "json"):
        emit_json(row)
    else:
        emit(
            f"{what}: received report {output.clean(row.get('id'))} from "
            f"{output.clean(row.get('sender'))} (quarantined by {output.clean(row.get('rule'))})"
        )
    return 0
