"""Node administration on the node's own machine, acting on its data dir rather than over HTTP.

This is the one module of ``clients`` that imports ``service`` (and ``crypto``), and it does so
only inside its functions, so the officer commands never load the server. The exception exists
because some steps cannot go through the API: ``node init`` creates the node that would serve it;
the first administrator has nobody to log in as, so ``user add --data-dir`` writes the user from
the console; ``serve`` *is* the node; ``node fingerprint`` reads the key file that proves identity.

Every function raises only :mod:`clients.errors`: service, crypto, settings, database and httpx
errors are translated here, at the boundary, with ``raise ... from exc``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from clients.errors import ConnectionFailed, LiaisonError
from clients.sdk import check_url

if TYPE_CHECKING:
    from policies import PolicyInvalid
    from service.config import Settings
    from service.node import Node

FETCH_TIMEOUT = 30.0


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Turn the server side's errors into client errors with a one-line reason."""
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from crypto.errors import CryptoError
    from policies import PolicyError, PolicyInvalid
    from service.errors import ServiceError

    try:
        yield
    except ServiceError as exc:
        raise LiaisonError(exc.detail, errors=exc.errors) from exc
    except PolicyInvalid as exc:
        raise _policy_invalid(exc) from exc
    except PolicyError as exc:
        raise LiaisonError(exc.diagnostics()) from exc
    except CryptoError as exc:
        raise LiaisonError(exc.message) from exc
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        ]
        raise LiaisonError("invalid settings: " + "; ".join(problems)) from exc
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise ConnectionFailed(f"cannot use the database: {reason}") from exc
    except SQLAlchemyError as exc:
        raise LiaisonError(f"database error: {exc.__class__.__name__}") from exc


def _policy_invalid(exc: PolicyInvalid) -> LiaisonError:
    """``liaison: invalid sharing policy: FILE:LINE:COL: KEY: MESSAGE``, one line per further
    problem."""
    return LiaisonError(
        f"invalid sharing policy: {exc}", errors=[str(problem) for problem in exc.problems[1:]]
    )


def _settings(data_dir: Path, **overrides: Any) -> Settings:
    from service.config import CONFIG_FILE, load_settings

    if not (data_dir / CONFIG_FILE).is_file():
        raise LiaisonError(f"{data_dir} holds no liaison node (no {CONFIG_FILE}): run node init")
    return load_settings(data_dir, **overrides)


def _test_cost(memory_kib: int | None) -> dict[str, int] | None:
    """The cheap Argon2id cost that tests ask for (``--kdf-memory-kib``); None in production."""
    if memory_kib is None:
        return None
    return {"memory_kib": memory_kib, "iterations": 1, "lanes": 1}


@contextlib.contextmanager
def _open(data_dir: Path, passphrase: str, *, kdf_memory_kib: int | None = None) -> Iterator[Node]:
    from service.auth import PasswordPolicy
    from service.bootstrap import open_node

    cost = _test_cost(kdf_memory_kib)
    policy = PasswordPolicy(**cost) if cost else None
    node = open_node(_settings(data_dir), passphrase, password_policy=policy)
    try:
        yield node
    finally:
        node.db.dispose()


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
        with _translated():
            load_policy_dir(policies_dir, node=node_id)
        policy_files = sorted(Path(policies_dir).glob("*.toml"))
    if public_url is None:
        host = "127.0.0.1" if listen_host in ("", "0.0.0.0", "::") else listen_host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        public_url = f"http://{host}:{port}"
    cost = _test_cost(kdf_memory_kib)
    with _translated():
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
        with _translated():  # what was copied, as the node will load it (the files may have moved)
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

    with _translated():
        settings = _settings(data_dir)
        loaded = load_sharing_policies(settings)
    return None if partner in loaded else settings.policies_path / f"{partner}.toml"


def fingerprint(data_dir: Path, *, passphrase: str) -> dict[str, str]:
    """The node id and the fingerprint of its signing identity, read from the key file.

    Raises:
        LiaisonError: no node there, or the key file cannot be opened (passphrase, permissions).
    """
    from crypto.fingerprint import fingerprint as fingerprint_of
    from crypto.keys import load_identity

    with _translated():
        settings = _settings(data_dir)
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
    from service.bootstrap import rotate_encryption_keys

    cost = _test_cost(kdf_memory_kib)
    with _translated():
        rotation = rotate_encryption_keys(
            _settings(data_dir),
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


def add_user(
    data_dir: Path,
    *,
    username: str,
    role: str,
    password: str,
    passphrase: str,
    kdf_memory_kib: int | None = None,
    clearance: str | None = None,
) -> dict[str, Any]:
    """Create a user from the console (audited as ``system/console``); returns it as the API would.
    Officers and releasers read up to ``clearance`` (a TLP level; the node's default if None).

    Raises:
        LiaisonError: invalid name, role, clearance or weak password, a taken name, or the node
            won't open.
    """
    from sqlalchemy import select

    from service.api.schemas import UserOut
    from service.bootstrap import add_local_user
    from service.models import User

    with _translated(), _open(data_dir, passphrase, kdf_memory_kib=kdf_memory_kib) as node:
        add_local_user(node, username=username, role=role, password=password, clearance=clearance)
        with node.db.transaction() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            return UserOut.of(user).model_dump(mode="json")


def fetch_key_document(url: str, *, transport: httpx.BaseTransport | None = None) -> bytes:
    """GET the partner's key document, refusing anything over the service's size limit.

    Raises:
        ConnectionFailed: no answer, a non-200 answer, or an oversize document.
        UsageError: ``url`` is not an http(s) URL.
    """
    from service.partners import KEY_DOCUMENT_PATH, MAX_KEY_DOCUMENT_BYTES

    target = check_url(url) + KEY_DOCUMENT_PATH
    try:
        with (
            httpx.Client(transport=transport, timeout=FETCH_TIMEOUT) as client,
            client.stream("GET", target, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ConnectionFailed(f"{target} answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_KEY_DOCUMENT_BYTES:
                    raise ConnectionFailed(f"{target} sent an oversize key document")
    except httpx.HTTPError as exc:
        reason = str(exc) or exc.__class__.__name__
        raise ConnectionFailed(f"cannot fetch {target}: {reason}") from exc
    return bytes(body)


def add_partner(
    data_dir: Path,
    *,
    node_id: str,
    url: str,
    fingerprint: str,
    name: str = "",
    passphrase: str,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Fetch ``url``'s key document and pin it if it matches ``fingerprint``.

    Raises:
        LiaisonError: a fingerprint mismatch (nothing is pinned), an invalid document, a partner
            already pinned.
        ConnectionFailed: the partner cannot be reached.
    """
    from service.api.schemas import PartnerOut
    from service.audit import Actor
    from service.partners import add_partner as pin

    document = fetch_key_document(url, transport=transport)
    with _translated(), _open(data_dir, passphrase) as node, node.db.transaction() as session:
        partner = pin(
            session,
            node,
            node_id=node_id,
            url=url,
            fingerprint=fingerprint,
            document=document,
            name=name,
            actor=Actor("system", "console"),
        )
        return PartnerOut.of(partner).model_dump(mode="json")


def serve(
    data_dir: Path,
    *,
    passphrase: str,
    listen_host: str | None = None,
    port: int | None = None,
) -> None:
    """Run the node's HTTP API and delivery worker until SIGINT or SIGTERM (uvicorn stops
    gracefully on both).

    Raises:
        LiaisonError: the node cannot be opened, or the server failed to start.
    """
    import uvicorn

    from crypto.fingerprint import fingerprint as fingerprint_of
    from service.app import create_app
    from service.bootstrap import open_node

    overrides: dict[str, Any] = {}
    if listen_host is not None:
        overrides["listen_host"] = listen_host
    if port is not None:
        overrides["listen_port"] = port
    with _translated():
        settings = _settings(data_dir, **overrides)
        node = open_node(settings, passphrase)
    try:
        app = create_app(node, run_worker=True)
        print(
            f"node {node.node_id} ({settings.node_name or '-'}) serving {settings.public_url} "
            f"on {settings.listen_host}:{settings.listen_port}, "
            f"fingerprint {fingerprint_of(node.identity.signing.public)}",
            flush=True,
        )
        with _stop_signals_noted() as stopped_by:
            try:
                uvicorn.run(
                    app, host=settings.listen_host, port=settings.listen_port, log_level="info"
                )
            except SystemExit as exc:  # uvicorn exits when it cannot bind or start
                if exc.code not in (0, None):
                    raise LiaisonError("the server stopped with an error (see its log)") from exc
        if stopped_by:
            print(f"node {node.node_id} stopped ({signal.Signals(stopped_by[0]).name})", flush=True)
    finally:
        node.db.dispose()


@contextlib.contextmanager
def _stop_signals_noted() -> Iterator[list[int]]:
    """Note SIGINT/SIGTERM instead of dying of them, while uvicorn runs.

    uvicorn handles both signals itself (a graceful shutdown) and then re-raises the one that
    stopped it to the handler that was installed before; a stop the operator asked for is a
    success, so that handler only records it and ``serve`` exits 0.
    """
    stopped_by: list[int] = []
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: stopped_by.append(signum))
    try:
        yield stopped_by
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)
