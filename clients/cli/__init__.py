"""The ``liaison`` command line: node administration and the officer's client.

    liaison node init --name IQ --display-name Baghdad --data-dir DIR [--public-url URL]
                      [--policies POLICY_DIR]
    liaison node fingerprint --data-dir DIR          liaison node info --url URL
    liaison user add NAME --role officer|releaser|auditor|admin [--clearance TLP]
                     (--data-dir DIR | --url URL)
    liaison user list
    liaison integration add NAME --partner SY [--read] [--write] --clearance TLP
                            [--collection inbox|sent|drafts] [--label TEXT]
    liaison integration list                          liaison integration revoke NAME
    liaison partner add SY --url PARTNER_URL --fingerprint FP (--data-dir DIR | --node-url URL)
    liaison partner list
    liaison serve --data-dir DIR
    liaison login [USERNAME]                          liaison logout
    liaison report submit FILE|- --to SY              liaison report list
    liaison report show ID [--bundle]                 liaison policy check FILE --partner SY
    liaison report import FILE --to SY [--mark-unmarked TLP] [--yes]
    liaison draft list [--state open|submitted|discarded]
    liaison draft show ID [--bundle]                  liaison draft discard ID
    liaison draft submit ID --to SY [--mark-unmarked TLP] [--yes]
    liaison release list [--state held] [--partner SY]
    liaison release show REPORT --partner SY          (the decision, its steps and the diff)
    liaison release approve|refuse REPORT --partner SY [--note TEXT]
    liaison inbox [list] [--quarantined | --rejected]
    liaison inbox show ID [--bundle]                  liaison inbox accept|reject ID [--note TEXT]
    liaison audit [log] [--actor A] [--action X|X*] [--object ID] [--object-type T]
                  [--outcome O] [--since ISO] [--until ISO] [--after-seq N]
                  [--limit N | --all] [--format table|json|csv]
    liaison audit verify [--fingerprint FP]           (fetches the whole log and verifies it here)
    liaison audit proof SEQ [--size N] [--out FILE]
    liaison audit check-proof FILE [--fingerprint FP]
    liaison audit export --out DIR
    liaison audit verify-export DIR [--fingerprint FP]
    liaison audit alerts | checkpoint                 liaison audit reconcile --partner SY
    liaison courier export --partner SY --out FILE    liaison courier import FILE [--receipts-out F]

Every listing command takes ``--json`` (the API's JSON, pretty, keys sorted). The node URL comes
from ``--url`` or ``LIAISON_URL`` (``partner add`` names the partner with ``--url``, so there the
node is ``--node-url``). Commands on a data dir take ``--data-dir`` or ``LIAISON_DATA_DIR``;
``user add`` and ``partner add`` act locally when a data dir is given, else over HTTP with the
token from ``liaison login``.

Nothing waits for a terminal that is not there: passwords come from ``--password-stdin`` (one
line), else ``LIAISON_PASSWORD``, else a prompt if stdin is a terminal; passphrases likewise from
``--passphrase-stdin`` / ``LIAISON_PASSPHRASE``; ``login``'s username from its argument, ``--user``
or ``LIAISON_USER``. ``user add`` reads the *new user's* password this way.

Exit codes (every failure prints one line ``liaison: <reason>`` to stderr; a 422 adds the
validation messages, one per line):

    0  success
    1  the node refused or failed the request (its problem detail), or a local node error; a
       sharing-policy or access refusal adds each decision (partner, outcome, rule, reason)
    2  usage: bad arguments, no node URL or data dir, no password and no terminal to ask on
    3  authentication: not logged in, token expired or refused, wrong username or password
    4  cannot connect: the node, the partner's URL or the database cannot be reached
  130  interrupted

For tests only: ``--kdf-memory-kib`` (hidden) or ``LIAISON_KDF_MEMORY_KIB`` makes ``node init`` and
a local ``user add`` use a cheap Argon2id cost (that much memory, one pass, one lane). Never set it
on a real node: it weakens the key file and the password hashes.

Each command group is a module of this package that holds both its arguments and its handlers
(:mod:`~clients.cli.node`, ``users``, ``partners``, ``session``, ``reports``, ``policy``,
``releases``, ``inbox``, ``courier``, ``audit``), and what they share is in
:mod:`clients.cli.common`. Commands on a local data dir call :mod:`clients.local`, imported only
when one of them runs: the officer's commands never load the server.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import httpx

from clients.cli import (
    audit,
    courier,
    drafts,
    inbox,
    integrations,
    node,
    partners,
    policy,
    releases,
    reports,
    session,
    users,
)
from clients.cli.choices import CLEARANCES, INBOUND_STATUSES, RELEASE_STATES, ROLES
from clients.cli.common import Context, SharedOptions, decision_lines
from clients.errors import ApiError, ConnectionFailed, LiaisonError, NotLoggedIn, UsageError

__all__ = [
    "CLEARANCES",
    "DEBUG_ENV",
    "EXIT_AUTH",
    "EXIT_CONNECT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "INBOUND_STATUSES",
    "RELEASE_STATES",
    "ROLES",
    "build_parser",
    "main",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_CONNECT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
DEBUG_ENV = "LIAISON_DEBUG"


class _Parser(argparse.ArgumentParser):
    """Reports usage errors as one line (``liaison: report submit: ...``) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("liaison").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The whole ``liaison`` parser: each group adds its commands, in the order ``--help`` lists
    them. A parsed command's ``handler`` is a :data:`clients.cli.common.Handler`.

    Its ``error`` raises :class:`UsageError` rather than exiting; ``--help`` still exits.
    """
    shared = SharedOptions.build()
    parser = _Parser(
        prog="liaison",
        description="Secure bilateral intelligence exchange: node administration and client.",
        epilog="Exit codes: 0 ok, 1 refused by the node, 2 usage, 3 authentication, 4 cannot "
        "connect.",
    )
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups = (node, users, integrations, partners, policy, courier, session, reports, drafts,
              releases, inbox, audit)  # fmt: skip
    for group in groups:
        group.register(top, shared)
    return parser


def _fail(message: str, code: int, details: Sequence[str] = ()) -> int:
    print(f"liaison: {message}", file=sys.stderr)
    for line in details:
        print(f"  {line}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    """Run one command and return its exit code (the console script passes it to ``sys.exit``).

    ``transport`` replaces the network for every HTTP request the command makes (tests).
    It returns for ``--help`` and usage errors too (argparse's SystemExit is caught), and raises
    nothing unless ``LIAISON_DEBUG`` is set and a bug surfaces.
    """
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        return int(args.handler(args, Context(transport=transport)))
    except NotLoggedIn as exc:
        return _fail(str(exc), EXIT_AUTH)
    except ApiError as exc:
        code = EXIT_AUTH if exc.status == 401 else EXIT_FAILED
        return _fail(exc.detail, code, [*exc.errors, *decision_lines(exc)])
    except ConnectionFailed as exc:
        return _fail(str(exc), EXIT_CONNECT)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except LiaisonError as exc:
        return _fail(str(exc), EXIT_FAILED, exc.errors)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get(DEBUG_ENV):
            raise
        return _fail(
            f"internal error: {exc.__class__.__name__}: {exc} (set {DEBUG_ENV}=1 for a traceback)",
            EXIT_FAILED,
        )
