"""``liaison report submit|list|show``: reports submitted here, and their delivery per partner.

Nothing is submitted when the sharing policy denies the release to any partner named (every
partner's decision goes to stderr; with ``--json`` the refusal's JSON also goes to stdout);
otherwise each partner's decision is printed with what to do next (``release show``, ``release
approve``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from clients import output
from clients.cli import drafts
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
    read_input,
)
from clients.errors import ApiError, UsageError


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``report`` and its actions to ``top``."""
    report = top.add_parser("report", help="submit reports and follow their delivery")
    cmds = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    submit = add_command(
        cmds,
        "submit",
        report_submit,
        (shared.url, shared.json),
        help="submit a STIX 2.1 bundle",
    )
    submit.add_argument("file", metavar="FILE", help="the bundle, or - for stdin")
    submit.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="PARTNER",
        help="partner node id (repeat, or comma-separate)",
    )
    add_command(
        cmds,
        "list",
        report_list,
        (shared.url, shared.json, shared.page),
        help="reports submitted here, with their delivery state",
    )
    show = add_command(
        cmds,
        "show",
        report_show,
        (shared.url, shared.json),
        help="one report and each delivery",
    )
    show.add_argument("id", metavar="ID")
    flag(show, "--bundle", action="store_true", help="print only the STIX bundle")
    drafts.register_import(cmds, shared)


def report_submit(args: argparse.Namespace, ctx: Context) -> int:
    """Submit a bundle to the partners of ``--to``; warnings from the node go to stderr.

    Raises:
        UsageError: ``--to`` names no partner.
        ApiError: the node refused the report (``policy_denied``: with every decision).
    """
    to = [p.strip() for value in args.to for p in value.split(",") if p.strip()]
    if not to:
        raise UsageError("name at least one partner with --to")
    url = node_url(args)
    data = read_input(args.file)
    with ctx.client(url) as client:
        try:
            report = client.submit_report(data, to)
        except ApiError as exc:
            if exc.code == "policy_denied" and opt(args, "json"):
                # Scripts get every partner's decision record; the reason still goes to stderr.
                emit_json({"code": exc.code, "detail": exc.detail, **exc.extra})
            raise
    if opt(args, "json"):
        emit_json(report)
        return 0
    emit(
        f"submitted {report['id']}: {output.clean(report.get('title'), width=TITLE_WIDTH)} "
        f"({report.get('tlp')}, {report.get('object_count')} objects) -> {_deliveries(report)}"
    )
    for d in report.get("deliveries", []):
        emit(f"  {_release_line(report['id'], d)}")
    for warning in report.get("warnings", []):
        print(f"warning: {output.clean(warning)}", file=sys.stderr)
    return 0


def _release_line(report_id: str, d: dict[str, Any]) -> str:
    """What the sharing policy decided for one partner of a submitted report, and what next."""
    partner, outcome = output.clean(d.get("partner")), output.clean(d.get("outcome"))
    show = f"liaison release show {report_id} --partner {partner}"
    if d.get("state") == "held":
        return (
            f"{partner}: hold - waits for a second officer with the releaser role "
            f"(liaison release approve {report_id} --partner {partner})"
        )
    if outcome == "redact":
        return f"{partner}: redact - {d.get('state')}, seq {d.get('seq')}; what was removed: {show}"
    return f"{partner}: {outcome} - {d.get('state')}, seq {d.get('seq')}"


def _delivery(d: dict[str, Any]) -> str:
    """``SY:acknowledged``; the policy's outcome is added when it is not a plain allow
    (``SY:queued(redact)``, ``SY:withheld(deny)``), except where the state says it (``SY:held``)."""
    state, outcome = d.get("state"), d.get("outcome")
    label = f"{d.get('partner')}:{state}"
    if outcome and outcome != "allow" and not (state == "held" and outcome == "hold"):
        label += f"({outcome})"
    return output.clean(label)


def _deliveries(report: dict[str, Any]) -> str:
    return " ".join(_delivery(d) for d in report.get("deliveries", [])) or "-"


def report_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        reports = client.list_reports(limit=opt(args, "limit", 100), offset=opt(args, "offset", 0))
    if opt(args, "json"):
        emit_json(reports)
        return 0
    if not reports:
        emit("no reports")
        return 0
    rows = [
        (
            r["id"],
            output.when(r.get("created_at")),
            r.get("tlp"),
            output.clean(r.get("title"), width=TITLE_WIDTH),
            _deliveries(r),
        )
        for r in reports
    ]
    emit(output.table(("ID", "CREATED", "TLP", "TITLE", "DELIVERY"), rows))
    return 0


def report_show(args: argparse.Namespace, ctx: Context) -> int:
    """One report, a table of its deliveries, and a note on each held or withheld one."""
    with ctx.client(node_url(args)) as client:
        if opt(args, "bundle"):
            emit_json(client.get_report_bundle(args.id))
            return 0
        report = client.get_report(args.id)
    if opt(args, "json"):
        emit_json(report)
        return 0
    types = ", ".join(report.get("object_types", []))
    emit(
        output.fields(
            [
                ("Report", report["id"]),
                ("Created", output.when(report.get("created_at"))),
                ("Submitted by", report.get("submitted_by")),
                ("Title", report.get("title")),
                ("TLP", report.get("tlp")),
                ("Bundle", report.get("bundle_id")),
                ("Objects", f"{report.get('object_count')} ({types})"),
            ]
        )
    )
    deliveries = report.get("deliveries", [])
    rows = [
        (
            d["partner"],
            d["state"],
            d.get("outcome"),
            d.get("seq"),
            d["attempts"],
            output.when(d.get("next_attempt_at")),
            output.when(d.get("acknowledged_at")),
            d.get("last_error"),
        )
        for d in deliveries
    ]
    emit("")
    headers = (
        "PARTNER", "STATE", "OUTCOME", "SEQ", "ATTEMPTS", "NEXT ATTEMPT", "ACKNOWLEDGED",
        "LAST ERROR",
    )  # fmt: skip
    emit(output.table(headers, rows))
    notes = {
        "held": "held for a second officer with the releaser role: liaison release approve "
        "{id} --partner {p}",
        "withheld": "withheld, not sent (refused by a releaser, or denied on approval): "
        "liaison release show {id} --partner {p}",
    }
    for d in deliveries:
        note = notes.get(d.get("state", ""))
        if note:
            partner = output.clean(d.get("partner"))
            emit(f"{partner}: {note.format(id=output.clean(report['id']), p=partner)}")
    return 0
