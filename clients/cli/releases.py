"""``liaison release list|show|approve|refuse``: the sharing policy's decision per report and
partner, and the second officer's review of a held release.

A release is ``held`` when the policy asks for a releaser's approval; approving sends it (or
withholds it, if the policy denies it by then), refusing withholds it for good. The node refuses
a review by the submitter or by a user without the releaser role.
"""

from __future__ import annotations

import argparse
from typing import Any

from clients import output
from clients.cli.choices import RELEASE_STATES
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


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``release`` and its actions to ``top``."""
    release = top.add_parser(
        "release", help="sharing-policy decisions on submitted reports; approve held ones"
    )
    cmds = release.add_subparsers(dest="release_command", required=True, metavar="ACTION")
    listing = add_command(
        cmds,
        "list",
        release_list,
        (shared.url, shared.json, shared.page),
        help="releases per report and partner with their decision (held: waiting for approval)",
    )
    flag(listing, "--state", choices=RELEASE_STATES, help="e.g. held")
    flag(listing, "--partner", metavar="PARTNER", help="the partner node id, e.g. SY")
    show = add_command(
        cmds,
        "show",
        release_show,
        (shared.url, shared.json),
        help="one release: the decision, every rule's step, and the diff the partner receives",
    )
    approve = add_command(
        cmds,
        "approve",
        release_approve,
        (shared.url, shared.json, shared.note),
        help="approve a held release (releaser role, not the submitter)",
    )
    refuse = add_command(
        cmds,
        "refuse",
        release_refuse,
        (shared.url, shared.json, shared.note),
        help="refuse a held release: it is withheld for good (releaser role, not the submitter)",
    )
    for sub in (show, approve, refuse):
        sub.add_argument("report", metavar="REPORT", help="the report id")
        sub.add_argument("--partner", required=True, help="the partner node id, e.g. SY")


def release_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        rows = client.list_releases(
            state=opt(args, "state"),
            partner=opt(args, "partner"),
            limit=opt(args, "limit", 100),
            offset=opt(args, "offset", 0),
        )
    if opt(args, "json"):
        emit_json(rows)
        return 0
    if not rows:
        emit("no releases")
        return 0
    table = [
        (
            r["report_id"],
            output.when(r.get("created_at")),
            r.get("partner"),
            r.get("state"),
            r.get("outcome"),
            r.get("rule"),
            r.get("tlp"),
            r.get("submitted_by"),
            output.clean(r.get("title"), width=TITLE_WIDTH),
        )
        for r in rows
    ]
    headers = ("REPORT", "CREATED", "PARTNER", "STATE", "OUTCOME", "RULE", "TLP", "BY", "TITLE")
    emit(output.table(headers, table))
    return 0


def _release_fields(r: dict[str, Any]) -> list[tuple[str, object]]:
    decision = r.get("decision") or {}
    outcome = str(r.get("outcome"))
    if decision.get("approved_outcome") and r.get("state") == "held":
        outcome += f" (once approved: {decision['approved_outcome']})"
    released = decision.get("released_objects")
    pairs: list[tuple[str, object]] = [
        ("Report", r.get("report_id")),
        ("Partner", r.get("partner")),
        ("Title", r.get("title")),
        ("TLP", r.get("tlp")),
        ("Submitted by", r.get("submitted_by")),
        ("Created", output.when(r.get("created_at"))),
        ("State", r.get("state")),
        ("Outcome", outcome),
        ("Rule", r.get("rule")),
        ("Reason", r.get("reason")),
        ("Policy version", r.get("policy_version")),
        ("Message", f"{r.get('message_id')} (seq {output.clean(r.get('seq'))})"),
    ]
    if released is not None:
        pairs.append(("Objects", f"{released} of {decision.get('submitted_objects')} released"))
    if r.get("reviewed_by"):
        pairs += [
            ("Reviewed by", r.get("reviewed_by")),
            ("Reviewed", output.when(r.get("reviewed_at"))),
            ("Review note", r.get("review_note")),
        ]
    return pairs


def release_show(args: argparse.Namespace, ctx: Context) -> int:
    """The release's fields, every rule's step, how to review it if held, and the diff."""
    with ctx.client(node_url(args)) as client:
        release = client.get_release(args.report, args.partner)
    if opt(args, "json"):
        emit_json(release)
        return 0
    emit(output.fields(_release_fields(release)))
    steps = (release.get("decision") or {}).get("steps") or []
    if steps:
        emit("Steps:")
        for step in steps:
            emit(
                f"  {output.clean(step.get('rule'))}: {output.clean(step.get('verdict'))} - "
                f"{output.clean(step.get('detail'))}"
            )
    if release.get("state") == "held":
        emit(
            f"approve or refuse: liaison release approve|refuse {output.clean(args.report)} "
            f"--partner {output.clean(args.partner)} [--note TEXT]"
        )
    emit("")
    diff = str(release.get("diff") or "")
    if not diff:
        emit("no difference: the partner receives the report as submitted")
    for line in diff.splitlines():
        emit(output.clean(line) if line.strip() else "")
    return 0


def release_approve(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        release = client.approve_release(args.report, args.partner, opt(args, "note"))
    if opt(args, "json"):
        emit_json(release)
        return 0
    emit(
        f"approved the release of {output.clean(release.get('report_id'))} to "
        f"{output.clean(release.get('partner'))}: {output.clean(release.get('state'))} "
        f"({output.clean(release.get('outcome'))}), seq {output.clean(release.get('seq'))}"
    )
    return 0


def release_refuse(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        release = client.refuse_release(args.report, args.partner, opt(args, "note"))
    if opt(args, "json"):
        emit_json(release)
        return 0
    emit(
        f"refused the release of {output.clean(release.get('report_id'))} to "
        f"{output.clean(release.get('partner'))}: {output.clean(release.get('state'))}"
    )
    return 0
