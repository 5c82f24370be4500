"""``node init``, ``node fingerprint``, ``node rotate-keys`` on a data dir: the node's keys and
configuration, and the sharing policies it loads.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clients.errors import LiaisonError
from clients.local.boundary import cheap_cost, node_settings, translated


def init(
    data_dir: Path,
    *,
    node_id: str,
    passphrase: str,
    display_name: str = "",
    public_url: str | None = None,
    listen_host: str = "127.0.0.1",
    port: int = 8600,
    database_url: str | None = None,
    kdf_memory_kib: int | None = None,
    policies_dir: Path | None = None,
) -> dict[str, Any]:
    """Create a node (keys, ``node.toml``, migrated database) and describe it.

    With ``policies_dir``, its ``*.toml`` sharing policies are checked first (all must be
    policies of ``node_id``; nothing is created otherwise), then copied into the node's policies
    directory (mode 0700, files 0600), where the node loads them when it starts.

    Raises:
        LiaisonError: the dir already holds a node, invalid settings, an empty passphrase, an
            invalid policy (its file, line and key), a policy file that cannot be copied.
        ConnectionFailed: the database cannot be reached.
    """
    from crypto.fingerprint import fingerprint
    from crypto.keys import KdfParams, load_identity
    from policies import load_policy_dir
    from service.bootstrap import init_node

    policy_files: list[Path] = []
    if policies_dir is not None:
        with translated():
            load_policy_dir(policies_dir, node=node_id)
        policy_files = sorted(Path(policies_dir).glob("*.toml"))
    if public_url is None:
        host = "127.0.0.1" if listen_host in ("", "0.0.0.0", "::") else listen_host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        public_url = f"http://{host}:{port}"
    cost = cheap_cost(kdf_memory_kib)
    with translated():
        settings = init_node(
            data_dir,
            node_id=node_id,
            passphrase=passphrase,
            public_url=public_url,
            name=display_name,
            listen_host=listen_host,
            listen_port=port,
            database_url=database_url,
            kdf=KdfParams(**cost) if cost else None,
            now=int(time.time()),
        )
        identity = load_identity(settings.key_file, passphrase)
    info: dict[str, Any] = {
        "node_id": settings.node_id,
        "name": settings.node_name,
        "data_dir": str(settings.data_dir),
        "public_url": settings.public_url,
        "listen": f"{settings.listen_host}:{settings.listen_port}",
        "database": "sqlite" if settings.database_url is None else "external",
        "fingerprint": fingerprint(identity.signing.public),
    }
    copied: list[Path] = []
    if policies_dir is not None:
        copied = _install_policies(policy_files, settings.policies_path)
        with translated():  # what was copied, as the node will load it (the files may have moved)
            load_policy_dir(settings.policies_path, node=settings.node_id)
    info["policies_dir"] = str(settings.policies_path)
    info["policies"] = [path.name for path in copied]
    return info


def _install_policies(files: list[Path], target: Path) -> list[Path]:
    """Copy checked policy files into ``target`` (created 0700), each written 0600 and never
    over an existing file. A file already in ``target`` (the operator pointed ``--policies``
    at the node's own policies dir) is left as it is.

    Raises:
        LiaisonError: a file cannot be read, or a different one exists under its name.
    """
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        copied = []
        for source in files:
            destination = target / source.name
            if destination.exists() and destination.samefile(source):
                copied.append(destination)
                continue
            data = source.read_bytes()
            fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)
                fh.write(data)
            copied.append(destination)
    except FileExistsError as exc:
        raise LiaisonError(f"{exc.filename} already exists: the policy was not copied") from exc
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise LiaisonError(
            f"cannot install the sharing policies: {where}{exc.strerror or exc}"
        ) from exc
    return copied


def missing_policy(data_dir: Path, partner: str) -> Path | None:
    """Where the node expects a sharing policy for ``partner`` if none of the files it loads
    is one, else None. (Without a policy nothing is released to the partner and everything
    from it is quarantined.)

    Raises:
        LiaisonError: no node there, or its policies do not load.
    """
    from service.bootstrap import load_sharing_policies

    with translated():
        settings = node_settings(data_dir)
        loaded = load_sharing_policies(settings)
    return None if partner in loaded else settings.policies_path / f"{partner}.toml"


def fingerprint(data_dir: Path, *, passphrase: str) -> dict[str, str]:
    """The node id and the fingerprint of its signing identity, read from the key file.

    Raises:
        LiaisonError: no node there, or the key file cannot be opened (passphrase, permissions).
    """
    from crypto.fingerprint import fingerprint as fingerprint_of
    from crypto.keys import load_identity

    with translated():
        settings = node_settings(data_dir)
        identity = load_identity(settings.key_file, passphrase)
    return {"node_id": identity.node_id, "fingerprint": fingerprint_of(identity.signing.public)}


def rotate_keys(
    data_dir: Path,
    *,
    passphrase: str,
    lifetime_days: int = 90,
    kdf_memory_kib: int | None = None,
) -> dict[str, Any]:
    """Add a new encryption key, destroy long-expired ones, publish a higher key serial.

    Raises:
        LiaisonError: no node there, or the key file cannot be opened.
    """
    from crypto.keys import KdfParams
    from service.keyfile import rotate_encryption_keys

    cost = cheap_cost(kdf_memory_kib)
    with translated():
        rotation = rotate_encryption_keys(
            node_settings(data_dir),
            passphrase,
            now=int(time.time()),
            lifetime=lifetime_days * 24 * 3600,
            kdf=KdfParams(**cost) if cost else None,
        )
    return {
        "new_key": rotation.new_kid,
        "valid_until": datetime.fromtimestamp(rotation.not_after, UTC).isoformat(),
        "destroyed": rotation.destroyed,
        "key_serial": rotation.serial,
    }


def rotate_token_key(
    data_dir: Path, *, passphrase: str, kdf_memory_kib: int | None = None
) -> dict[str, Any]:
    """Make a new token key; the previous one verifies earlier tokens for one token lifetime.

    Raises:
        LiaisonError: no node there, or the key file cannot be opened.
    """
    from crypto.keys import KdfParams
    from service.keyfile import rotate_token_key as rotate

    cost = cheap_cost(kdf_memory_kib)
    settings = node_settings(data_dir)
    with translated():
        kid = rotate(settings, passphrase, now=int(time.time()),
                     kdf=KdfParams(**cost) if cost else None)  # fmt: skip
    return {"new_token_key": kid, "previous_accepted_for_seconds": settings.token_ttl}


def change_data_keys(
    data_dir: Path, *, passphrase: str, retire: bool = False, kdf_memory_kib: int | None = None
) -> dict[str, Any]:
    """Add a new data key (``retire``: remove the older ones, once nothing stored needs them).

    Raises:
        LiaisonError: no node there, the key file cannot be opened, or (``retire``) stored
            values still need an older key.
    """
    from crypto.keys import KdfParams
    from service.keyfile import retire_data_keys, rotate_data_key

    cost = cheap_cost(kdf_memory_kib)
    change = retire_data_keys if retire else rotate_data_key
    with translated():
        done = change(node_settings(data_dir), passphrase, now=int(time.time()),
                      kdf=KdfParams(**cost) if cost else None)  # fmt: skip
    return {"data_key": done.generation, "held": done.held, "retired": done.retired}


def new_identity(
    data_dir: Path, *, passphrase: str, kdf_memory_kib: int | None = None
) -> dict[str, Any]:
    """A new signing identity, encryption, token and data keys, keeping the database (with
    ``serve`` stopped).

    Raises:
        LiaisonError: no node there, or the key file cannot be opened.
    """
    from crypto.keys import KdfParams
    from service.keyfile import new_identity as renew

    cost = cheap_cost(kdf_memory_kib)
    with translated():
        done = renew(node_settings(data_dir), passphrase, now=int(time.time()),
                     kdf=KdfParams(**cost) if cost else None)  # fmt: skip
    return {"fingerprint": done.fingerprint, "previous_fingerprint": done.previous_fingerprint,
            "key_serial": done.serial, "data_key": done.data_key}  # fmt: skip


def change_passphrase(
    data_dir: Path, *, passphrase: str, new_passphrase: str, kdf_memory_kib: int | None = None
) -> None:
    """Encrypt the key file under a new passphrase.

    Raises:
        LiaisonError: no node there, the key file cannot be opened, or the new passphrase is
            empty or the old one.
    """
    from crypto.keys import KdfParams
    from service.keyfile import change_passphrase as change

    cost = cheap_cost(kdf_memory_kib)
    with translated():
        change(node_settings(data_dir), passphrase, new_passphrase, now=int(time.time()),
               kdf=KdfParams(**cost) if cost else None)  # fmt: skip
