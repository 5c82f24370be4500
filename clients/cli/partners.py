"""``liaison partner add|list|status|suspend|resume|damage|repin|remove``: the partner nodes this
node exchanges with.

``partner add`` fetches the partner's key document and pins it if it matches the fingerprint its
admins read out: on a data dir through :mod:`clients.local` when one is given, else over HTTP as
a logged-in admin (there ``--url`` is the partner's, so this node's URL is ``--node-url``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from clients import output
from clients.cli.common import (
    Context,
    SharedOptions,
    Subcommands,
    add_command,
    emit,
    emit_json,
    flag,
    local_data_dir,
    node_url,
    opt,
    read_passphrase,
)
from clients.errors import UsageError


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``partner`` and its actions to ``top``."""
    partner = top.add_parser("partner", help="pin or list partner nodes")
    cmds = partner.add_subparsers(dest="partner_command", required=True, metavar="ACTION")
    add_cmd = add_command(
        cmds,
        "add",
        partner_add,
        (shared.data_dir, shared.passphrase, shared.json),
        help="fetch a partner's key document and pin it if the fingerprint matches",
    )
    add_cmd.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    add_cmd.add_argument("--url", required=True, help="the partner's URL")
    add_cmd.add_argument("--fingerprint", required=True, help="as read out by its admins")
    add_cmd.add_argument("--display-name", default="", help="e.g. Damascus")
    flag(add_cmd, "--node-url", metavar="URL", help="this node's URL ($LIAISON_URL)")
    add_command(cmds, "list", partner_list, (shared.url, shared.json), help="list partners (admin)")
    status = add_command(
        cmds,
        "status",
        partner_status,
        (shared.url, shared.json),
        help="backlog, oldest undelivered, last success and last error (admin)",
    )
    status.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    suspend = add_command(
        cmds,
        "suspend",
        partner_suspend,
        (shared.url, shared.json),
        help="stop trusting a partner's keys: send it nothing, accept nothing it signs (admin)",
    )
    suspend.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    flag(
        suspend,
        "--compromised-since",
        metavar="TIME",
        help="when its keys may first have been in other hands (e.g. 2026-12-01T08:00Z): what "
        "it signed from then on goes back to quarantine",
    )
    flag(suspend, "--reason", help="why, for the audit log")
    damage = add_command(
        cmds,
        "damage",
        partner_damage,
        (shared.url, shared.json),
        help="what a partner's keys, copied at --since, could expose or forge (admin)",
    )
    damage.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    damage.add_argument("--since", required=True, metavar="TIME", help="e.g. 2026-12-01T08:00Z")
    resume = add_command(
        cmds,
        "resume",
        partner_resume,
        (shared.url, shared.json),
        help="end a suspension: the held deliveries go out (admin)",
    )
    resume.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    repin = add_command(
        cmds,
        "repin",
        partner_repin,
        (shared.url, shared.json),
        help="pin a partner's new signing identity, checked against the fingerprint its admins "
        "read out (admin)",
    )
    repin.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    repin.add_argument("--fingerprint", required=True, help="its new fingerprint, as read out")
    flag(repin, "--partner-url", metavar="URL",
         help="where it serves its new key document (default: the URL pinned now)")  # fmt: skip
    remove = add_command(
        cmds,
        "remove",
        partner_remove,
        (shared.url, shared.json),
        help="end the partnership: undelivered reports withdrawn, records kept (admin)",
    )
    remove.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    remove.add_argument("--yes", action="store_true", help="confirm: nothing more goes to it")


def partner_add(args: argparse.Namespace, ctx: Context) -> int:
    """Pin a partner; locally, warn on stderr when the node has no sharing policy for it."""
    data_dir = local_data_dir(args, "node_url")
    if data_dir is not None:
        from clients import local

        partner = local.add_partner(
            data_dir,
            node_id=args.node_id,
            url=args.url,
            fingerprint=args.fingerprint,
            name=args.display_name,
            passphrase=read_passphrase(args),
            transport=ctx.transport,
        )
        missing = local.missing_policy(data_dir, partner["node_id"])
    else:
        # Over HTTP the node's policies dir is not known here; policy check tells.
        missing = None
        with ctx.client(node_url(args, "node_url")) as client:
            partner = client.add_partner(
                args.node_id, args.url, args.fingerprint, args.display_name
            )
    if opt(args, "json"):
        emit_json(partner)
    else:
        emit(
            f"pinned partner {partner['node_id']} at {output.clean(partner.get('endpoint'))}, "
            f"fingerprint {partner.get('fingerprint')}"
        )
    if missing is not None:
        print(
            f"warning: no sharing policy for {output.clean(partner['node_id'])} "
            f"(expected {output.clean(missing)}): nothing will be released to it and everything "
            "from it will be quarantined; write one, then restart liaison serve",
            file=sys.stderr,
        )
    return 0


def partner_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        partners = client.list_partners()
    if opt(args, "json"):
        emit_json(partners)
        return 0
    rows = [
        (
            p["node_id"],
            p.get("name"),
            p.get("endpoint"),
            p.get("key_serial"),
            output.when(p.get("added_at")),
            _state(p),
            p.get("fingerprint"),
        )
        for p in partners
    ]
    header = ("NODE", "NAME", "URL", "KEY SERIAL", "ADDED", "STATE", "FINGERPRINT")
    emit(output.table(header, rows))
    return 0


def _state(partner: dict[str, Any]) -> str:
    if partner.get("removed_at"):
        return "removed " + output.when(partner["removed_at"])
    if partner.get("suspended_at"):
        return "suspended " + output.when(partner["suspended_at"])
    return "active"


def partner_suspend(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        done = client.suspend_partner(
            args.node_id,
            compromised_since=opt(args, "compromised_since"),
            reason=opt(args, "reason", ""),
        )
    if opt(args, "json"):
        emit_json(done)
        return 0
    emit(
        f"suspended {output.clean(done['partner']['node_id'])}: nothing is sealed or sent to it "
        f"and nothing it signs is accepted; {done['held']} deliveries held, "
        f"{len(done['quarantined'])} received reports back to quarantine"
    )
    return 0


def _by_tlp(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {output.clean(tlp)}" for tlp, n in sorted(counts.items())) or "none"


def partner_damage(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        report = client.partner_damage(args.node_id, args.since)
    if opt(args, "json"):
        emit_json(report)
        return 0
    who = output.clean(report["partner"])
    emit(f"if {who}'s keys were copied at {output.clean(report['since'])}:")
    emit(
        f"  sealed to them since then (readable with the copy): "
        f"{_by_tlp(report['sealed_after_by_tlp'])}"
    )
    emit(
        f"  sealed to them before (readable if their key was in the copy): "
        f"{_by_tlp(report['sealed_before_by_tlp'])}"
    )
    emit(f"  received from {who} since then (could be forged): {_by_tlp(report['signed_by_tlp'])}")
    rows = [(i["report_id"], i.get("seq"), i["tlp"], i["state"], i["recipient_key"],
             output.when(i["sealed_at"]), "after" if i["after_since"] else "before")
            for i in report["sealed"]]  # fmt: skip
    if rows:
        emit(output.table(("REPORT", "SEQ", "TLP", "STATE", "SEALED TO", "SEALED", ""), rows))
    received = [(i["inbound_id"], i["seq"], i["tlp"], i["status"], i["sender_key"],
                 output.when(i["received_at"]),
                 "distrusted: never re-sent" if i.get("distrusted") else "")
                for i in report["signed"]]  # fmt: skip
    if received:
        emit(output.table(("RECEIVED", "SEQ", "TLP", "STATUS", "SIGNED BY", "AT", ""), received))
        forged = sum(1 for i in report["signed"] if i.get("distrusted"))
        if forged:
            emit(f"  {forged} of them were signed by the old keys and never sent again by "
                 f"{who} under its new ones: treat them as forged")  # fmt: skip
    return 0


def partner_resume(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        done = client.resume_partner(args.node_id)
    if opt(args, "json"):
        emit_json(done)
        return 0
    emit(
        f"resumed {output.clean(done['partner']['node_id'])}: {done['held']} held deliveries go out"
    )
    return 0


def partner_repin(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        url = opt(args, "partner_url")
        if url is None:
            pinned = {p["node_id"]: p for p in client.list_partners()}
            if args.node_id not in pinned:
                raise UsageError(f"no partner {args.node_id!r} is pinned on this node")
            url = pinned[args.node_id]["endpoint"]
        done = client.repin_partner(args.node_id, url, args.fingerprint)
    if opt(args, "json"):
        emit_json(done)
        return 0
    partner = done["partner"]
    who = output.clean(partner["node_id"])
    before, now = output.clean(done["previous_fingerprint"]), output.clean(partner["fingerprint"])
    emit(f"re-pinned {who}: fingerprint {before} replaced by {now} (key document serial "
         f"{partner['key_serial']})")  # fmt: skip
    if done["distrusted"]:
        emit(f"{len(done['distrusted'])} reports signed by the old keys since the compromise "
             "are distrusted (they stay in quarantine; what the partner sends again under its "
             "new keys is trusted again)")  # fmt: skip
    emit(f"{done['to_reseal']} undelivered envelopes are sealed again to its new keys")
    if partner.get("suspended_at"):
        emit(f"{who} is still suspended: liaison partner resume {who} once it is back")
    return 0


def partner_remove(args: argparse.Namespace, ctx: Context) -> int:
    if not args.yes:
        raise UsageError(f"removing {args.node_id} withdraws every report not yet delivered to "
                         "it and sends it nothing more: add --yes to confirm")  # fmt: skip
    with ctx.client(node_url(args)) as client:
        done = client.remove_partner(args.node_id)
    if opt(args, "json"):
        emit_json(done)
        return 0
    who = output.clean(done["partner"]["node_id"])
    emit(f"removed {who}: {done['withdrawn']} undelivered deliveries withdrawn; its received "
         "reports, receipts and audit records are kept")  # fmt: skip
    return 0


def partner_status(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        status = client.partner_status(args.node_id)
    if opt(args, "json"):
        emit_json(status)
        return 0
    states = ", ".join(f"{k} {v}" for k, v in sorted(status["by_state"].items())) or "none"
    emit(
        output.fields(
            [
                ("Partner", status["partner"]),
                ("Outbound backlog", f"{status['backlog']} undelivered ({states})"),
                ("Oldest undelivered", output.when(status.get("oldest_undelivered_at"))),
                ("Next attempt", output.when(status.get("next_attempt_at"))),
                ("Last success", output.when(status.get("last_success_at"))),
                ("Last error", output.clean(status.get("last_error"))),
                ("Next sequence number", status["next_seq"]),
                (
                    "Received",
                    f"{status['received']} reports, all up to seq {status['received_through']}",
                ),
                (
                    "Missing",
                    f"{status['missing_below_highest']} below seq {status['highest_seq_received']}",
                ),
                ("Last received", output.when(status.get("last_received_at"))),
                ("Last pull", output.when(status.get("last_pull_at"))),
                ("Last pull error", output.clean(status.get("last_pull_error"))),
            ]
        )
    )
    return 0
