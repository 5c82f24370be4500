"""Reading passwords, passphrases and usernames without ever blocking a script.

Order for a secret: the ``--<kind>-stdin`` flag (one line read from standard input), then the
environment variable, then a prompt through :mod:`getpass` only if standard input is a terminal;
otherwise :class:`UsageError`. When a command reads two secrets from stdin (a key-file passphrase
and a new user's password, or the key file's new passphrase) the passphrase is the first line and
the other the second.
"""

from __future__ import annotations

import getpass
import os
import sys

from clients.errors import UsageError

PASSWORD_ENV = "LIAISON_PASSWORD"  # noqa: S105 - variable names, not secrets
PASSPHRASE_ENV = "LIAISON_PASSPHRASE"  # noqa: S105
NEW_PASSPHRASE_ENV = "LIAISON_NEW_PASSPHRASE"  # noqa: S105
USER_ENV = "LIAISON_USER"


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stdin
        return False


def read_secret(
    kind: str, *, from_stdin: bool, env_var: str, prompt: str, confirm: bool = False
) -> str:
    """A password (``kind="password"``) or passphrase, by the order in the module docstring.

    Raises:
        UsageError: nothing given and no terminal, an empty secret, or confirmation differs.
    """
    if from_stdin:
        line = sys.stdin.readline()
        value = line.rstrip("\r\n")
        if not value:
            raise UsageError(f"--{kind}-stdin was given but no {kind} was read from stdin")
        return value
    value = os.environ.get(env_var, "")
    if value:
        return value
    if not _interactive():
        raise UsageError(
            f"no {kind} given: use --{kind}-stdin or set {env_var} (stdin is not a terminal)"
        )
    try:
        value = getpass.getpass(f"{prompt}: ")
        if value and confirm and getpass.getpass(f"{prompt} (again): ") != value:
            raise UsageError(f"the two {kind}s differ")
    except EOFError as exc:
        raise UsageError(f"no {kind} given") from exc
    if not value:
        raise UsageError(f"an empty {kind} is not allowed")
    return value


def read_username(given: str | None) -> str:
    """The username: ``given`` (positional or ``--user``), ``$LIAISON_USER``, or a prompt.

    Raises:
        UsageError: none given and no terminal.
    """
    value = given or os.environ.get(USER_ENV, "")
    if value:
        return value
    if not _interactive():
        raise UsageError(f"no username given: pass it as an argument or set {USER_ENV}")
    try:
        value = input("Username: ").strip()
    except EOFError as exc:
        raise UsageError("no username given") from exc
    if not value:
        raise UsageError("no username given")
    return value
