"""``liaison courier export|import``: envelopes and receipts carried across an air gap on files.

``export`` writes what a partner has not acknowledged (mode 0600); ``import`` applies a file
from the partner: envelopes (then it writes the receipts file to carry back) or receipts. Either
exits 1 when anything in the file was refused or did not verify, with one line each on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clients import output
from clients.cli.common import (
    Context,
    SharedOptions,
    Subcommands,
    add_command,
    emit,
    emit_json,
    node_url,
    opt,
)
from clients.errors import ApiError
from clients.privatefiles import write_private


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``courier`` and its actions to ``top``."""
    courier = top.add_parser("courier", help="carry envelopes and receipts across an air gap")
    cmds = courier.add_subparsers(dest="courier_command", required=True, metavar="ACTION")
    export = add_command(
        cmds,
        "export",
        courier_export,
        (shared.url, shared.json),
        help="write what a partner has not acknowledged to a file (admin)",
    )
    export.add_argument("--partner", required=True, help="the partner's node id, e.g. SY")
    export.add_argument("--out", required=True, metavar="FILE", help="written mode 0600")
    load = add_command(
        cmds,
        "import",
        courier_import,
        (shared.url, shared.json),
        help="apply a courier file: envelopes (writes the receipts to carry back) or receipts",
    )
    load.add_argument("file", metavar="FILE")
    load.add_argument(
        "--receipts-out", metavar="FILE", help="the receipts file (default FILE.receipts.json)"
    )


def courier_export(args: argparse.Namespace, ctx: Context) -> int:
    """Write the partner's envelopes file, as the node made it, and summarise it.

    Raises:
        ApiError: the node's answer is not an envelopes file (``bad_response``); nothing is
            written then.
    """
    with ctx.client(node_url(args)) as client:
        data = client.courier_export(args.partner)
    envelopes, void, more = _envelopes_summary(data)
    out = Path(args.out)
    write_private(out, data)
    if opt(args, "json"):
        emit_json(
            {
                "partner": args.partner,
                "file": str(out),
                "bytes": len(data),
                "envelopes": envelopes,
                "void": void,
                "more": more,
            }
        )
        return 0
    seqs = ", ".join(map(str, void)) if void else "none"
    line = (
        f"wrote {output.plural(envelopes, 'envelope')} for {args.partner} to {out} "
        f"(void seqs: {seqs})"
    )
    if more:
        line += "; more are pending: export again once this file's receipts are imported"
    emit(output.clean(line))
    return 0


def courier_import(args: argparse.Namespace, ctx: Context) -> int:
    """Apply a courier file; for envelopes, write the receipts file (mode 0600) to carry back.

    Returns 1 when a receipt did not verify or an envelope was refused.

    Raises:
        ApiError: the node's answer is not a courier import result (``bad_response``).
    """
    data = Path(args.file).read_bytes()
    with ctx.client(node_url(args)) as client:
        answer = client.courier_import(data)
    sender = output.clean(answer.get("from"))
    if answer.get("kind") == "receipts":
        invalid = int(answer.get("invalid", 0))
        if opt(args, "json"):
            emit_json(answer)
        else:
            emit(
                f"receipts from {sender}: {answer.get('accepted')} accepted, "
                f"{answer.get('unknown')} unknown, {invalid} invalid"
            )
        if invalid:
            print(
                f"liaison: {output.plural(invalid, 'receipt')} did not verify "
                "(the node's audit log has the reasons)",
                file=sys.stderr,
            )
        return 1 if invalid else 0
    receipts_file = answer.pop("receipts_file", None)
    if answer.get("kind") != "envelopes" or not isinstance(receipts_file, dict):
        raise ApiError(200, "bad_response", "the node's answer is not a courier import result")
    receipts_out = Path(args.receipts_out or f"{args.file}.receipts.json")
    # The node's JSON, written back compactly with sorted keys: for the strings and integers of a
    # receipts file this is its canonical form (RFC 8785).
    text = json.dumps(receipts_file, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    write_private(receipts_out, text.encode("utf-8"))
    refused = answer.get("refused") or []
    if opt(args, "json"):
        emit_json({**answer, "receipts_out": str(receipts_out)})
    else:
        emit(
            f"imported from {sender}: {answer.get('received')} received, "
            f"{answer.get('duplicates')} duplicates, {len(refused)} refused; receipts for "
            f"{sender} in {output.clean(receipts_out)}"
        )
    for refusal in refused:
        print(
            f"liaison: envelope {output.clean(refusal.get('index'))} refused: "
            f"{output.clean(refusal.get('reason'))}",
            file=sys.stderr,
        )
    return 1 if refused else 0


def _envelopes_summary(data: bytes) -> tuple[int, list[int], bool]:
    """Count what an envelopes file from the node holds (for the summary line).

    Raises:
        ApiError: it is not an envelopes file (``bad_response``).
    """
    try:
        value = json.loads(data)
        envelopes, void, more = value["envelopes"], value["void"], value["more"]
        if not isinstance(envelopes, list) or not isinstance(void, list):
            raise TypeError("envelopes and void must be lists")
        return len(envelopes), [int(v) for v in void], bool(more)
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiError(200, "bad_response", "the node's answer is not an envelopes file") from exc
