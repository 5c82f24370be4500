"""``liaison integration add|list|revoke``: credentials for the home network's own platforms
(OpenCTI, MISP, any TAXII 2.1 client) on the node's TAXII listener. Admin only, over HTTP.

``integration add`` prints the secret once: the node keeps only its hash.
"""

from __future__ import annotations

import argparse

from clients import output
from clients.cli.common import (
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
from clients.errors import UsageError

TAXII_CLEARANCES = ("clear", "green", "amber", "amber+strict")
COLLECTIONS = ("inbox", "sent", "drafts")


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``integration`` and its actions to ``top``."""
    integration = top.add_parser("integration", help="TAXII credentials for OpenCTI, MISP...")
    cmds = integration.add_subparsers(dest="integration_command", required=True, metavar="ACTION")
    add = add_command(
        cmds,
        "add",
        integration_add,
        (shared.url, shared.json),
        help="create a credential and print its secret once (admin)",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--partner",
        action="append",
        required=True,
        metavar="PARTNER",
        help="a partner whose API root it may use (repeat, or comma-separate)",
    )
    flag(add, "--read", action="store_true", help="read the inbox and sent collections")
    flag(add, "--write", action="store_true", help="post objects to drafts (an officer submits)")
    add.add_argument(
        "--clearance",
        required=True,
        choices=TAXII_CLEARANCES,
        type=str.lower,
        help="the highest TLP it is served (TLP:RED never is)",
    )
    flag(
        add,
        "--collection",
        action="append",
        choices=COLLECTIONS,
        help="limit it to these collections (default: those its rights use)",
    )
    flag(add, "--label", help="what it is, for the list (e.g. 'OpenCTI, CT desk')")
    add_command(
        cmds,
        "list",
        integration_list,
        (shared.url, shared.json),
        help="every credential, revoked ones too (admin)",
    )
    revoke = add_command(
        cmds,
        "revoke",
        integration_revoke,
        (shared.url, shared.json),
        help="revoke a credential at once (admin)",
    )
    revoke.add_argument("name", metavar="NAME")


def integration_add(args: argparse.Namespace, ctx: Context) -> int:
    """Create a credential; prints its secret, which cannot be shown again.

    Raises:
        UsageError: neither --read nor --write.
    """
    read, write = opt(args, "read", False), opt(args, "write", False)
    if not (read or write):
        raise UsageError("give the integration --read, --write or both")
    partners = [p.strip() for value in args.partner for p in value.split(",") if p.strip()]
    with ctx.client(node_url(args)) as client:
        made = client.add_integration(
            args.name,
            partners=partners,
            read=read,
            write=write,
            clearance=args.clearance,
            collections=opt(args, "collection") or [],
            label=opt(args, "label", ""),
        )
    if opt(args, "json"):
        emit_json(made)
        return 0
    rights = "+".join(r for r, on in (("read", made["read"]), ("write", made["write"])) if on)
    emit(
        f"added integration {made['name']} ({rights}; partners {', '.join(made['partners'])}; "
        f"collections {', '.join(made['collections'])}; clearance {made['clearance']})"
    )
    emit(f"secret (shown once; the node keeps only its hash): {made['secret']}")
    emit(
        "connect with HTTP Basic (user name = the integration's name, password = the secret), "
        "'Authorization: Bearer <secret>' or 'X-API-Key: <secret>'"
    )
    return 0


def integration_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        listed = client.list_integrations()
    if opt(args, "json"):
        emit_json(listed)
        return 0
    rows = [
        (
            i["name"],
            "+".join(r for r, on in (("read", i["read"]), ("write", i["write"])) if on),
            ",".join(i["partners"]),
            ",".join(i["collections"]),
            i["clearance"],
            output.when(i.get("revoked_at")) if i.get("revoked_at") else "-",
            output.clean(i.get("label") or "", width=30),
        )
        for i in listed
    ]
    header = ("NAME", "RIGHTS", "PARTNERS", "COLLECTIONS", "CLEARANCE", "REVOKED", "LABEL")
    emit(output.table(header, rows))
    return 0


def integration_revoke(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        revoked = client.revoke_integration(args.name)
    if opt(args, "json"):
        emit_json(revoked)
    else:
        emit(f"revoked integration {revoked['name']}: its next request is refused")
    return 0
