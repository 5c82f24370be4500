"""``liaison node init|fingerprint|rotate-keys|rotate-token-key|rotate-data-key|
retire-data-keys|data-keys|change-passphrase|new-identity|reload-keys|info`` and ``liaison
serve``: the node itself.

``node info`` asks a running node over HTTP; the others act on a data dir through
:mod:`clients.local`, imported inside the handlers so that the officer's commands never load the
server.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clients import output
from clients.cli.common import (
    Context,
    SharedOptions,
    Subcommands,
    add_command,
    emit,
    emit_json,
    flag,
    kdf_memory_kib,
    node_url,
    opt,
    read_passphrase,
    require_data_dir,
)
from clients.passwords import NEW_PASSPHRASE_ENV, PASSPHRASE_ENV, read_secret


def register(top: Subcommands, shared: SharedOptions) -> None:
    """Add ``node`` and its actions, then ``serve``, to ``top``."""
    node = top.add_parser("node", help="create a node, show its fingerprint or its info")
    cmds = node.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    init = add_command(
        cmds,
        "init",
        node_init,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
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
    add_command(
        cmds,
        "fingerprint",
        node_fingerprint,
        (shared.data_dir, shared.passphrase, shared.json),
        help="print this node's fingerprint, to read to the partner",
    )
    rotate = add_command(
        cmds,
        "rotate-keys",
        node_rotate_keys,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
        help="add a new encryption key and destroy long-expired ones (then reload-keys)",
    )
    rotate.add_argument("--lifetime-days", type=int, default=90, metavar="DAYS")
    add_command(
        cmds,
        "rotate-token-key",
        node_rotate_token_key,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
        help="make a new token key: tokens of the old one end a token lifetime later",
    )
    add_command(
        cmds,
        "rotate-data-key",
        node_rotate_data_key,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
        help="add a new data key: a running node re-seals stored content under it (then "
        "reload-keys)",
    )
    add_command(
        cmds,
        "retire-data-keys",
        node_retire_data_keys,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
        help="remove the older data keys once nothing stored needs them (then reload-keys)",
    )
    add_command(
        cmds,
        "data-keys",
        node_data_keys,
        (shared.url, shared.json),
        help="which data keys seal what, and how far the re-seal has gone (admin)",
    )
    change = add_command(
        cmds,
        "change-passphrase",
        node_change_passphrase,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
        help="encrypt the key file under a new passphrase (then restart serve with it)",
    )
    flag(
        change,
        "--new-passphrase-stdin",
        action="store_true",
        help="read the new passphrase from stdin (after the current one, if that is too)",
    )
    add_command(
        cmds,
        "new-identity",
        node_new_identity,
        (shared.data_dir, shared.passphrase, shared.kdf, shared.json),
        help="after the key file was copied: new signing, encryption, token and data keys, the "
        "database kept (serve stopped; partners re-pin the new fingerprint)",
    )
    add_command(
        cmds,
        "reload-keys",
        node_reload_keys,
        (shared.url, shared.json),
        help="make the running node read its key file again, after rotate-keys (admin)",
    )
    add_command(
        cmds,
        "info",
        node_info,
        (shared.url, shared.json),
        help="what a running node says about itself",
    )

    run = add_command(
        top,
        "serve",
        serve,
        (shared.data_dir, shared.passphrase),
        help="run the HTTP API and the delivery worker",
    )
    run.add_argument("--listen-host", help="override node.toml's listen_host")
    run.add_argument("--port", type=int, help="override node.toml's listen_port")


def node_init(args: argparse.Namespace, ctx: Context) -> int:
    """Create a node in a new data dir; asks for the new passphrase twice at a terminal."""
    from clients import local

    data_dir = require_data_dir(args)
    passphrase = read_secret(
        "passphrase",
        from_stdin=opt(args, "passphrase_stdin", False),
        env_var=PASSPHRASE_ENV,
        prompt="New key file passphrase",
        confirm=True,
    )
    info = local.init(
        data_dir,
        node_id=args.name,
        passphrase=passphrase,
        display_name=args.display_name,
        public_url=args.public_url,
        listen_host=args.listen_host,
        port=args.port,
        database_url=args.database_url,
        kdf_memory_kib=kdf_memory_kib(args),
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
    from clients import local

    info = local.fingerprint(require_data_dir(args), passphrase=read_passphrase(args))
    if opt(args, "json"):
        emit_json(info)
    else:
        emit(info["fingerprint"])
    return 0


def node_rotate_keys(args: argparse.Namespace, ctx: Context) -> int:
    from clients import local

    rotation = local.rotate_keys(
        require_data_dir(args),
        passphrase=read_passphrase(args),
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
    emit("a running liaison serve serves it after liaison node reload-keys (or SIGHUP); "
         "partners fetch it within their key_refresh_seconds")  # fmt: skip
    return 0


def node_rotate_token_key(args: argparse.Namespace, ctx: Context) -> int:
    from clients import local

    rotation = local.rotate_token_key(
        require_data_dir(args),
        passphrase=read_passphrase(args),
        kdf_memory_kib=opt(args, "kdf_memory_kib"),
    )
    if opt(args, "json"):
        emit_json(rotation)
        return 0
    window = rotation["previous_accepted_for_seconds"]
    emit(f"new token key {rotation['new_token_key']}; the previous one is refused {window} s "
         "from now. A running node signs with the new one once it reads the key file again "
         "(liaison node reload-keys, or SIGHUP)")  # fmt: skip
    return 0


def node_rotate_data_key(args: argparse.Namespace, ctx: Context) -> int:
    from clients import local

    done = local.change_data_keys(require_data_dir(args), passphrase=read_passphrase(args),
                                  kdf_memory_kib=opt(args, "kdf_memory_kib"))  # fmt: skip
    if opt(args, "json"):
        emit_json(done)
        return 0
    emit(f"new data key {done['data_key']} (the key file holds {_generations(done['held'])}). "
         "A running node seals with it once it reads the key file again (liaison node "
         "reload-keys, or SIGHUP), and re-seals what is stored in the background; "
         "liaison node data-keys shows how far it is")  # fmt: skip
    return 0


def node_retire_data_keys(args: argparse.Namespace, ctx: Context) -> int:
    from clients import local

    done = local.change_data_keys(
        require_data_dir(args),
        passphrase=read_passphrase(args),
        retire=True,
        kdf_memory_kib=opt(args, "kdf_memory_kib"),
    )
    if opt(args, "json"):
        emit_json(done)
        return 0
    emit(f"retired data key(s) {_generations(done['retired'])}: data key {done['data_key']} "
         "is the only one left. A running node forgets them once it reads the key file again "
         "(liaison node reload-keys, or SIGHUP); a database backup made before the rotation can "
         "no longer be read with this key file")  # fmt: skip
    return 0


def _generations(values: list[int]) -> str:
    return ", ".join(str(v) for v in values) or "none"


def node_data_keys(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        status = client.data_keys()
    if opt(args, "json"):
        emit_json(status)
        return 0
    in_use = ", ".join(f"{n} under {g}" for g, n in sorted(status["in_use"].items(),
                                                           key=lambda i: int(i[0])))  # fmt: skip
    state = "done" if status["reseal_done"] else f"under way, {status['resealed']} so far"
    emit(output.fields([
        ("Sealing with", f"data key {status['current']}"),
        ("Held", _generations(status["held"])),
        ("Stored values", in_use or "none"),
        ("Re-seal", state),
    ]))  # fmt: skip
    if status["reseal_done"] and len(status["held"]) > 1:
        emit("nothing stored needs the older keys: liaison node retire-data-keys --data-dir ...")
    return 0


def node_change_passphrase(args: argparse.Namespace, ctx: Context) -> int:
    from clients import local

    passphrase = read_passphrase(args)
    new = read_secret(
        "new-passphrase",
        from_stdin=opt(args, "new_passphrase_stdin", False),
        env_var=NEW_PASSPHRASE_ENV,
        prompt="New key file passphrase",
        confirm=True,
    )
    local.change_passphrase(require_data_dir(args), passphrase=passphrase, new_passphrase=new,
                            kdf_memory_kib=opt(args, "kdf_memory_kib"))  # fmt: skip
    if opt(args, "json"):
        emit_json({"changed": True})
        return 0
    emit("the key file is encrypted under the new passphrase; restart liaison serve with it (a "
         "running node holds the old one: reload-keys refuses the file until then)")  # fmt: skip
    return 0


def node_new_identity(args: argparse.Namespace, ctx: Context) -> int:
    from clients import local

    done = local.new_identity(require_data_dir(args), passphrase=read_passphrase(args),
                              kdf_memory_kib=opt(args, "kdf_memory_kib"))  # fmt: skip
    if opt(args, "json"):
        emit_json(done)
        return 0
    emit(output.fields([
        ("New fingerprint", done["fingerprint"]),
        ("Previous", done["previous_fingerprint"]),
        ("Key serial", done["key_serial"]),
        ("Data key", f"{done['data_key']} (what is stored is re-sealed under it once serve runs)"),
    ]))  # fmt: skip
    emit("every old encryption key is destroyed and the old token key refused. Start liaison "
         "serve, then read the new fingerprint to each partner's administrators: they re-pin it "
         "(liaison partner repin NAME --fingerprint ...) and resume you")  # fmt: skip
    return 0


def node_reload_keys(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client(node_url(args)) as client:
        done = client.reload_keys()
    if opt(args, "json"):
        emit_json(done)
        return 0
    emit(f"the node reads its key file again: key document serial {done['serial']}, "
         f"encryption keys {', '.join(done['encryption_keys'])}, data keys "
         f"{_generations(done.get('data_keys', []))}")  # fmt: skip
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
    """Run the node until SIGINT or SIGTERM; 0 when stopped by one of them."""
    from clients import local

    local.serve(
        require_data_dir(args),
        passphrase=read_passphrase(args),
        listen_host=args.listen_host,
        port=args.port,
    )
    return 0
