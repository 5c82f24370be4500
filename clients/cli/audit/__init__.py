"""The auditor's ``liaison audit`` commands: the access log and its verification on this side.

    audit [log]       the access log, filtered, as a table, JSON or CSV
    audit verify      fetch the keys, every checkpoint and every record; verify them here
    audit proof       fetch the inclusion proof of one record (a self-contained JSON file)
    audit check-proof verify such a file offline
    audit export      the whole log, its checkpoints and keys to a directory
    audit verify-export   verify such a directory offline, as audit verify does
    audit alerts      what the node caught, as a witness, in a partner's log
    audit checkpoint  have the node sign a checkpoint now
    audit reconcile   what we sent a partner against what it signed as received, and back

This module adds them to the parser; the handlers are in :mod:`.log`, :mod:`.verify` (verify,
verify-export), :mod:`.proof` (proof, check-proof), :mod:`.export` and :mod:`.witness` (alerts,
checkpoint, reconcile). They follow :mod:`clients.cli.common`: they print, return an exit code
(1 when something does not verify or does not reconcile) or raise a :mod:`clients.errors`
exception. The verification itself is :mod:`clients.auditcheck`'s, which alone loads ``crypto``,
and only when it runs.
"""

from __future__ import annotations

import argparse

from clients.cli.audit.export import audit_export
from clients.cli.audit.log import audit_log, iso_time
from clients.cli.audit.proof import audit_check_proof, audit_proof
from clients.cli.audit.verify import audit_verify, audit_verify_export
from clients.cli.audit.witness import audit_alerts, audit_checkpoint, audit_reconcile
from clients.cli.common import SharedOptions, Subcommands, add_command, flag, natural, positive


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``audit`` (itself ``audit log``) and its actions to ``top``."""
    log_options, fp = _log_options(), _fingerprint_options()
    audit = add_command(
        top,
        "audit",
        audit_log,
        (shared.url, log_options),
        help="the access log and its verification (auditor)",
    )
    cmds = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    add_command(
        cmds,
        "log",
        audit_log,
        (shared.url, log_options),
        help="list the records (the default)",
    )
    add_command(
        cmds,
        "verify",
        audit_verify,
        (shared.url, shared.json, fp),
        help="fetch every record, checkpoint and key, and verify them here",
    )
    proof = add_command(
        cmds,
        "proof",
        audit_proof,
        (shared.url,),
        help="the inclusion proof of one record, checkable offline",
    )
    proof.add_argument("seq", type=natural, metavar="SEQ", help="the record's leaf index")
    flag(
        proof,
        "--size",
        type=positive,
        metavar="N",
        help="in the checkpoint of size N (default the latest)",
    )
    flag(proof, "--out", metavar="FILE", help="write it here (mode 0600) instead of printing")
    check = add_command(
        cmds,
        "check-proof",
        audit_check_proof,
        (shared.json, fp),
        help="verify a proof file with nothing but the file",
    )
    check.add_argument("file", metavar="FILE")
    export = add_command(
        cmds,
        "export",
        audit_export,
        (shared.url, shared.json),
        help="records, checkpoints and keys to a new directory, to verify offline",
    )
    export.add_argument("--out", required=True, metavar="DIR", help="created mode 0700")
    verify_export = add_command(
        cmds,
        "verify-export",
        audit_verify_export,
        (shared.json, fp),
        help="verify an export directory offline",
    )
    verify_export.add_argument("directory", metavar="DIR")
    add_command(
        cmds,
        "alerts",
        audit_alerts,
        (shared.url, shared.json),
        help="partners' logs caught shrinking or forking (this node as their witness)",
    )
    add_command(
        cmds,
        "checkpoint",
        audit_checkpoint,
        (shared.url, shared.json),
        help="have the node sign a checkpoint of its log now",
    )
    reconcile = add_command(
        cmds,
        "reconcile",
        audit_reconcile,
        (shared.url, shared.json),
        help="what was sent to a partner against what it signed as received",
    )
    reconcile.add_argument("--partner", required=True, help="the partner node id, e.g. SY")


def _log_options() -> argparse.ArgumentParser:
    """The filters, paging and format of ``audit [log]`` (``--json`` is ``--format json``)."""
    options = argparse.ArgumentParser(add_help=False)
    flag(options, "--actor", metavar="NAME", help="who acted (a username or a partner node id)")
    flag(options, "--action", metavar="ACTION", help="e.g. auth.login, or a prefix: report.*")
    flag(options, "--object", dest="object_id", metavar="ID", help="the object's id")
    flag(options, "--object-type", metavar="TYPE", help="e.g. report, inbound, user")
    flag(options, "--outcome", choices=("allowed", "denied", "error"))
    flag(
        options,
        "--since",
        type=iso_time,
        metavar="TIME",
        help="at or after (ISO 8601; UTC unless it has an offset)",
    )
    flag(options, "--until", type=iso_time, metavar="TIME", help="before")
    flag(options, "--after-seq", type=natural, metavar="N", help="records after leaf index N")
    many = options.add_mutually_exclusive_group()
    flag(many, "--limit", type=positive, metavar="N", help="at most N records (default 200)")
    flag(many, "--all", action="store_true", help="every record that matches, page by page")
    fmt = options.add_mutually_exclusive_group()
    flag(fmt, "--format", choices=("table", "json", "csv"), help="table (default), json, csv")
    flag(
        fmt,
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="the API's JSON (--format json)",
    )
    return options


def _fingerprint_options() -> argparse.ArgumentParser:
    """The fingerprints the auditor knows, that the keys must match (:mod:`.verify`)."""
    options = argparse.ArgumentParser(add_help=False)
    flag(
        options,
        "--fingerprint",
        metavar="FP",
        help="the node's fingerprint as its admins read it out ($LIAISON_NODE_FINGERPRINT)",
    )
    flag(
        options,
        "--witness-fingerprint",
        action="append",
        metavar="NODE=FP",
        help="a witness's fingerprint you know (repeat)",
    )
    return options
