"""Creating a node's data dir, and opening a node from it: where the node is put together.

``init_node`` makes the data dir (mode 0700), generates the identity with its data key and token
key, writes the encrypted key file (0600) and ``node.toml``, and migrates the database.
``open_node`` unlocks the key file with the passphrase and returns a ready :class:`Node`.
``open_database`` is the one way to reach a node's database: with the audit log's sequencer on
every write transaction.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto.envelope import DEFAULT_MAX_LIFETIME
from crypto.fingerprint import fingerprint as fingerprint_of
from crypto.keys import DEFAULT_KEM_LIFETIME, KdfParams, NodeIdentity, load_identity, save_identity
from crypto.signing import SigningKey
from policies import Policy, load_policy_dir
from service import audit, drafts, migrate, reports
from service.atrest import (
    SECRET_NAME as DATA_KEY_NAME,
)
from service.atrest import (
    DataKey,
    Progress,
    data_key_secret_name,
    data_keys_in,
    generations_in_use,
)
from service.audit import ALLOWED, DENIED, Actor
from service.auth import (
    PREVIOUS_TOKEN_SECRET_NAME,
    TOKEN_ROTATED_AT_NAME,
    TOKEN_SECRET_NAME,
    PasswordPolicy,
    TokenIssuer,
)
from service.db import Database
from service.errors import Conflict
from service.identity import create_user
from service.keyring import KEY_SERIAL, PREVIOUS_SIGNING_KEYS, previous_signing_keys
from service.models import NodeState, User
from service.node import Clock, Node
from service.settings import CONFIG_FILE, KEY_FILE, Settings, load_settings, write_config

log = logging.getLogger("liaison.bootstrap")
SEALED_COLUMNS = (*reports.SEALED_COLUMNS, *drafts.SEALED_COLUMNS)
"""Every column sealed with the data keys: what the re-seal after a data-key rotation walks."""


def open_database(url: str) -> Database:
    """The node's database, with every write transaction's audit records sequenced into the
    Merkle log when it commits (``service.audit.log``)."""
    db = Database(url)
    db.install(audit.install)
    return db


def init_node(
    data_dir: Path,
    *,
    node_id: str,
    passphrase: str,
    public_url: str,
    name: str = "",
    listen_host: str = "127.0.0.1",
    listen_port: int = 8600,
    database_url: str | None = None,
    kdf: KdfParams | None = None,
    now: int,
) -> Settings:
    """Create a new node in ``data_dir`` (which must be empty or absent).

    Raises:
        Conflict: the directory already holds a node.
        KeyFileError: an empty passphrase.
    """
    data_dir = Path(data_dir)
    if (data_dir / KEY_FILE).exists() or (data_dir / CONFIG_FILE).exists():
        raise Conflict(f"{data_dir} already holds a liaison node")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    values: dict[str, Any] = {
        "node_id": node_id,
        "node_name": name,
        "public_url": public_url,
        "listen_host": listen_host,
        "listen_port": listen_port,
    }
    if database_url:
        values["database_url"] = database_url
    settings = load_settings(data_dir, **values)  # validates before anything is written
    # The database first: if it cannot be reached, nothing is left behind and init can be rerun.
    migrate.upgrade(settings.sqlalchemy_url)
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.write() as session:
            if session.get(NodeState, KEY_SERIAL) is None:
                session.add(NodeState(name=KEY_SERIAL, value="1"))
    finally:
        db.dispose()
    identity = NodeIdentity.generate(node_id, now=now)
    identity.secrets[DATA_KEY_NAME] = DataKey.generate()
    identity.secrets[TOKEN_SECRET_NAME] = os.urandom(32)
    try:
        save_identity(identity, settings.key_file, passphrase, kdf)
        write_config(data_dir / CONFIG_FILE, values)
    except BaseException:
        settings.key_file.unlink(missing_ok=True)
        (data_dir / CONFIG_FILE).unlink(missing_ok=True)
        raise
    return settings


def open_node(
    settings: Settings,
    passphrase: str,
    *,
    clock: Clock | None = None,
    password_policy: PasswordPolicy | None = None,
    migrate_database: bool = True,
    **node_kwargs: Any,
) -> Node:
    """Unlock the key file and connect to the database.

    Raises:
        KeyFileError: wrong passphrase or an unsafe key file.
        PolicyInvalid: a sharing policy file does not load.
    """
    identity = load_identity(settings.key_file, passphrase)
    if identity.node_id != settings.node_id:
        raise Conflict(f"key file is for {identity.node_id}, settings say {settings.node_id}")
    # An invalid policy stops the node here, before it serves anything (PolicyInvalid names the
    # file and line of every problem).
    sharing = load_sharing_policies(settings)
    if migrate_database:
        migrate.upgrade(settings.sqlalchemy_url)
    extra: dict[str, Any] = {"sharing": sharing, "passphrase": passphrase,
                             "sealed_columns": SEALED_COLUMNS, **node_kwargs}  # fmt: skip
    if clock is not None:
        extra["clock"] = clock
    if password_policy is not None:
        extra["password_policy"] = password_policy
    node = Node(settings=settings, db=open_database(settings.sqlalchemy_url), identity=identity,
                **extra)  # fmt: skip
    if migrate_database:
        record_policy_versions(node)
        backfill_taxii(node)
    return node


def backfill_taxii(node: Node) -> None:
    """Once, after migration 0007: index for TAXII what was accepted or released before."""
    try:
        with node.db.write() as session:
            count = reports.collections.backfill(session, node)
    except IntegrityError:  # another replica did it at the same moment
        return
    if count:
        log.info("indexed %d objects of earlier reports for TAXII", count)


POLICY_VERSIONS = "sharing_policy_versions"


def record_policy_versions(node: Node) -> None:
    """Record in the audit log every sharing policy added, changed or removed since the node
    last started (``policy.change``, with the new version), so that each decision's
    ``policy_version`` can be traced to the file that was loaded."""
    current = {partner: policy.version for partner, policy in sorted(node.sharing.items())}
    for attempt in range(2):  # two replicas starting together may both insert the row
        try:
            with node.db.write() as session:
                row = session.get(NodeState, POLICY_VERSIONS, with_for_update=True)
                before: dict[str, str] = json.loads(row.value) if row is not None else {}
                if before == current:
                    return
                for partner in sorted(set(before) | set(current)):
                    old, new = before.get(partner), current.get(partner)
                    if old == new:
                        continue
                    what = "added" if old is None else "removed" if new is None else "changed"
                    audit.record(
                        session,
                        actor=Actor.system(),
                        action="policy.change",
                        outcome=ALLOWED,
                        at=node.utcnow(),
                        object_type="policy",
                        object_id=partner,
                        reason=f"sharing policy for {partner} {what}"
                        + (f" (was {old})" if old else ""),
                        policy_version=new,
                    )
                value = json.dumps(current, sort_keys=True)
                if row is None:
                    session.add(NodeState(name=POLICY_VERSIONS, value=value))
                else:
                    row.value = value
            return
        except IntegrityError:
            if attempt:
                raise


def load_sharing_policies(settings: Settings) -> dict[str, Policy]:
    """The node's sharing policies, one per partner, from ``settings.policies_path`` (absent:
    none, and nothing may be released to anyone once policies are enforced).

    Raises:
        PolicyInvalid: a file does not load; every problem is named with its file and line.
    """
    path = settings.policies_path
    if not path.is_dir():
        return {}
    return load_policy_dir(path, node=settings.node_id)


def add_local_user(
    node: Node, *, username: str, role: str, password: str, clearance: str | None = None
) -> None:
    """Create a user from the node's own console (the first admin has nobody to log in as)."""
    with node.db.write() as session:
        create_user(
            session,
            node,
            username=username,
            role=role,
            password=password,
            clearance=clearance,
            actor=Actor.system("console"),
        )


def has_users(node: Node) -> bool:
    with node.db.read() as session:
        return session.scalar(select(User.id).limit(1)) is not None


@dataclass(frozen=True, slots=True)
class Rotation:
    new_kid: str
    not_after: int
    destroyed: list[str]
    serial: int


def rotate_encryption_keys(
    settings: Settings,
    passphrase: str,
    *,
    now: int,
    lifetime: int = DEFAULT_KEM_LIFETIME,
    kdf: KdfParams | None = None,
) -> Rotation:
    """Add a new encryption key valid from ``now``, destroy keys that expired long enough ago
    that no valid envelope can still be sealed to them, and publish the key document under a
    higher serial. A running ``serve`` serves it once told to read the key file again
    (``liaison node reload-keys``, or SIGHUP: ``service.identity.reload_keys``).

    Keys that expired less than the longest envelope lifetime (30 days) ago are kept: an envelope
    sealed inside such a key's window may still be in flight or waiting in a courier file.

    Raises:
        KeyFileError: wrong passphrase or an unsafe key file.
    """
    keys = load_identity(settings.key_file, passphrase)
    new = keys.add_kem_key(now=now, lifetime=lifetime)
    destroyed = keys.destroy_kem_keys_before(now - DEFAULT_MAX_LIFETIME)
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.write() as session:
            state = session.get(NodeState, KEY_SERIAL, with_for_update=True)
            serial = int(state.value) + 1 if state else 2
            if state is None:
                session.add(NodeState(name=KEY_SERIAL, value=str(serial)))
            else:
                state.value = str(serial)
            audit.record(
                session,
                actor=Actor.system("console"),
                action="key.rotate",
                outcome=ALLOWED,
                at=datetime.fromtimestamp(now, UTC),
                object_type="key",
                object_id=new.kid,
                reason=f"key document serial {serial}; encryption key {new.kid} until "
                f"{new.not_after}; destroyed: {', '.join(destroyed) or 'none'}",
            )
            # The key file is replaced atomically inside the transaction: if writing it fails,
            # the serial is not raised and nothing is recorded.
            save_identity(keys, settings.key_file, passphrase, kdf)
    finally:
        db.dispose()
    return Rotation(new.kid, new.not_after, destroyed, serial)


def rotate_token_key(
    settings: Settings, passphrase: str, *, now: int, kdf: KdfParams | None = None
) -> str:
    """Make a new token key (the officers' bearer tokens are signed with it); the previous one
    still verifies tokens issued before now, for one token lifetime (``service.auth.TokenIssuer``).
    Use it when the key file may have been copied: a thief's tokens stop working after that
    window. Returns the new key's id. A running ``serve`` uses it once it reads the key file
    again (``liaison node reload-keys``, SIGHUP).

    Raises:
        KeyFileError: wrong passphrase or an unsafe key file.
    """
    keys = load_identity(settings.key_file, passphrase)
    keys.secrets[PREVIOUS_TOKEN_SECRET_NAME] = keys.secrets[TOKEN_SECRET_NAME]
    keys.secrets[TOKEN_SECRET_NAME] = os.urandom(32)
    keys.secrets[TOKEN_ROTATED_AT_NAME] = now.to_bytes(8, "big")
    kid = TokenIssuer(node_id=keys.node_id, key_seed=keys.secrets[TOKEN_SECRET_NAME], ttl=1).kid
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.write() as session:
            audit.record(session, actor=Actor.system("console"), action="key.rotate_token",
                         outcome=ALLOWED, at=datetime.fromtimestamp(now, UTC),
                         object_type="key", object_id=kid,
                         reason="new token key; the previous one verifies tokens issued before "
                                "now for one token lifetime")  # fmt: skip
            save_identity(keys, settings.key_file, passphrase, kdf)  # in the transaction, as above
    finally:
        db.dispose()
    return kid


@dataclass(frozen=True, slots=True)
class DataKeyChange:
    generation: int
    """The newest data key now (the one that seals)."""
    held: list[int]
    """The generations the key file holds now."""
    retired: list[int]


def rotate_data_key(
    settings: Settings, passphrase: str, *, now: int, kdf: KdfParams | None = None
) -> DataKeyChange:
    """Add a new data key to the key file: once a running ``serve`` reads the key file again
    (``liaison node reload-keys``, SIGHUP) it seals with it, and re-seals every stored value
    under it in the background (``service.atrest.reseal``). The older keys stay until
    :func:`retire_data_keys` removes them.

    Raises:
        KeyFileError: wrong passphrase or an unsafe key file.
    """
    keys = load_identity(settings.key_file, passphrase)
    held = data_keys_in(keys.secrets)
    generation = max(held) + 1
    keys.secrets[data_key_secret_name(generation)] = DataKey.generate()
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.write() as session:
            audit.record(session, actor=Actor.system("console"), action="key.rotate_data",
                         outcome=ALLOWED, at=datetime.fromtimestamp(now, UTC),
                         object_type="key", object_id=f"data-key-{generation}",
                         reason=f"new data key {generation}; stored values sealed by "
                                f"{', '.join(map(str, sorted(held)))} are re-sealed once serve "
                                "reloads its keys")  # fmt: skip
            save_identity(keys, settings.key_file, passphrase, kdf)  # in the transaction, as above
    finally:
        db.dispose()
    return DataKeyChange(generation, sorted(data_keys_in(keys.secrets)), [])


def retire_data_keys(
    settings: Settings, passphrase: str, *, now: int, kdf: KdfParams | None = None
) -> DataKeyChange:
    """Remove every data key but the newest from the key file, once nothing stored needs them:
    the running node has re-sealed everything under the newest (its re-seal says it finished
    with that generation) and no stored value is under an older one. From then on a copy of the
    database made before the rotation cannot be read with this key file. A running ``serve``
    drops them from memory when it reads the key file again.

    Raises:
        KeyFileError: wrong passphrase or an unsafe key file.
        Conflict: nothing to retire (``nothing_to_retire``), or stored values still need an
            older key (``data_keys_in_use``; a refusal is recorded).
    """
    keys = load_identity(settings.key_file, passphrase)
    held = data_keys_in(keys.secrets)
    newest = max(held)
    older = sorted(set(held) - {newest})
    if not older:
        raise Conflict(f"nothing to retire: the key file holds only data key {newest}",
                       code="nothing_to_retire")  # fmt: skip
    db = open_database(settings.sqlalchemy_url)
    try:
        try:
            _retire(db, keys, newest, older, now,
                    lambda: save_identity(keys, settings.key_file, passphrase, kdf))  # fmt: skip
        except Conflict as exc:
            with db.write() as session:
                audit.record(session, actor=Actor.system("console"), action="key.retire_data",
                             outcome=DENIED, at=datetime.fromtimestamp(now, UTC),
                             object_type="key", reason=exc.detail)  # fmt: skip
            raise
    finally:
        db.dispose()
    return DataKeyChange(newest, [newest], older)


def _retire(
    db: Database, keys: NodeIdentity, newest: int, older: list[int], now: int,
    save: Callable[[], None],
) -> None:  # fmt: skip
    with db.write() as session:
        progress = Progress.load(session, lock=True)
        counts = generations_in_use(session, SEALED_COLUMNS)
        waiting = {g: n for g, n in counts.items() if g != newest}
        finished = progress is not None and progress.generation == newest and progress.done
        if waiting or not finished:
            left = ", ".join(f"{n} under data key {g}" for g, n in sorted(waiting.items()))
            why = (f"stored values still need them ({left})" if waiting else
                   f"the running node has not finished re-sealing under data key {newest} "
                   "(reload its keys, then see liaison node data-keys)")  # fmt: skip
            raise Conflict(f"data keys not retired: {why}", code="data_keys_in_use")
        for generation in older:
            del keys.secrets[data_key_secret_name(generation)]
        audit.record(session, actor=Actor.system("console"), action="key.retire_data",
                     outcome=ALLOWED, at=datetime.fromtimestamp(now, UTC),
                     object_type="key", object_id=f"data-key-{newest}",
                     reason=f"retired data keys {', '.join(map(str, older))}: nothing stored "
                            f"needs them; {newest} is the only one")  # fmt: skip
        save()  # in the transaction: if writing the key file fails, nothing is recorded


@dataclass(frozen=True, slots=True)
class NewIdentity:
    fingerprint: str
    previous_fingerprint: str
    serial: int
    data_key: int
    """The new data key's generation (the re-seal starts when serve starts)."""


def new_identity(
    settings: Settings, passphrase: str, *, now: int, kdf: KdfParams | None = None
) -> NewIdentity:
    """Give this node a new identity after its key file was copied, keeping its database: a
    new signing key (a new fingerprint, which partners must re-pin by phone: ``partner
    repin``), new encryption keys (every old one destroyed: the copy holds them), a new token
    key with no grace for the old one, and a new data key (``serve`` re-seals what is stored
    under it). Run it while ``serve`` is stopped, then start it. The old signing key is kept,
    public half only (``node_state``), so that checkpoints it signed still verify.

    Raises:
        KeyFileError: wrong passphrase or an unsafe key file.
    """
    keys = load_identity(settings.key_file, passphrase)
    old = keys.signing.public
    keys.signing = SigningKey.generate()
    destroyed = [key.kid for key in keys.kem_keys]
    keys.kem_keys = []
    keys.add_kem_key(now=now)
    keys.secrets[TOKEN_SECRET_NAME] = os.urandom(32)
    keys.secrets.pop(PREVIOUS_TOKEN_SECRET_NAME, None)  # a thief's tokens end at once
    keys.secrets.pop(TOKEN_ROTATED_AT_NAME, None)
    generation = max(data_keys_in(keys.secrets)) + 1
    keys.secrets[data_key_secret_name(generation)] = DataKey.generate()
    fingerprint = fingerprint_of(keys.signing.public)
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.write() as session:
            previous = previous_signing_keys(session)
            previous.append({"key": old.to_json(), "key_id": old.key_id,
                             "fingerprint": fingerprint_of(old), "retired_at": now})  # fmt: skip
            _set_state(session, PREVIOUS_SIGNING_KEYS, json.dumps(previous))
            state = session.get(NodeState, KEY_SERIAL)
            serial = int(state.value) + 1 if state else 2
            _set_state(session, KEY_SERIAL, str(serial))
            audit.record(session, actor=Actor.system("console"), action="key.new_identity",
                         outcome=ALLOWED, at=datetime.fromtimestamp(now, UTC),
                         object_type="key", object_id=keys.signing.public.key_id,
                         reason=f"fingerprint {fingerprint_of(old)} replaced by {fingerprint}; "
                                f"encryption keys destroyed: {', '.join(destroyed) or 'none'}; "
                                f"new token key; new data key {generation}; key document "
                                f"serial {serial}")  # fmt: skip
            save_identity(keys, settings.key_file, passphrase, kdf)  # in the transaction
    finally:
        db.dispose()
    return NewIdentity(fingerprint, fingerprint_of(old), serial, generation)


def _set_state(session: Session, name: str, value: str) -> None:
    state = session.get(NodeState, name, with_for_update=True)
    if state is None:
        session.add(NodeState(name=name, value=value))
    else:
        state.value = value
