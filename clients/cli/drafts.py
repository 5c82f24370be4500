"""``liaison report import`` and ``liaison draft list|show|submit|discard``: bundles from other
platforms (OpenCTI and MISP exports, plain STIX files, what a platform posted over TAXII),
normalised by the node and waiting for an officer.

``report import FILE --to SY`` sends the file to the node, which normalises it into a draft and
lists every change it made (markings mapped to TLP 2.0, MISP person fields made structured) and
every object that has no marking. The officer confirms the changes at the prompt (or with
``--yes``) and names a marking for unmarked objects with ``--mark-unmarked``; only then is the
draft submitted, as any report is. Without confirmation the draft stays, to submit later with
``liaison draft submit ID --to SY``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from clients import output
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
from clients.errors import UsageError

LEVELS = ("clear", "green", "amber", "amber+strict", "red")


def _submit_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="PARTNER",
        help="partner node id (repeat, or comma-separate)",
    )
    flag(
        cmd,
        "--mark-unmarked",
        choices=LEVELS,
        type=str.lower,
        metavar="TLP",
        help="the TLP level to give objects that carry no marking (your explicit choice)",
    )
    flag(
        cmd,
        "--yes",
        action="store_true",
        help="confirm the import's changes without asking (they are still printed)",
    )


def register_import(report_cmds: Subcommands, shared: SharedOptions) -> None:
    """Add ``report import`` to the ``report`` group."""
    cmd = add_command(
        report_cmds,
        "import",
        report_import,
        (shared.url, shared.json),
        help="import an OpenCTI/MISP export or a STIX file, confirm, submit",
    )
    cmd.add_argument("file", metavar="FILE", help="the bundle or envelope, or - for stdin")
    _submit_options(cmd)


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``draft`` and its actions to ``top``."""
    draft = top.add_parser("draft", help="imported bundles waiting for an officer")
    cmds = draft.add_subparsers(dest="draft_command", required=True, metavar="ACTION")
    listing = add_command(
        cmds,
        "list",
        draft_list,
        (shared.url, shared.json),
        help="open drafts (or --state submitted|discarded)",
    )
    flag(listing, "--state", choices=("open", "submitted", "discarded"))
    show = add_command(
        cmds,
        "show",
        draft_show,
        (shared.url, shared.json),
        help="one draft: the import's changes and what is unmarked",
    )
    show.add_argument("id", metavar="ID")
    flag(show, "--bundle", action="store_true", help="print only the normalised bundle")
    submit = add_command(
        cmds,
        "submit",
        draft_submit,
        (shared.url, shared.json),
        help="submit a draft as your report",
    )
    submit.add_argument("id", metavar="ID")
    _submit_options(submit)
    discard = add_command(
        cmds,
        "discard",
        draft_discard,
        (shared.url, shared.json),
        help="close a draft without submitting it",
    )
    discard.add_argument("id", metavar="ID")


def _partners(args: argparse.Namespace) -> list[str]:
    to = [p.strip() for value in args.to for p in value.split(",") if p.strip()]
    if not to:
        raise UsageError("name at least one partner with --to")
    return to


def _print_draft(draft: dict[str, Any]) -> None:
    emit(
        f"draft {draft['id']}: {output.clean(draft.get('title'), width=TITLE_WIDTH)} "
        f"({draft.get('source_format')}, {draft.get('object_count')} objects, "
        f"{draft.get('tlp') or 'no marking'}) from {output.clean(draft.get('origin'))}"
    )
    changes = draft.get("changes") or []
    emit(f"the import changed {len(changes)} things:" if changes else "the import changed nothing")
    for change in changes:
        emit(f"  - {output.clean(change.get('detail'))}")
    unmarked = draft.get("unmarked") or []
    if unmarked:
        emit(
            f"{len(unmarked)} objects carry no TLP marking (they are never marked silently: "
            "name one with --mark-unmarked):"
        )
        for object_id in unmarked[:20]:
            emit(f"  - {output.clean(object_id)}")
        if len(unmarked) > 20:
            emit(f"  ... and {len(unmarked) - 20} more")


def _confirmed(args: argparse.Namespace, draft: dict[str, Any]) -> bool:
    if not draft.get("changes") or opt(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        return False
    answer = input("Submit with these changes? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _submit(args: argparse.Namespace, ctx: Context, draft: dict[str, Any]) -> int:
    draft_id = draft["id"]
    if draft.get("unmarked") and not opt(args, "mark_unmarked"):
        print(
            f"liaison: not submitted: draft {draft_id} is kept; submit it with "
            f"liaison draft submit {draft_id} --to {','.join(_partners(args))} "
            "--mark-unmarked TLP",
            file=sys.stderr,
        )
        return 1
    if not _confirmed(args, draft):
        print(
            f"liaison: not submitted (changes not confirmed): draft {draft_id} is kept; "
            f"submit it with liaison draft submit {draft_id} --to "
            f"{','.join(_partners(args))} --yes",
            file=sys.stderr,
        )
        return 1
    with ctx.client(node_url(args)) as client:
        report = client.submit_draft(
            draft_id,
            _partners(args),
            mark_unmarked=opt(args, "mark_unmarked"),
            confirm_changes=True,
        )
    if opt(args, "json"):
        emit_json(report)
        return 0
    deliveries = " ".join(f"{d.get('partner')}:{d.get('state')}" for d in report["deliveries"])
    emit(
        f"submitted {report['id']}: {output.clean(report.get('title'), width=TITLE_WIDTH)} "
        f"({report.get('tlp')}, {report.get('object_count')} objects) -> "
        f"{output.clean(deliveries) or '-'}"
    )
    for warning in report.get("warnings", []):
        print(f"warning: {output.clean(warning)}", file=sys.stderr)
    return 0


def report_import(args: argparse.Namespace, ctx: Context) -> int:
    """Import FILE as a draft, show what the import changed, and submit it once confirmed."""
    _partners(args)  # a usage error before anything is sent
    data = read_input(args.file)
    with ctx.client(node_url(args)) as client:
        draft = client.import_draft(data)
    if not opt(args, "json"):
        _print_draft(draft)
    return _submit(args, ctx, draft)


def draft_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        listed = client.list_drafts(state=opt(args, "state", "open"))
    if opt(args, "json"):
        emit_json(listed)
        return 0
    rows = [
        (
            d["id"],
            output.clean(d.get("title"), width=TITLE_WIDTH),
            d.get("tlp") or "-",
            d.get("object_count"),
            d.get("unmarked_count"),
            output.clean(d.get("origin")),
            output.when(d.get("created_at")),
        )
        for d in listed
    ]
    header = ("ID", "TITLE", "TLP", "OBJECTS", "UNMARKED", "FROM", "CREATED")
    emit(output.table(header, rows))
    return 0


def draft_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        if opt(args, "bundle", False):
            emit_json(client.get_draft_bundle(args.id))
            return 0
        draft = client.get_draft(args.id)
    if opt(args, "json"):
        emit_json(draft)
    else:
        _print_draft(draft)
    return 0


def draft_submit(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        draft = client.get_draft(args.id)
    if not opt(args, "json"):
        _print_draft(draft)
    return _submit(args, ctx, draft)


def draft_discard(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        closed = client.discard_draft(args.id)
    if opt(args, "json"):
        emit_json(closed)
    else:
        emit(f"discarded draft {closed['id']}")
    return 0
