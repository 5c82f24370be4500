"""The running node: settings, database, keys and clock, built once and handed to everything.

Nothing here is a module-level global: tests build two ``Node`` objects side by side, each with its
own data dir, database and clock, and run them in one process.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from crypto.keys import NodeIdentity
from policies import Policy
from service.atrest import DataKeyring, SealedColumn, data_keys_in
from service.auth import (
    PREVIOUS_TOKEN_SECRET_NAME,
    TOKEN_ROTATED_AT_NAME,
    TOKEN_SECRET_NAME,
    PasswordPolicy,
    TokenIssuer,
    hash_password,
)
from service.db import Database
from service.keyring import Keyring, key_serial
from service.settings import Settings

Clock = Callable[[], float]


class Wakeup:
    """A thread-safe doorbell: submissions ring it so the delivery worker starts at once."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def ring(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        rang = self._event.wait(timeout)
        self._event.clear()
        return rang


@dataclass
class Node:
    settings: Settings
    db: Database
    identity: NodeIdentity
    clock: Clock = time.time
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    wakeup: Wakeup = field(default_factory=Wakeup)
    pull_requested: threading.Event = field(default_factory=threading.Event)
    http_client: Callable[[], httpx.AsyncClient] | None = None
    """Makes the client used to reach partners; tests inject in-process transports here."""
    sharing: dict[str, Policy] = field(default_factory=dict)
    """The sharing policies loaded at start-up, by partner id (``service.bootstrap``)."""
    passphrase: str | None = field(default=None, repr=False)
    """The key file's passphrase, kept to read the key file again after a rotation while
    serving (``service.identity.reload_keys``); the process holds the keys it opens anyway."""
    sealed_columns: tuple[SealedColumn, ...] = ()
    """Every column sealed with the data keys, as the domains declare them
    (``service.bootstrap``): what the background re-seal walks after a data-key rotation."""
    data_keys_changed: threading.Event = field(default_factory=threading.Event)
    """Set when a reload brings a new data key: the re-seal starts at once."""

    def __post_init__(self) -> None:
        self.data_key = DataKeyring(data_keys_in(self.identity.secrets))
        self.keyring = Keyring()
        if self.http_client is None:
            timeout = self.settings.delivery_timeout
            self.http_client = lambda: httpx.AsyncClient(timeout=timeout)
        self.tokens = self._token_issuer(self.identity)

    def _token_issuer(self, identity: NodeIdentity) -> TokenIssuer:
        secrets = identity.secrets
        rotated = secrets.get(TOKEN_ROTATED_AT_NAME)
        return TokenIssuer(
            node_id=identity.node_id,
            key_seed=secrets[TOKEN_SECRET_NAME],
            ttl=self.settings.token_ttl,
            previous_seed=secrets.get(PREVIOUS_TOKEN_SECRET_NAME),
            rotated_at=int.from_bytes(rotated, "big") if rotated is not None else None,
        )

    @functools.cached_property
    def dummy_password_hash(self) -> str:
        return hash_password(os.urandom(16).hex(), self.password_policy)

    def replace_identity(self, identity: NodeIdentity) -> None:
        """Serve ``identity`` (the key file read again after a rotation) from now on: its
        encryption keys, a key document signed anew, its token key and its data keys (a new
        generation seals from now on, and the re-seal is woken). The signing identity may not
        differ, and no data key may be replaced by another under the same generation or give way
        to an older one.

        Raises:
            ValueError: another node's keys, another signing identity, or other data keys.
        """
        if identity.node_id != self.node_id:
            raise ValueError(f"the key file is {identity.node_id}'s, not {self.node_id}'s")
        if identity.signing.public.key_id != self.identity.signing.public.key_id:
            raise ValueError("the key file holds another signing identity: that is a new "
                             "identity for the partners to pin, not a rotation")  # fmt: skip
        held, given = data_keys_in(self.identity.secrets), data_keys_in(identity.secrets)
        if any(held[g] != given[g] for g in held.keys() & given.keys()):
            raise ValueError("the key file holds another data key under the same generation")
        if not given or max(given) < max(held):
            raise ValueError(f"the key file lacks data key {max(held)}, the newest in use")
        data_keys = DataKeyring(given)
        tokens = self._token_issuer(identity)
        self.identity = identity
        self.tokens = tokens
        if data_keys.generations != self.data_key.generations:
            self.data_key = data_keys
            self.data_keys_changed.set()
        self.__dict__.pop("key_document", None)  # signed again, at its new serial, on next use

    @functools.cached_property
    def key_document(self) -> bytes:
        """The signed key document this node serves, at the serial recorded when it was made
        (a rotation raises it; :meth:`replace_identity` makes it again)."""
        with self.db.read() as session:
            serial = key_serial(session)
        return self.identity.key_document(
            endpoint=self.settings.public_url, serial=serial, now=self.now()
        )

    def request_pull(self) -> None:
        """Ask the worker to pull from partners soon (a gap in a sequence was seen)."""
        self.pull_requested.set()
        self.wakeup.ring()

    @property
    def node_id(self) -> str:
        return self.identity.node_id

    def now(self) -> int:
        """Unix seconds from the node's clock (injected in tests)."""
        return int(self.clock())

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
