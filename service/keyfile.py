"""Changing a node's key file while it is stopped or serving: what the ``liaison node rotate-*``,
``retire-data-keys`` and ``new-identity`` commands do on a data dir.

Each opens the key file with the passphrase, changes it, and writes it back atomically inside the
database transaction that records the change (so a key file that fails to write leaves no record,
and a record never describes a key file that was not written). A running ``serve`` uses the new
keys once it reads the key file again (``liaison node reload-keys``, SIGHUP:
``service.identity.reload_keys``), except after ``new-identity``, which needs a restart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from crypto.envelope import DEFAULT_MAX_LIFETIME
from crypto.errors import KeyFileError
from crypto.fingerprint import fingerprint as fingerprint_of
from crypto.keys import DEFAULT_KEM_LIFETIME, KdfParams, load_identity, save_identity
from crypto.signing import SigningKey
from service import audit
from service.atrest import DataKey, Progress, data_key_secret_name, data_keys_in, generations_in_use
from service.audit import ALLOWED, DENIED, Actor
from service.auth import (
    PREVIOUS_TOKEN_SECRET_NAME,
    TOKEN_ROTATED_AT_NAME,
    TOKEN_SECRET_NAME,
    TokenIssuer,
)
from service.bootstrap import SEALED_COLUMNS, open_database
from service.errors import Conflict
from service.keyring import KEY_SERIAL, PREVIOUS_SIGNING_KEYS, previous_signing_keys
from service.models import NodeState
from service.settings import Settings


@contextmanager
def _recorded(settings: Settings) -> Iterator[Session]:
    """A write transaction on the node's database, for the record of a key-file change: write
    the key file inside it, so that a key file that fails to write leaves no record."""
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.write() as session:
            yield session
    finally:
        db.dispose()


def _record(session: Session, action: str, now: int, reason: str, *,
            object_id: str | None = None, outcome: str = ALLOWED) -> None:  # fmt: skip
    audit.record(session, actor=Actor.system("console"), action=action, outcome=outcome,
                 at=datetime.fromtimestamp(now, UTC), object_type="key", object_id=object_id,
                 reason=reason)  # fmt: skip


def _set_state(session: Session, name: str, value: str) -> None:
    state = session.get(NodeState, name, with_for_update=True)
    if state is None:
        session.add(NodeState(name=name, value=value))
    else:
        state.value = value


def _raise_serial(session: Session) -> int:
    """Raise the serial of the key document this node publishes; the new serial."""
    state = session.get(NodeState, KEY_SERIAL, with_for_update=True)
    serial = int(state.value) + 1 if state else 2
    _set_state(session, KEY_SERIAL, str(serial))
    return serial


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
    with _recorded(settings) as session:
        serial = _raise_serial(session)
        _record(session, "key.rotate", now, object_id=new.kid,
                reason=f"key document serial {serial}; encryption key {new.kid} until "
                       f"{new.not_after}; destroyed: {', '.join(destroyed) or 'none'}")  # fmt: skip
        save_identity(keys, settings.key_file, passphrase, kdf)
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
    with _recorded(settings) as session:
        _record(session, "key.rotate_token", now, object_id=kid,
                reason="new token key; the previous one verifies tokens issued before now for "
                       "one token lifetime")  # fmt: skip
        save_identity(keys, settings.key_file, passphrase, kdf)
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
    with _recorded(settings) as session:
        _record(session, "key.rotate_data", now, object_id=f"data-key-{generation}",
                reason=f"new data key {generation}; stored values sealed by "
                       f"{', '.join(map(str, sorted(held)))} are re-sealed once serve reloads "
                       "its keys")  # fmt: skip
        save_identity(keys, settings.key_file, passphrase, kdf)
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
    try:
        with _recorded(settings) as session:
            _check_retirable(session, newest)
            for generation in older:
                del keys.secrets[data_key_secret_name(generation)]
            _record(session, "key.retire_data", now, object_id=f"data-key-{newest}",
                    reason=f"retired data keys {', '.join(map(str, older))}: nothing stored "
                           f"needs them; {newest} is the only one")  # fmt: skip
            save_identity(keys, settings.key_file, passphrase, kdf)
    except Conflict as exc:  # the refusal is recorded in a transaction of its own
        with _recorded(settings) as session:
            _record(session, "key.retire_data", now, exc.detail, outcome=DENIED)
        raise
    return DataKeyChange(newest, [newest], older)


def _check_retirable(session: Session, newest: int) -> None:
    """
    Raises:
        Conflict: a stored value needs an older key, or the running node has not finished
            re-sealing under ``newest`` (``data_keys_in_use``).
    """
    progress = Progress.load(session, lock=True)
    waiting = {g: n for g, n in generations_in_use(session, SEALED_COLUMNS).items()
               if g != newest}  # fmt: skip
    finished = progress is not None and progress.generation == newest and progress.done
    if waiting or not finished:
        left = ", ".join(f"{n} under data key {g}" for g, n in sorted(waiting.items()))
        why = (f"stored values still need them ({left})" if waiting else
               f"the running node has not finished re-sealing under data key {newest} "
               "(reload its keys, then see liaison node data-keys)")  # fmt: skip
        raise Conflict(f"data keys not retired: {why}", code="data_keys_in_use")


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
    with _recorded(settings) as session:
        previous = previous_signing_keys(session)
        previous.append({"key": old.to_json(), "key_id": old.key_id,
                         "fingerprint": fingerprint_of(old), "retired_at": now})  # fmt: skip
        _set_state(session, PREVIOUS_SIGNING_KEYS, json.dumps(previous))
        serial = _raise_serial(session)
        _record(session, "key.new_identity", now, object_id=keys.signing.public.key_id,
                reason=f"fingerprint {fingerprint_of(old)} replaced by {fingerprint}; "
                       f"encryption keys destroyed: {', '.join(destroyed) or 'none'}; new token "
                       f"key; new data key {generation}; key document serial {serial}")  # fmt: skip
        save_identity(keys, settings.key_file, passphrase, kdf)
    return NewIdentity(fingerprint, fingerprint_of(old), serial, generation)


def change_passphrase(
    settings: Settings, passphrase: str, new_passphrase: str, *, now: int,
    kdf: KdfParams | None = None,
) -> None:  # fmt: skip
    """Encrypt the key file under ``new_passphrase`` (a fresh salt and nonce); its keys are
    unchanged. A running ``serve`` keeps the old passphrase, so ``reload-keys`` refuses the file
    until ``serve`` is restarted with the new one.

    Raises:
        KeyFileError: wrong passphrase, an unsafe key file, or an empty new passphrase.
    """
    keys = load_identity(settings.key_file, passphrase)
    if not new_passphrase:
        raise KeyFileError("the new passphrase is empty")
    if new_passphrase == passphrase:
        raise KeyFileError("the new passphrase is the old one")
    with _recorded(settings) as session:
        _record(
            session,
            "key.passphrase",
            now,
            "key file encrypted under a new passphrase; restart serve with it",
        )
        save_identity(keys, settings.key_file, new_passphrase, kdf)
