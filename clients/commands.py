"""What each ``liaison`` command does, once ``clients.cli`` has parsed its arguments.

A handler takes the parsed arguments and a :class:`Context`, prints its result to stdout (a table
or ``Label: value`` lines by default, the API's JSON with ``--json``) and returns an exit code, or
raises a :mod:`clients.errors` exception that ``clients.cli.main`` turns into one. Officer, auditor
and HTTP admin commands go through :class:`clients.sdk.LiaisonClient`; commands on a local data dir
call :mod:`clients.admin_local`, imported only when one of them runs. The auditor's ``audit``
commands are in :mod:`clients.audit_commands`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from clients import output, tokens
from clients.errors import ApiError, UsageError
from clients.passwords import PASSPHRASE_ENV, PASSWORD_ENV, read_secret, read_username
from clients.privatefiles import write_private
from clients.sdk import LiaisonClient, check_url

URL_ENV = "LIAISON_URL"
DATA_DIR_ENV = "LIAISON_DATA_DIR"
KDF_ENV = "LIAISON_KDF_MEMORY_KIB"
TITLE_WIDTH = 60


@dataclass(frozen=True)
class Context:
    """What a command needs besides its arguments; ``transport`` is injected by tests."""

    transport: httpx.BaseTransport | None = None

    @contextmanager
    def client(self, url: str, *, logged_in: bool = True) -> Iterator[LiaisonClient]:
        token = tokens.load_token(url) if logged_in else None
        with LiaisonClient(url, token, transport=self.transport) as client:
            yield client


def opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option whose default is suppressed (so a subcommand never overwrites its parent's)."""
    return getattr(args, name, default)


def node_url(args: argparse.Namespace, attr: str = "url") -> str:
    url = opt(args, attr) or os.environ.get(URL_ENV)
    if not url:
        flag = "--" + attr.replace("_", "-")
        raise UsageError(f"no node URL: give {flag} or set {URL_ENV}")
    return check_url(url)


def emit(text: str) -> None:
    print(text)


def emit_json(value: Any) -> None:
    print(output.dumps_json(value))


def _passphrase(args: argparse.Namespace) -> str:
    return read_secret(
        "passphrase",
        from_stdin=opt(args, "passphrase_stdin", False),
        env_var=PASSPHRASE_ENV,
        prompt="Key file passphrase",
    )


def _kdf_memory(args: argparse.Namespace) -> int | None:
    value = opt(args, "kdf_memory_kib") or os.environ.get(KDF_ENV)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise UsageError(f"{KDF_ENV} must be an integer") from exc


def _data_dir(args: argparse.Namespace) -> Path:
    value = opt(args, "data_dir") or os.environ.get(DATA_DIR_ENV)
    if not value:
        raise UsageError(f"no data dir: give --data-dir or set {DATA_DIR_ENV}")
    return Path(value)


def _local_dir(args: argparse.Namespace, url_attr: str) -> Path | None:
    """The data dir when the command should act locally; None to go over HTTP.

    An explicit ``--data-dir`` or URL option wins over the environment; both together are refused.
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


def _delivery(d: dict[str, Any]) -> str:
    """``SY:acknowledged``; the policy's outcome is added when it is not a plain allow
    (``SY:queued(redact)``, ``SY:withheld(deny)``), except where the state says it (``SY:held``)."""
    state, outcome = d.get("state"), d.get("outcome")
    label = f"{d.get('partner')}:{state}"
    if outcome and outcome != "allow" and not (state == "held" and outcome == "hold"):
        label += f"({outcome})"
    return output.clean(label)


def _deliveries(report: dict[str, Any]) -> str:
    return " ".join(_delivery(d) for d in report.get("deliveries", [])) or "-"


def _short_version(version: object) -> str:
    """A policy version (``sha256:<64 hex>``) cut to 12 hex digits for human output."""
    text = output.clean(version)
    algorithm, _, digest = text.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest and len(digest) > 12 else text


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


# -- session --


def login(args: argparse.Namespace, ctx: Context) -> int:
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
    url = node_url(args)
    emit("logged out" if tokens.delete_token(url) else "no stored token for this node")
    return 0


# -- reports --


def report_submit(args: argparse.Namespace, ctx: Context) -> int:
    to = [p.strip() for value in args.to for p in value.split(",") if p.strip()]
    if not to:
        raise UsageError("name at least one partner with --to")
    url = node_url(args)
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    with ctx.client(url) as client:
        try:
            report = client.submit_report(data, to)
        except ApiError as exc:
            if exc.code == "policy_denied" and opt(args, "json"):
                # Scripts get every partner's decision record; the reason still goes to stderr.
                emit_json({"code": exc.code, "detail": exc.detail, **exc.extra})
            raise
    if opt(args, "json"):
        emit_json(report)
        return 0
    emit(
        f"submitted {report['id']}: {output.clean(report.get('title'), width=TITLE_WIDTH)} "
        f"({report.get('tlp')}, {report.get('object_count')} objects) -> {_deliveries(report)}"
    )
    for d in report.get("deliveries", []):
        emit(f"  {_release_line(report['id'], d)}")
    for warning in report.get("warnings", []):
        print(f"warning: {output.clean(warning)}", file=sys.stderr)
    return 0


def _release_line(report_id: str, d: dict[str, Any]) -> str:
    """What the sharing policy decided for one partner of a submitted report, and what next."""
    partner, outcome = output.clean(d.get("partner")), output.clean(d.get("outcome"))
    show = f"liaison release show {report_id} --partner {partner}"
    if d.get("state") == "held":
        return (
            f"{partner}: hold - waits for a second officer with the releaser role "
            f"(liaison release approve {report_id} --partner {partner})"
        )
    if outcome == "redact":
        return f"{partner}: redact - {d.get('state')}, seq {d.get('seq')}; what was removed: {show}"
    return f"{partner}: {outcome} - {d.get('state')}, seq {d.get('seq')}"


def policy_check(args: argparse.Namespace, ctx: Context) -> int:
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
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


def report_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        reports = client.list_reports(limit=opt(args, "limit", 100), offset=opt(args, "offset", 0))
    if opt(args, "json"):
        emit_json(reports)
        return 0
    if not reports:
        emit("no reports")
        return 0
    rows = [
        (
            r["id"],
            output.when(r.get("created_at")),
            r.get("tlp"),
            output.clean(r.get("title"), width=TITLE_WIDTH),
            _deliveries(r),
        )
        for r in reports
    ]
    emit(output.table(("ID", "CREATED", "TLP", "TITLE", "DELIVERY"), rows))
    return 0


def report_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        if opt(args, "bundle"):
            emit_json(client.get_report_bundle(args.id))
            return 0
        report = client.get_report(args.id)
    if opt(args, "json"):
        emit_json(report)
        return 0
    types = ", ".join(report.get("object_types", []))
    emit(
        output.fields(
            [
                ("Report", report["id"]),
                ("Created", output.when(report.get("created_at"))),
                ("Submitted by", report.get("submitted_by")),
                ("Title", report.get("title")),
                ("TLP", report.get("tlp")),
                ("Bundle", report.get("bundle_id")),
                ("Objects", f"{report.get('object_count')} ({types})"),
            ]
        )
    )
    deliveries = report.get("deliveries", [])
    rows = [
        (
            d["partner"],
            d["state"],
            d.get("outcome"),
            d.get("seq"),
            d["attempts"],
            output.when(d.get("next_attempt_at")),
            output.when(d.get("acknowledged_at")),
            d.get("last_error"),
        )
        for d in deliveries
    ]
    emit("")
    headers = (
        "PARTNER", "STATE", "OUTCOME", "SEQ", "ATTEMPTS", "NEXT ATTEMPT", "ACKNOWLEDGED",
        "LAST ERROR",
    )  # fmt: skip
    emit(output.table(headers, rows))
    notes = {
        "held": "held for a second officer with the releaser role: liaison release approve "
        "{id} --partner {p}",
        "withheld": "withheld, not sent (refused by a releaser, or denied on approval): "
        "liaison release show {id} --partner {p}",
    }
    for d in deliveries:
        note = notes.get(d.get("state", ""))
        if note:
            partner = output.clean(d.get("partner"))
            emit(f"{partner}: {note.format(id=output.clean(report['id']), p=partner)}")
    return 0


# -- inbox --


def inbox_list(args: argparse.Namespace, ctx: Context) -> int:
    status = opt(args, "status") or "accepted"
    with ctx.client(node_url(args)) as client:
        received = client.inbox(
            status=status, limit=opt(args, "limit", 100), offset=opt(args, "offset", 0)
        )
    if opt(args, "json"):
        emit_json(received)
        return 0
    if not received:
        emit({"accepted": "no received reports"}.get(status, f"no {status} reports"))
        return 0
    if status == "accepted":
        rows = [
            (
                r["id"],
                output.when(r.get("received_at")),
                r.get("sender"),
                r.get("tlp"),
                output.clean(r.get("title"), width=TITLE_WIDTH),
            )
            for r in received
        ]
        emit(output.table(("ID", "RECEIVED", "SENDER", "TLP", "TITLE"), rows))
        return 0
    # The quarantine and the rejected: why the inbound policy held each, and who reviewed it.
    held = [
        (
            r["id"],
            output.when(r.get("received_at")),
            r.get("sender"),
            r.get("tlp"),
            r.get("rule"),
            r.get("reviewed_by"),
            output.clean(r.get("title"), width=TITLE_WIDTH),
        )
        for r in received
    ]
    emit(output.table(("ID", "RECEIVED", "SENDER", "TLP", "RULE", "REVIEWED BY", "TITLE"), held))
    return 0


def _inbound_fields(row: dict[str, Any]) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = [
        ("Received report", row["id"]),
        ("Sender", row.get("sender")),
        ("Received", output.when(row.get("received_at"))),
        ("Created", output.when(row.get("created_at"))),
        ("Message", f"{row.get('message_id')} (seq {row.get('seq')})"),
        ("Title", row.get("title")),
        ("TLP", row.get("tlp")),
        ("Bundle", row.get("bundle_id")),
        ("Objects", row.get("object_count")),
        ("Status", row.get("status")),
        ("Rule", row.get("rule")),
        ("Reason", row.get("reason")),
        ("Policy version", row.get("policy_version")),
    ]
    if row.get("reviewed_by"):
        pairs += [
            ("Reviewed by", row.get("reviewed_by")),
            ("Reviewed", output.when(row.get("reviewed_at"))),
            ("Review note", row.get("review_note")),
        ]
    return pairs


def inbox_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        row = client.get_inbound(args.id)
        bundle = client.get_inbound_bundle(args.id)
    if opt(args, "bundle"):
        emit_json(bundle)
        return 0
    if opt(args, "json"):
        emit_json({**row, "bundle": bundle})
        return 0
    pairs = _inbound_fields(row)
    pairs.append(("Signatures", "verified again just now, under the pinned keys"))
    emit(output.fields(pairs))
    findings = row.get("findings") or []
    if findings:
        emit("Findings:")
        for f in findings:
            emit(f"  {output.clean(f.get('rule'))}: {output.clean(f.get('message'))}")
    if row.get("status") == "quarantined":
        emit(f"review: liaison inbox accept {row['id']}  or  liaison inbox reject {row['id']}")
    emit("")
    emit_json(bundle)
    return 0


def inbox_accept(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        row = client.accept_quarantined(args.id, opt(args, "note"))
    return _reviewed(args, row, "accepted into the inbox")


def inbox_reject(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        row = client.reject_quarantined(args.id, opt(args, "note"))
    return _reviewed(args, row, "rejected")


def _reviewed(args: argparse.Namespace, row: dict[str, Any], what: str) -> int:
    if opt(args, "json"):
        emit_json(row)
    else:
        emit(
            f"{what}: received report {output.clean(row.get('id'))} from "
            f"{output.clean(row.get('sender'))} (quarantined by {output.clean(row.get('rule'))})"
        )
    return 0


# -- releases --


def release_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        rows = client.list_releases(
            state=opt(args, "state"),
            partner=opt(args, "partner"),
            limit=opt(args, "limit", 100),
            offset=opt(args, "offset", 0),
        )
    if opt(args, "json"):
        emit_json(rows)
        return 0
    if not rows:
        emit("no releases")
        return 0
    table = [
        (
            r["report_id"],
            output.when(r.get("created_at")),
            r.get("partner"),
            r.get("state"),
            r.get("outcome"),
            r.get("rule"),
            r.get("tlp"),
            r.get("submitted_by"),
            output.clean(r.get("title"), width=TITLE_WIDTH),
        )
        for r in rows
    ]
    headers = ("REPORT", "CREATED", "PARTNER", "STATE", "OUTCOME", "RULE", "TLP", "BY", "TITLE")
    emit(output.table(headers, table))
    return 0


def _release_fields(r: dict[str, Any]) -> list[tuple[str, object]]:
    decision = r.get("decision") or {}
    outcome = str(r.get("outcome"))
    if decision.get("approved_outcome") and r.get("state") == "held":
        outcome += f" (once approved: {decision['approved_outcome']})"
    released = decision.get("released_objects")
    pairs: list[tuple[str, object]] = [
        ("Report", r.get("report_id")),
        ("Partner", r.get("partner")),
        ("Title", r.get("title")),
        ("TLP", r.get("tlp")),
        ("Submitted by", r.get("submitted_by")),
        ("Created", output.when(r.get("created_at"))),
        ("State", r.get("state")),
        ("Outcome", outcome),
        ("Rule", r.get("rule")),
        ("Reason", r.get("reason")),
        ("Policy version", r.get("policy_version")),
        ("Message", f"{r.get('message_id')} (seq {output.clean(r.get('seq'))})"),
    ]
    if released is not None:
        pairs.append(("Objects", f"{released} of {decision.get('submitted_objects')} released"))
    if r.get("reviewed_by"):
        pairs += [
            ("Reviewed by", r.get("reviewed_by")),
            ("Reviewed", output.when(r.get("reviewed_at"))),
            ("Review note", r.get("review_note")),
        ]
    return pairs


def release_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        release = client.get_release(args.report, args.partner)
    if opt(args, "json"):
        emit_json(release)
        return 0
    emit(output.fields(_release_fields(release)))
    steps = (release.get("decision") or {}).get("steps") or []
    if steps:
        emit("Steps:")
        for step in steps:
            emit(
                f"  {output.clean(step.get('rule'))}: {output.clean(step.get('verdict'))} - "
                f"{output.clean(step.get('detail'))}"
            )
    if release.get("state") == "held":
        emit(
            f"approve or refuse: liaison release approve|refuse {output.clean(args.report)} "
            f"--partner {output.clean(args.partner)} [--note TEXT]"
        )
    emit("")
    diff = str(release.get("diff") or "")
    if not diff:
        emit("no difference: the partner receives the report as submitted")
    for line in diff.splitlines():
        emit(output.clean(line) if line.strip() else "")
    return 0


def release_approve(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        release = client.approve_release(args.report, args.partner, opt(args, "note"))
    if opt(args, "json"):
        emit_json(release)
        return 0
    emit(
        f"approved the release of {output.clean(release.get('report_id'))} to "
        f"{output.clean(release.get('partner'))}: {output.clean(release.get('state'))} "
        f"({output.clean(release.get('outcome'))}), seq {output.clean(release.get('seq'))}"
    )
    return 0


def release_refuse(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        release = client.refuse_release(args.report, args.partner, opt(args, "note"))
    if opt(args, "json"):
        emit_json(release)
        return 0
    emit(
        f"refused the release of {output.clean(release.get('report_id'))} to "
        f"{output.clean(release.get('partner'))}: {output.clean(release.get('state'))}"
    )
    return 0


# -- node --


def node_init(args: argparse.Namespace, ctx: Context) -> int:
    from clients import admin_local

    data_dir = _data_dir(args)
    passphrase = read_secret(
        "passphrase",
        from_stdin=opt(args, "passphrase_stdin", False),
        env_var=PASSPHRASE_ENV,
        prompt="New key file passphrase",
        confirm=True,
    )
    info = admin_local.init(
        data_dir,
        node_id=args.name,
        passphrase=passphrase,
        display_name=args.display_name,
        public_url=args.public_url,
        listen_host=args.listen_host,
        port=args.port,
        database_url=args.database_url,
        kdf_memory_kib=_kdf_memory(args),
        policies_dir=Path(args.policies) if args.policies else None,
    )
    if opt(args, "json"):
        emit_json(info)
        return 0
    pairs: list[tuple[str, object]] = [
        ("Node", info["node_id"]),
        ("Name", info["name"]),
        ("Data dir", info["data_dir"]),
        ("Public URL", info["public_url"]),
        ("Listen", info["listen"]),
        ("Database", info["database"]),
        ("Fingerprint", info["fingerprint"]),
    ]
    names = ", ".join(info["policies"]) or "none yet"
    pairs.append(("Policies", f"{names} in {info['policies_dir']}"))
    emit(output.fields(pairs))
    emit(f"next: liaison user add NAME --role admin --data-dir {info['data_dir']}")
    if not info["policies"]:
        emit(
            f"without a sharing policy ({info['policies_dir']}/<PARTNER>.toml) nothing is "
            "released to a partner and everything from it is quarantined"
        )
    return 0


def node_fingerprint(args: argparse.Namespace, ctx: Context) -> int:
    from clients import admin_local

    info = admin_local.fingerprint(_data_dir(args), passphrase=_passphrase(args))
    if opt(args, "json"):
        emit_json(info)
    else:
        emit(info["fingerprint"])
    return 0


def node_rotate_keys(args: argparse.Namespace, ctx: Context) -> int:
    from clients import admin_local

    rotation = admin_local.rotate_keys(
        _data_dir(args),
        passphrase=_passphrase(args),
        lifetime_days=args.lifetime_days,
        kdf_memory_kib=opt(args, "kdf_memory_kib"),
    )
    if opt(args, "json"):
        emit_json(rotation)
        return 0
    until = output.when(rotation["valid_until"])
    emit(
        f"new encryption key {rotation['new_key']} valid until {until}; key serial "
        f"{rotation['key_serial']}; destroyed {len(rotation['destroyed'])} expired key(s)"
    )
    emit("restart liaison serve so that it serves the new key document")
    return 0


def node_info(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args), logged_in=False) as client:
        info = client.node_info()
    if opt(args, "json"):
        emit_json(info)
        return 0
    emit(
        output.fields(
            [
                ("Node", info.get("node_id")),
                ("Name", info.get("name")),
                ("Public URL", info.get("public_url")),
                ("Signing key", info.get("signing_key_id")),
                ("Fingerprint", info.get("fingerprint")),
            ]
        )
    )
    return 0


def serve(args: argparse.Namespace, ctx: Context) -> int:
    from clients import admin_local

    admin_local.serve(
        _data_dir(args),
        passphrase=_passphrase(args),
        listen_host=args.listen_host,
        port=args.port,
    )
    return 0


# -- users and partners --


def user_add(args: argparse.Namespace, ctx: Context) -> int:
    local = _local_dir(args, "url")
    # With both secrets on stdin, the passphrase is the first line and the password the second.
    passphrase = _passphrase(args) if local is not None else ""
    password = read_secret(
        "password",
        from_stdin=opt(args, "password_stdin", False),
        env_var=PASSWORD_ENV,
        prompt=f"Password for the new user {args.username}",
        confirm=True,
    )
    if local is not None:
        from clients import admin_local

        user = admin_local.add_user(
            local,
            username=args.username,
            role=args.role,
            password=password,
            passphrase=passphrase,
            kdf_memory_kib=_kdf_memory(args),
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


def partner_add(args: argparse.Namespace, ctx: Context) -> int:
    local = _local_dir(args, "node_url")
    if local is not None:
        from clients import admin_local

        partner = admin_local.add_partner(
            local,
            node_id=args.node_id,
            url=args.url,
            fingerprint=args.fingerprint,
            name=args.display_name,
            passphrase=_passphrase(args),
            transport=ctx.transport,
        )
        missing = admin_local.missing_policy(local, partner["node_id"])
    else:
        # Over HTTP the node's policies dir is not known here; policy check tells.
        missing = None
        with ctx.client(node_url(args, "node_url")) as client:
            partner = client.add_partner(
                args.node_id, args.url, args.fingerprint, args.display_name
            )
    if opt(args, "json"):
        emit_json(partner)
    else:
        emit(
            f"pinned partner {partner['node_id']} at {output.clean(partner.get('endpoint'))}, "
            f"fingerprint {partner.get('fingerprint')}"
        )
    if missing is not None:
        print(
            f"warning: no sharing policy for {output.clean(partner['node_id'])} "
            f"(expected {output.clean(missing)}): nothing will be released to it and everything "
            "from it will be quarantined; write one, then restart liaison serve",
            file=sys.stderr,
        )
    return 0


def partner_list(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        partners = client.list_partners()
    if opt(args, "json"):
        emit_json(partners)
        return 0
    rows = [
        (
            p["node_id"],
            p.get("name"),
            p.get("endpoint"),
            p.get("key_serial"),
            output.when(p.get("added_at")),
            p.get("fingerprint"),
        )
        for p in partners
    ]
    emit(output.table(("NODE", "NAME", "URL", "KEY SERIAL", "ADDED", "FINGERPRINT"), rows))
    return 0


def partner_status(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        status = client.partner_status(args.node_id)
    if opt(args, "json"):
        emit_json(status)
        return 0
    states = ", ".join(f"{k} {v}" for k, v in sorted(status["by_state"].items())) or "none"
    emit(
        output.fields(
            [
                ("Partner", status["partner"]),
                ("Outbound backlog", f"{status['backlog']} undelivered ({states})"),
                ("Oldest undelivered", output.when(status.get("oldest_undelivered_at"))),
                ("Next attempt", output.when(status.get("next_attempt_at"))),
                ("Last success", output.when(status.get("last_success_at"))),
                ("Last error", output.clean(status.get("last_error"))),
                ("Next sequence number", status["next_seq"]),
                (
                    "Received",
                    f"{status['received']} reports, all up to seq {status['received_through']}",
                ),
                (
                    "Missing",
                    f"{status['missing_below_highest']} below seq {status['highest_seq_received']}",
                ),
                ("Last received", output.when(status.get("last_received_at"))),
                ("Last pull", output.when(status.get("last_pull_at"))),
                ("Last pull error", output.clean(status.get("last_pull_error"))),
            ]
        )
    )
    return 0


# -- the offline courier --


def courier_export(args: argparse.Namespace, ctx: Context) -> int:
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
    """Count what an envelopes file from the node holds (for the summary line)."""
    try:
        value = json.loads(data)
        envelopes, void, more = value["envelopes"], value["void"], value["more"]
        if not isinstance(envelopes, list) or not isinstance(void, list):
            raise TypeError("envelopes and void must be lists")
        return len(envelopes), [int(v) for v in void], bool(more)
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiError(200, "bad_response", "the node's answer is not an envelopes file") from exc
