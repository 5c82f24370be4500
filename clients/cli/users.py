"""``liaison user add|list``: the node's users.

``user add`` acts on a data dir when one is given (the first administrator has nobody to log in
as), through :mod:`clients.local`, else over HTTP as a logged-in admin; ``user list`` is HTTP only.
"""

from __future__ import annotations

import argparse

from clients import output
from clients.cli.choices import CLEARANCES, ROLES
from clients.cli.common import (
    Context,
    SharedOptions,
    Subcommands,
    add_command,
    emit,
    emit_json,
    flag,
    kdf_memory_kib,
    local_data_dir,
    node_url,
    opt,
    read_passphrase,
)
from clients.passwords import PASSWORD_ENV, read_secret


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``user`` and its actions to ``top``."""
    user = top.add_parser("user", help="add or list users")
    cmds = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add_cmd = add_command(
        cmds,
        "add",
        user_add,
        (shared.url, shared.data_dir, shared.password, shared.passphrase, shared.kdf, shared.json),
        help="add a user (locally with --data-dir, else as a logged-in admin)",
    )
    add_cmd.add_argument("username", metavar="NAME")
    add_cmd.add_argument("--role", required=True, choices=ROLES)
    flag(
        add_cmd,
        "--clearance",
        choices=CLEARANCES,
        type=str.lower,
        help="the highest TLP an officer or releaser reads (default amber+strict)",
    )
    add_command(cmds, "list", user_list, (shared.url, shared.json), help="list users (admin)")


def user_add(args: argparse.Namespace, ctx: Context) -> int:
    """Add a user; reads the *new user's* password (twice at a terminal)."""
    data_dir = local_data_dir(args, "url")
    # With both secrets on stdin, the passphrase is the first line and the password the second.
    passphrase = read_passphrase(args) if data_dir is not None else ""
    password = read_secret(
        "password",
        from_stdin=opt(args, "password_stdin", False),
        env_var=PASSWORD_ENV,
        prompt=f"Password for the new user {args.username}",
        confirm=True,
    )
    if data_dir is not None:
        from clients import local

        user = local.add_user(
            data_dir,
            username=args.username,
            role=args.role,
            password=password,
            passphrase=passphrase,
            kdf_memory_kib=kdf_memory_kib(args),
            clearance=opt(args, "clearance"),
        )
    else:
        with ctx.client(node_url(args)) as client:
            user = client.add_user(args.username, args.role, password, opt(args, "clearance"))
    if opt(args, "json"):
        emit_json(user)
    elif user.get("clearance"):
        emit(f"added user {user['username']} ({user['role']}, clearance {user['clearance']})")
    else:
        emit(f"added user {user['username']} ({user['role']})")
    return 0


def user_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        users = client.list_users()
    if opt(args, "json"):
        emit_json(users)
        return 0
    rows = [
        (
            u["username"],
            u["role"],
            u.get("clearance"),
            "yes" if u.get("disabled") else "no",
            output.when(u.get("created_at")),
        )
        for u in users
    ]
    emit(output.table(("USERNAME", "ROLE", "CLEARANCE", "DISABLED", "CREATED"), rows))
    return 0
