"""``liaison policy check``: what a partner would receive of a report, with nothing submitted.

Prints the outcome (allow, deny, redact, hold), the deciding rule, every rule's step, and the
diff between the bundle given and what the partner would receive.
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
    node_url,
    opt,
    read_input,
)


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``policy`` and its one action to ``top``."""
    policy = top.add_parser("policy", help="ask what a partner would receive of a report")
    cmds = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = add_command(
        cmds,
        "check",
        policy_check,
        (shared.url, shared.json),
        help="allow, deny or redact, the deciding rule, and a diff (nothing is submitted)",
    )
    check.add_argument("file", metavar="FILE", help="the bundle, or - for stdin")
    check.add_argument("--partner", required=True, help="the partner node id, e.g. SY")


def policy_check(args: argparse.Namespace, ctx: Context) -> int:
    data = read_input(args.file)
    with ctx.client(node_url(args)) as client:
        answer = client.policy_check(data, args.partner)
    if opt(args, "json"):
        emit_json(answer)
        return 0
    decision = answer["decision"]
    emit(
        f"{decision['outcome'].upper()} for {decision['partner']} by rule {decision['rule']}: "
        f"{output.clean(decision['reason'])}"
    )
    emit(
        f"policy version {decision['policy_version']}; TLP {decision['tlp']}; "
        f"{decision['released_objects']} of {decision['submitted_objects']} objects released"
    )
    for step in decision.get("steps", []):
        emit(f"  {step['rule']}: {step['verdict']} - {output.clean(step['detail'])}")
    if answer.get("diff"):
        emit("")
        for line in str(answer["diff"]).splitlines():
            emit(output.clean(line) if line.strip() else "")
    return 0
