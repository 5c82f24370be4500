"""Creating a node's data dir, and opening a node from it: where the node is put together.

``init_node`` makes the data dir (mode 0700), generates the identity with its data key and token
key, writes the encrypted key file (0600) and ``node.toml``, and migrates the database.
``open_node`` unlocks the key file with the passphrase and returns a ready :class:`Node`.
``open_database`` is the one way to reach a node's database: with the audit log's sequencer on
every write transaction. Changes to the key file of an existing node are in ``service.keyfile``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crypto.keys import KdfParams, NodeIdentity, load_identity, save_identity
from policies import Policy, load_policy_dir
from service import audit, drafts, migrate, reports
from service.atrest import (
    SECRET_NAME as DATA_KEY_NAME,
)
from service.atrest import (
    DataKey,
)
from service.audit import ALLOWED, Actor
from service.auth import (
    TOKEN_SECRET_NAME,
    PasswordPolicy,
)
from service.db import Database
from service.errors import Conflict
from service.identity import create_user
from service.keyring import KEY_SERIAL
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
