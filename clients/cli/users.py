"""``liaison user add|list|disable|enable|passwd|set-role|set-clearance``: the node's users.

``user add`` acts on a data dir when one is given (the first administrator has nobody to log in
as), through :mod:`clients.local`, else over HTTP as a logged-in admin; the others are HTTP only,
as a logged-in admin. ``disable``, ``passwd`` and ``set-role`` end every token and console
session of the user at once.
"""

from __future__ import annotations

import argparse
from typing import Any

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
    user = top.add_parser("user", help="add, list, disable, enable or change users")
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
    for name, handler, text in (
        ("disable", user_disable, "disable a user: their tokens and console sessions end now"),
        ("enable", user_enable, "enable a disabled user again"),
    ):
        cmd = add_command(cmds, name, handler, (shared.url, shared.json), help=text)
        cmd.add_argument("username", metavar="NAME")
    passwd = add_command(
        cmds,
        "passwd",
        user_passwd,
        (shared.url, shared.password, shared.json),
        help="set a user's password: their tokens and console sessions end now",
    )
    passwd.add_argument("username", metavar="NAME")
    role = add_command(
        cmds,
        "set-role",
        user_set_role,
        (shared.url, shared.json),
        help="change a user's role: their tokens and console sessions end now",
    )
    role.add_argument("username", metavar="NAME")
    role.add_argument("role", metavar="ROLE", choices=ROLES)
    clearance = add_command(
        cmds,
        "set-clearance",
        user_set_clearance,
        (shared.url, shared.json),
        help="change the highest TLP an officer or releaser reads",
    )
    clearance.add_argument("username", metavar="NAME")
    clearance.add_argument("clearance", metavar="TLP", choices=CLEARANCES, type=str.lower)


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


def _changed(args: argparse.Namespace, user: dict[str, Any], what: str) -> int:
    if opt(args, "json"):
        emit_json(user)
    else:
        emit(f"{what} {user['username']} ({user['role']}"
             + (f", clearance {user['clearance']}" if user.get("clearance") else "")
             + (", disabled" if user.get("disabled") else "") + ")")  # fmt: skip
    return 0


def user_disable(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        user = client.disable_user(args.username)
    return _changed(args, user, "disabled; every token and console session ended:")


def user_enable(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        user = client.enable_user(args.username)
    return _changed(args, user, "enabled")


def user_passwd(args: argparse.Namespace, ctx: Context) -> int:
    """Set a user's password; reads the *new* password (twice at a terminal)."""
    password = read_secret(
        "password",
        from_stdin=opt(args, "password_stdin", False),
        env_var=PASSWORD_ENV,
        prompt=f"New password for {args.username}",
        confirm=True,
    )
    with ctx.client(node_url(args)) as client:
        user = client.set_password(args.username, password)
    return _changed(args, user, "password set; every token and console session ended:")


def user_set_role(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        user = client.set_role(args.username, args.role)
    return _changed(args, user, "role changed; every token and console session ended:")


def user_set_clearance(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        user = client.set_clearance(args.username, args.clearance)
    return _changed(args, user, "clearance changed:")
