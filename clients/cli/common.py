"""What the ``liaison`` command groups share: the context, reading options, output, parser parts.

Each group (:mod:`clients.cli.reports`, :mod:`clients.cli.audit`, ...) registers its subcommands
with :func:`add_command` and writes handlers of the shape :data:`Handler`: a handler takes the
parsed arguments and a :class:`Context`, prints its result to stdout (a table or ``Label: value``
lines by default, the API's JSON with ``--json``) and returns an exit code, or raises a
:mod:`clients.errors` exception that :func:`clients.cli.main` turns into one.

Options that a subcommand shares with its parent are added with :func:`flag` (default
suppressed) and read with :func:`opt`, so that a subcommand never overwrites what was given to
its parent (``liaison inbox --json list``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import httpx

from clients import output, tokens
from clients.errors import ApiError, UsageError
from clients.passwords import PASSPHRASE_ENV, read_secret
from clients.sdk import LiaisonClient, check_url

URL_ENV = "LIAISON_URL"
DATA_DIR_ENV = "LIAISON_DATA_DIR"
KDF_ENV = "LIAISON_KDF_MEMORY_KIB"
TITLE_WIDTH = 60
"""Report titles are cut to this many characters in tables and summary lines."""


@dataclass(frozen=True)
class Context:
    """What a command needs besides its arguments; ``transport`` is injected by tests."""

    transport: httpx.BaseTransport | None = None

    @contextmanager
    def client(self, url: str, *, logged_in: bool = True) -> Iterator[LiaisonClient]:
        """A client of the node at ``url``, with the token ``liaison login`` stored for it
        unless ``logged_in`` is false (its requests raise NotLoggedIn when there is none).

        Raises:
            NotLoggedIn: the token file is accessible by others.
        """
        token = tokens.load_token(url) if logged_in else None
        with LiaisonClient(url, token, transport=self.transport) as client:
            yield client


Handler: TypeAlias = Callable[[argparse.Namespace, Context], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


# -- reading the arguments -----------------------------------------------------------------------


def opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option whose default is suppressed (so a subcommand never overwrites its parent's)."""
    return getattr(args, name, default)


def node_url(args: argparse.Namespace, attr: str = "url") -> str:
    """The node's URL from the ``attr`` option, else ``$LIAISON_URL``.

    Raises:
        UsageError: neither is set, or the URL is not an http(s) URL.
    """
    url = opt(args, attr) or os.environ.get(URL_ENV)
    if not url:
        flag = "--" + attr.replace("_", "-")
        raise UsageError(f"no node URL: give {flag} or set {URL_ENV}")
    return check_url(url)


def read_input(file: str) -> bytes:
    """The bytes of a ``FILE`` argument, or of stdin when it is ``-``.

    Raises:
        OSError: the file cannot be read.
    """
    return sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()


def read_passphrase(args: argparse.Namespace) -> str:
    """The key file's passphrase: ``--passphrase-stdin``, ``$LIAISON_PASSPHRASE`` or a prompt.

    Raises:
        UsageError: none of them can give one (no terminal to ask on).
    """
    return read_secret(
        "passphrase",
        from_stdin=opt(args, "passphrase_stdin", False),
        env_var=PASSPHRASE_ENV,
        prompt="Key file passphrase",
    )


def kdf_memory_kib(args: argparse.Namespace) -> int | None:
    """The tests' cheap Argon2id memory cost (``--kdf-memory-kib`` or ``$LIAISON_KDF_MEMORY_KIB``);
    None, the production cost, when neither is set.

    Raises:
        UsageError: the environment variable is not an integer.
    """
    value = opt(args, "kdf_memory_kib") or os.environ.get(KDF_ENV)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise UsageError(f"{KDF_ENV} must be an integer") from exc


def require_data_dir(args: argparse.Namespace) -> Path:
    """The node's data dir from ``--data-dir``, else ``$LIAISON_DATA_DIR``.

    Raises:
        UsageError: neither is set.
    """
    value = opt(args, "data_dir") or os.environ.get(DATA_DIR_ENV)
    if not value:
        raise UsageError(f"no data dir: give --data-dir or set {DATA_DIR_ENV}")
    return Path(value)


def local_data_dir(args: argparse.Namespace, url_attr: str) -> Path | None:
    """The data dir when the command should act locally; None to go over HTTP.

    An explicit ``--data-dir`` or URL option (``url_attr``) wins over the environment.

    Raises:
        UsageError: both options are given.
    """
    flag, url = opt(args, "data_dir"), opt(args, url_attr)
    if flag and url:
        raise UsageError(f"give either --data-dir or --{url_attr.replace('_', '-')}, not both")
    if flag:
        return Path(flag)
    if url:
        return None
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else None


# -- output --------------------------------------------------------------------------------------


def emit(text: str) -> None:
    """One result line (or several) on stdout."""
    print(text)


def emit_json(value: Any) -> None:
    """The API's JSON on stdout: pretty, keys sorted, safe for a terminal."""
    print(output.dumps_json(value))


def warn(text: str) -> None:
    """``warning: TEXT`` on stderr, cleaned of terminal controls."""
    print(f"warning: {output.clean(text)}", file=sys.stderr)


def decision_lines(exc: ApiError) -> list[str]:
    """The decision records behind a refusal, one line each: ``SY: deny by rule R: reason
    (policy V)`` for sharing decisions, ``rule access.clearance: reason`` for a refused read."""
    lines = []
    for d in exc.decisions():
        line = f"{output.clean(d['partner'])}: " if d.get("partner") else ""
        line += f"{output.clean(d['outcome'])} by rule " if d.get("outcome") else "rule "
        line += f"{output.clean(d.get('rule'))}: {output.clean(d.get('reason'))}"
        if d.get("policy_version"):
            line += f" (policy {_short_version(d['policy_version'])})"
        lines.append(line)
    return lines


def _short_version(version: object) -> str:
    """A policy version (``sha256:<64 hex>``) cut to 12 hex digits for human output."""
    text = output.clean(version)
    algorithm, _, digest = text.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest and len(digest) > 12 else text


# -- building the parser -------------------------------------------------------------------------


def flag(parser: argparse._ActionsContainer, *names: str, **kwargs: Any) -> None:
    """``parser.add_argument`` with the default suppressed: read the value with :func:`opt`."""
    # SUPPRESS: a subcommand's default must not overwrite the same option given to its parent.
    parser.add_argument(*names, default=argparse.SUPPRESS, **kwargs)


def natural(text: str) -> int:
    """An argparse type: an integer 0 or above, in decimal digits."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number 0 or above")
    return int(text)


def positive(text: str) -> int:
    """An argparse type: an integer 1 or above, in decimal digits."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number 1 or above")
    return int(text)


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


@dataclass(frozen=True)
class SharedOptions:
    """The option sets that commands of several groups take, as argparse parent parsers.

    Built once per :func:`clients.cli.build_parser`; a group passes the ones a command takes to
    :func:`add_command`, in the order its help lists them.
    """

    url: argparse.ArgumentParser
    json: argparse.ArgumentParser
    page: argparse.ArgumentParser
    password: argparse.ArgumentParser
    passphrase: argparse.ArgumentParser
    data_dir: argparse.ArgumentParser
    kdf: argparse.ArgumentParser
    note: argparse.ArgumentParser

    @classmethod
    def build(cls) -> SharedOptions:
        url, js, page, pw, pp, dd, kdf, note = (_parent() for _ in range(8))
        flag(url, "--url", metavar="URL", help="the node's URL (default: $LIAISON_URL)")
        flag(js, "--json", action="store_true", help="print the API's JSON")
        flag(page, "--limit", type=int, metavar="N", help="at most N rows (default 100)")
        flag(page, "--offset", type=int, metavar="N", help="skip the first N rows")
        flag(pw, "--password-stdin", action="store_true", help="read the password from stdin")
        flag(pp, "--passphrase-stdin", action="store_true", help="read the passphrase from stdin")
        flag(dd, "--data-dir", metavar="DIR", help="the node's data dir ($LIAISON_DATA_DIR)")
        flag(kdf, "--kdf-memory-kib", type=int, help=argparse.SUPPRESS)  # tests only
        flag(note, "--note", metavar="TEXT", help="why, for the audit log")
        return cls(
            url=url, json=js, page=page, password=pw, passphrase=pp, data_dir=dd, kdf=kdf,
            note=note,
        )  # fmt: skip


def add_command(
    group: Subcommands,
    name: str,
    handler: Handler,
    parents: Sequence[argparse.ArgumentParser] = (),
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` to ``group``, run by ``handler``, taking the ``parents``' options
    (then its own, added to the parser returned). ``kwargs`` go to ``add_parser`` (``help``)."""
    sub = group.add_parser(name, parents=list(parents), **kwargs)
    sub.set_defaults(handler=handler)
    return sub
