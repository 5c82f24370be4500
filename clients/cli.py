"""The ``liaison`` command line: node administration and the officer's client.

    liaison node init --name IQ --display-name Baghdad --data-dir DIR [--public-url URL]
                      [--policies POLICY_DIR]
    liaison node fingerprint --data-dir DIR          liaison node info --url URL
    liaison user add NAME --role officer|releaser|auditor|admin [--clearance TLP]
                     (--data-dir DIR | --url URL)
    liaison user list
    liaison partner add SY --url PARTNER_URL --fingerprint FP (--data-dir DIR | --node-url URL)
    liaison partner list
    liaison serve --data-dir DIR
    liaison login [USERNAME]                          liaison logout
    liaison report submit FILE|- --to SY              liaison report list
    liaison report show ID [--bundle]                 liaison policy check FILE --partner SY
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
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import httpx

from clients import audit_commands, commands
from clients.errors import ApiError, ConnectionFailed, LiaisonError, NotLoggedIn, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_CONNECT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
ROLES = ("officer", "releaser", "auditor", "admin")
CLEARANCES = ("clear", "green", "amber", "amber+strict", "red")
RELEASE_STATES = ("queued", "sent", "acknowledged", "refused", "held", "withheld")
INBOUND_STATUSES = ("accepted", "quarantined", "rejected")
DEBUG_ENV = "LIAISON_DEBUG"


class _Parser(argparse.ArgumentParser):
    """Reports usage errors as one line (``liaison: report submit: ...``) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("liaison").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see {self.prog} --help)")


def _flag(parser: argparse._ActionsContainer, *names: str, **kwargs: Any) -> None:
    # SUPPRESS: a subcommand's default must not overwrite the same option given to its parent.
    parser.add_argument(*names, default=argparse.SUPPRESS, **kwargs)


def _parents() -> dict[str, argparse.ArgumentParser]:
    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    url, js, page, pw, pp, dd, kdf, status, note = (parent() for _ in range(9))
    _flag(url, "--url", metavar="URL", help="the node's URL (default: $LIAISON_URL)")
    _flag(js, "--json", action="store_true", help="print the API's JSON")
    _flag(page, "--limit", type=int, metavar="N", help="at most N rows (default 100)")
    _flag(page, "--offset", type=int, metavar="N", help="skip the first N rows")
    _flag(pw, "--password-stdin", action="store_true", help="read the password from stdin")
    _flag(pp, "--passphrase-stdin", action="store_true", help="read the passphrase from stdin")
    _flag(dd, "--data-dir", metavar="DIR", help="the node's data dir ($LIAISON_DATA_DIR)")
    _flag(kdf, "--kdf-memory-kib", type=int, help=argparse.SUPPRESS)  # tests only
    which = status.add_mutually_exclusive_group()
    _flag(which, "--status", choices=INBOUND_STATUSES, help="which received reports (accepted)")
    _flag(which, "--quarantined", dest="status", action="store_const", const="quarantined",
          help="reports the inbound policy holds for review")  # fmt: skip
    _flag(which, "--rejected", dest="status", action="store_const", const="rejected",
          help="quarantined reports an officer rejected")  # fmt: skip
    _flag(note, "--note", metavar="TEXT", help="why, for the audit log")
    return {
        "url": url, "json": js, "page": page, "pw": pw, "pp": pp, "dd": dd, "kdf": kdf,
        "status": status, "note": note,
    }  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = _parents()
    parser = _Parser(
        prog="liaison",
        description="Secure bilateral intelligence exchange: node administration and client.",
        epilog="Exit codes: 0 ok, 1 refused by the node, 2 usage, 3 authentication, 4 cannot "
        "connect.",
    )
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        group: Any,
        name: str,
        handler: Callable[..., int],
        parents: Sequence[str] = (),
        parents_extra: Sequence[argparse.ArgumentParser] = (),
        **kw: Any,
    ) -> argparse.ArgumentParser:
        chosen = [p[x] for x in parents] + list(parents_extra)
        sub: argparse.ArgumentParser = group.add_parser(name, parents=chosen, **kw)
        sub.set_defaults(handler=handler)
        return sub

    # -- node --
    node = top.add_parser("node", help="create a node, show its fingerprint or its info")
    node_cmds = node.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    init = add(
        node_cmds,
        "init",
        commands.node_init,
        ("dd", "pp", "kdf", "json"),
        help="create keys, node.toml and the database in a new data dir",
    )
    init.add_argument("--name", required=True, help="the node id, e.g. IQ")
    init.add_argument("--display-name", default="", help="e.g. Baghdad")
    init.add_argument("--public-url", help="URL partners use (default http://127.0.0.1:PORT)")
    init.add_argument("--listen-host", default="127.0.0.1")
    init.add_argument("--port", type=int, default=8600)
    init.add_argument("--database-url", help="e.g. postgresql+psycopg://... (default SQLite)")
    init.add_argument(
        "--policies",
        metavar="DIR",
        help="sharing policies (<partner>.toml) to check and install; without one, nothing is "
        "released to a partner and everything from it is quarantined",
    )
    add(
        node_cmds,
        "fingerprint",
        commands.node_fingerprint,
        ("dd", "pp", "json"),
        help="print this node's fingerprint, to read to the partner",
    )
    rotate = add(
        node_cmds,
        "rotate-keys",
        commands.node_rotate_keys,
        ("dd", "pp", "kdf", "json"),
        help="add a new encryption key and destroy long-expired ones (then restart serve)",
    )
    rotate.add_argument("--lifetime-days", type=int, default=90, metavar="DAYS")
    add(
        node_cmds,
        "info",
        commands.node_info,
        ("url", "json"),
        help="what a running node says about itself",
    )

    serve = add(
        top, "serve", commands.serve, ("dd", "pp"), help="run the HTTP API and the delivery worker"
    )
    serve.add_argument("--listen-host", help="override node.toml's listen_host")
    serve.add_argument("--port", type=int, help="override node.toml's listen_port")

    # -- users and partners --
    user = top.add_parser("user", help="add or list users")
    user_cmds = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    user_add = add(
        user_cmds,
        "add",
        commands.user_add,
        ("url", "dd", "pw", "pp", "kdf", "json"),
        help="add a user (locally with --data-dir, else as a logged-in admin)",
    )
    user_add.add_argument("username", metavar="NAME")
    user_add.add_argument("--role", required=True, choices=ROLES)
    _flag(
        user_add,
        "--clearance",
        choices=CLEARANCES,
        type=str.lower,
        help="the highest TLP an officer or releaser reads (default amber+strict)",
    )
    add(user_cmds, "list", commands.user_list, ("url", "json"), help="list users (admin)")

    partner = top.add_parser("partner", help="pin or list partner nodes")
    partner_cmds = partner.add_subparsers(dest="partner_command", required=True, metavar="ACTION")
    partner_add = add(
        partner_cmds,
        "add",
        commands.partner_add,
        ("dd", "pp", "json"),
        help="fetch a partner's key document and pin it if the fingerprint matches",
    )
    partner_add.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")
    partner_add.add_argument("--url", required=True, help="the partner's URL")
    partner_add.add_argument("--fingerprint", required=True, help="as read out by its admins")
    partner_add.add_argument("--display-name", default="", help="e.g. Damascus")
    _flag(partner_add, "--node-url", metavar="URL", help="this node's URL ($LIAISON_URL)")
    add(partner_cmds, "list", commands.partner_list, ("url", "json"), help="list partners (admin)")
    status = add(
        partner_cmds,
        "status",
        commands.partner_status,
        ("url", "json"),
        help="backlog, oldest undelivered, last success and last error (admin)",
    )
    status.add_argument("node_id", metavar="NAME", help="the partner's node id, e.g. SY")

    # -- sharing policies --
    policy = top.add_parser("policy", help="ask what a partner would receive of a report")
    policy_cmds = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = add(
        policy_cmds,
        "check",
        commands.policy_check,
        ("url", "json"),
        help="allow, deny or redact, the deciding rule, and a diff (nothing is submitted)",
    )
    check.add_argument("file", metavar="FILE", help="the bundle, or - for stdin")
    check.add_argument("--partner", required=True, help="the partner node id, e.g. SY")

    # -- the offline courier --
    courier = top.add_parser("courier", help="carry envelopes and receipts across an air gap")
    courier_cmds = courier.add_subparsers(dest="courier_command", required=True, metavar="ACTION")
    courier_export = add(
        courier_cmds,
        "export",
        commands.courier_export,
        ("url", "json"),
        help="write what a partner has not acknowledged to a file (admin)",
    )
    courier_export.add_argument("--partner", required=True, help="the partner's node id, e.g. SY")
    courier_export.add_argument("--out", required=True, metavar="FILE", help="written mode 0600")
    courier_import = add(
        courier_cmds,
        "import",
        commands.courier_import,
        ("url", "json"),
        help="apply a courier file: envelopes (writes the receipts to carry back) or receipts",
    )
    courier_import.add_argument("file", metavar="FILE")
    courier_import.add_argument(
        "--receipts-out", metavar="FILE", help="the receipts file (default FILE.receipts.json)"
    )

    # -- officer --
    login = add(top, "login", commands.login, ("url", "pw"), help="log in and keep the token")
    login.add_argument("username", nargs="?", metavar="USERNAME")
    login.add_argument("--user", help="the username ($LIAISON_USER)")
    add(top, "logout", commands.logout, ("url",), help="forget the stored token")

    report = top.add_parser("report", help="submit reports and follow their delivery")
    report_cmds = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    submit = add(
        report_cmds,
        "submit",
        commands.report_submit,
        ("url", "json"),
        help="submit a STIX 2.1 bundle",
    )
    submit.add_argument("file", metavar="FILE", help="the bundle, or - for stdin")
    submit.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="PARTNER",
        help="partner node id (repeat, or comma-separate)",
    )
    add(
        report_cmds,
        "list",
        commands.report_list,
        ("url", "json", "page"),
        help="reports submitted here, with their delivery state",
    )
    show = add(
        report_cmds,
        "show",
        commands.report_show,
        ("url", "json"),
        help="one report and each delivery",
    )
    show.add_argument("id", metavar="ID")
    _flag(show, "--bundle", action="store_true", help="print only the STIX bundle")

    release = top.add_parser(
        "release", help="sharing-policy decisions on submitted reports; approve held ones"
    )
    release_cmds = release.add_subparsers(dest="release_command", required=True, metavar="ACTION")
    release_list = add(
        release_cmds,
        "list",
        commands.release_list,
        ("url", "json", "page"),
        help="releases per report and partner with their decision (held: waiting for approval)",
    )
    _flag(release_list, "--state", choices=RELEASE_STATES, help="e.g. held")
    _flag(release_list, "--partner", metavar="PARTNER", help="the partner node id, e.g. SY")
    release_show = add(
        release_cmds,
        "show",
        commands.release_show,
        ("url", "json"),
        help="one release: the decision, every rule's step, and the diff the partner receives",
    )
    approve = add(
        release_cmds,
        "approve",
        commands.release_approve,
        ("url", "json", "note"),
        help="approve a held release (releaser role, not the submitter)",
    )
    refuse = add(
        release_cmds,
        "refuse",
        commands.release_refuse,
        ("url", "json", "note"),
        help="refuse a held release: it is withheld for good (releaser role, not the submitter)",
    )
    for sub in (release_show, approve, refuse):
        sub.add_argument("report", metavar="REPORT", help="the report id")
        sub.add_argument("--partner", required=True, help="the partner node id, e.g. SY")

    inbox = add(
        top,
        "inbox",
        commands.inbox_list,
        ("url", "json", "page", "status"),
        help="reports received from partners (and the quarantine)",
    )
    inbox_cmds = inbox.add_subparsers(dest="inbox_command", metavar="ACTION")
    add(
        inbox_cmds,
        "list",
        commands.inbox_list,
        ("url", "json", "page", "status"),
        help="(the default)",
    )
    inbox_show = add(
        inbox_cmds,
        "show",
        commands.inbox_show,
        ("url", "json"),
        help="one received report: its inbound decision and its bundle",
    )
    inbox_show.add_argument("id", metavar="ID")
    _flag(inbox_show, "--bundle", action="store_true", help="print only the STIX bundle")
    for name, handler, what in (
        ("accept", commands.inbox_accept, "accept a quarantined report into the inbox"),
        ("reject", commands.inbox_reject, "reject a quarantined report (it stays out)"),
    ):
        review = add(inbox_cmds, name, handler, ("url", "json", "note"), help=what)
        review.add_argument("id", metavar="ID")

    _add_audit(top, add)
    return parser


def _audit_log_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    _flag(flags, "--actor", metavar="NAME", help="who acted (a username or a partner node id)")
    _flag(flags, "--action", metavar="ACTION", help="e.g. auth.login, or a prefix: report.*")
    _flag(flags, "--object", dest="object_id", metavar="ID", help="the object's id")
    _flag(flags, "--object-type", metavar="TYPE", help="e.g. report, inbound, user")
    _flag(flags, "--outcome", choices=("allowed", "denied", "error"))
    _flag(
        flags,
        "--since",
        type=audit_commands.iso_time,
        metavar="TIME",
        help="at or after (ISO 8601; UTC unless it has an offset)",
    )
    _flag(flags, "--until", type=audit_commands.iso_time, metavar="TIME", help="before")
    _flag(flags, "--after-seq", type=_natural, metavar="N", help="records after leaf index N")
    many = flags.add_mutually_exclusive_group()
    _flag(many, "--limit", type=_positive, metavar="N", help="at most N records (default 200)")
    _flag(many, "--all", action="store_true", help="every record that matches, page by page")
    fmt = flags.add_mutually_exclusive_group()
    _flag(fmt, "--format", choices=("table", "json", "csv"), help="table (default), json, csv")
    _flag(
        fmt,
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="the API's JSON (--format json)",
    )
    return flags


def _fingerprint_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    _flag(
        flags,
        "--fingerprint",
        metavar="FP",
        help="the node's fingerprint as its admins read it out ($LIAISON_NODE_FINGERPRINT)",
    )
    _flag(
        flags,
        "--witness-fingerprint",
        action="append",
        metavar="NODE=FP",
        help="a witness's fingerprint you know (repeat)",
    )
    return flags


def _add_audit(top: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    log_flags, fp = _audit_log_flags(), _fingerprint_flags()
    audit = add(
        top,
        "audit",
        audit_commands.audit_log,
        ("url",),
        parents_extra=[log_flags],
        help="the access log and its verification (auditor)",
    )
    cmds = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    add(
        cmds,
        "log",
        audit_commands.audit_log,
        ("url",),
        parents_extra=[log_flags],
        help="list the records (the default)",
    )
    add(
        cmds,
        "verify",
        audit_commands.audit_verify,
        ("url", "json"),
        parents_extra=[fp],
        help="fetch every record, checkpoint and key, and verify them here",
    )
    proof = add(
        cmds,
        "proof",
        audit_commands.audit_proof,
        ("url",),
        help="the inclusion proof of one record, checkable offline",
    )
    proof.add_argument("seq", type=_natural, metavar="SEQ", help="the record's leaf index")
    _flag(
        proof,
        "--size",
        type=_positive,
        metavar="N",
        help="in the checkpoint of size N (default the latest)",
    )
    _flag(proof, "--out", metavar="FILE", help="write it here (mode 0600) instead of printing")
    check = add(
        cmds,
        "check-proof",
        audit_commands.audit_check_proof,
        ("json",),
        parents_extra=[fp],
        help="verify a proof file with nothing but the file",
    )
    check.add_argument("file", metavar="FILE")
    export = add(
        cmds,
        "export",
        audit_commands.audit_export,
        ("url", "json"),
        help="records, checkpoints and keys to a new directory, to verify offline",
    )
    export.add_argument("--out", required=True, metavar="DIR", help="created mode 0700")
    verify_export = add(
        cmds,
        "verify-export",
        audit_commands.audit_verify_export,
        ("json",),
        parents_extra=[fp],
        help="verify an export directory offline",
    )
    verify_export.add_argument("directory", metavar="DIR")
    add(
        cmds,
        "alerts",
        audit_commands.audit_alerts,
        ("url", "json"),
        help="partners' logs caught shrinking or forking (this node as their witness)",
    )
    add(
        cmds,
        "checkpoint",
        audit_commands.audit_checkpoint,
        ("url", "json"),
        help="have the node sign a checkpoint of its log now",
    )
    reconcile = add(
        cmds,
        "reconcile",
        audit_commands.audit_reconcile,
        ("url", "json"),
        help="what was sent to a partner against what it signed as received",
    )
    reconcile.add_argument("--partner", required=True, help="the partner node id, e.g. SY")


def _natural(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number 0 or above")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number 1 or above")
    return int(text)


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
        return int(args.handler(args, commands.Context(transport=transport)))
    except NotLoggedIn as exc:
        return _fail(str(exc), EXIT_AUTH)
    except ApiError as exc:
        code = EXIT_AUTH if exc.status == 401 else EXIT_FAILED
        return _fail(exc.detail, code, [*exc.errors, *commands.decision_lines(exc)])
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


if __name__ == "__main__":
    sys.exit(main())
