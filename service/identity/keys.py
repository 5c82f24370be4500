"""This node's own keys while it serves: reading the key file again after a rotation.

``liaison node rotate-keys --data-dir`` adds an encryption key (and destroys expired ones) in the
key file and raises the key document's serial, as before. A running ``serve`` then reads the key
file again when told to (``liaison node reload-keys`` as an administrator, or ``SIGHUP``), with
the passphrase it was started with: it serves the new key document at once and opens envelopes
sealed to any key the file still holds. Partners fetch the new document on their own every
``key_refresh_seconds`` (verified against the pinned identity, never an older serial: K6) and
seal to the new key from then on; no phone call is needed, since the identity is unchanged.

The token key (``rotate-token-key``) and the data keys (``rotate-data-key``: the new one seals
from then on and the re-seal starts, ``service.atrest.reseal``; ``retire-data-keys``: the older
ones are dropped) change the same way. A key file with another signing identity is a new identity
that partners must pin again, and is refused, as is one that drops a data key a stored value
still needs. Each reload is recorded (``key.reload``), and so is a refused one.
:func:`data_key_status` says which data keys seal what, and how far the re-seal has gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto.errors import CryptoError
from crypto.keys import load_identity
from service.atrest import Progress, data_keys_in, generations_in_use
from service.audit import ALLOWED, Actor, denial, record
from service.errors import Conflict
from service.keyring import key_serial
from service.node import Node


@dataclass(frozen=True, slots=True)
class Reloaded:
    serial: int
    encryption_keys: list[str]
    """The ids of the encryption keys the node now holds, oldest first."""
    data_keys: list[int]
    """The data-key generations it now holds."""


def reload_keys(session: Session, node: Node, actor: Actor) -> Reloaded:
    """Read the key file again and serve what it holds (see the module's docstring).

    Raises:
        Conflict: the node was not given a passphrase to keep (``no_passphrase``), the key file
            does not open, or it holds another identity or other secrets (``keys_refused``);
            each carries its ``key.reload`` denial.
    """

    def refused(reason: str, code: str) -> Conflict:
        return Conflict(f"the key file was not reloaded: {reason}", code=code).recording(
            denial(actor, "key.reload", node.utcnow(), reason, object_type="key")
        )

    if node.passphrase is None:
        raise refused("this node keeps no passphrase (restart serve instead)", "no_passphrase")
    try:
        identity = load_identity(node.settings.key_file, node.passphrase)
        dropped = set(node.data_key.generations) - set(data_keys_in(identity.secrets))
        needed = generations_in_use(session, node.sealed_columns) if dropped else {}
        if still := sorted(g for g in dropped if needed.get(g)):
            raise ValueError(f"the key file lacks data key {still[0]}, which stored values "
                             "still need")  # fmt: skip
        node.replace_identity(identity)
    except (CryptoError, ValueError) as exc:
        raise refused(str(exc), "keys_refused") from None
    serial = key_serial(session)
    kids = [key.kid for key in identity.kem_keys]
    data = ", ".join(map(str, node.data_key.generations))
    record(session, actor=actor, action="key.reload", outcome=ALLOWED, at=node.utcnow(),
           object_type="key", object_id=kids[-1] if kids else None,
           reason=f"key document serial {serial}; encryption keys {', '.join(kids)}; data keys "
                  f"{data}")  # fmt: skip
    return Reloaded(serial, kids, node.data_key.generations)


@dataclass(frozen=True, slots=True)
class DataKeyStatus:
    current: int
    """The data key that seals new values."""
    held: list[int]
    in_use: dict[int, int]
    """How many stored values each generation sealed."""
    resealed: int
    """Values the re-seal under ``current`` has moved so far."""
    reseal_done: bool


def data_key_status(session: Session, node: Node) -> DataKeyStatus:
    """Which data keys the node holds, how many stored values each sealed, and how far the
    re-seal under the newest has gone (done: ``liaison node retire-data-keys`` may remove the
    others)."""
    keys = node.data_key
    progress = Progress.load(session)
    in_use = generations_in_use(session, node.sealed_columns)
    ours = progress if progress is not None and progress.generation == keys.current else None
    done = (ours is not None and ours.done) or set(in_use) <= {keys.current}
    return DataKeyStatus(keys.current, keys.generations, in_use,
                         ours.resealed if ours is not None else 0, done)  # fmt: skip
