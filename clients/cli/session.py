"""``liaison login`` and ``liaison logout``: the token kept per node URL (:mod:`clients.tokens`).

The username comes from the argument, ``--user`` or ``$LIAISON_USER``; the password from
``--password-stdin``, ``$LIAISON_PASSWORD`` or a prompt at a terminal.
"""

from __future__ import annotations

import argparse

from clients import tokens
from clients.cli.common import Context, SharedOptions, Subcommands, add_command, emit, node_url, opt
from clients.passwords import PASSWORD_ENV, read_secret, read_username


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``login`` and ``logout`` to ``top``."""
    log_in = add_command(
        top, "login", login, (shared.url, shared.password), help="log in and keep the token"
    )
    log_in.add_argument("username", nargs="?", metavar="USERNAME")
    log_in.add_argument("--user", help="the username ($LIAISON_USER)")
    add_command(top, "logout", logout, (shared.url,), help="forget the stored token")


def login(args: argparse.Namespace, ctx: Context) -> int:
    """Authenticate and store the token (mode 0600) for this node's URL."""
    url = node_url(args)
    username = read_username(opt(args, "username") or opt(args, "user"))
    password = read_secret(
        "password",
        from_stdin=opt(args, "password_stdin", False),
        env_var=PASSWORD_ENV,
        prompt=f"Password for {username}",
    )
    with ctx.client(url, logged_in=False) as client:
        answer = client.authenticate(username, password)
    path = tokens.save_token(
        url,
        answer["access_token"],
        username=username,
        role=str(answer.get("role", "")),
        expires_in=int(answer.get("expires_in", 0)),
    )
    minutes = int(answer.get("expires_in", 0)) // 60
    emit(
        f"logged in to {url} as {username} ({answer.get('role')}) for {minutes} min; "
        f"token in {path}"
    )
    return 0


def logout(args: argparse.Namespace, ctx: Context) -> int:
    """Delete the stored token for this node's URL (nothing is sent to the node)."""
    url = node_url(args)
    emit("logged out" if tokens.delete_token(url) else "no stored token for this node")
    return 0
