"""This node's own keys while it serves: reading the key file again after a rotation.

``liaison node rotate-keys --data-dir`` adds an encryption key (and destroys expired ones) in the
key file and raises the key document's serial, as before. A running ``serve`` then reads the key
file again when told to (``liaison node reload-keys`` as an administrator, or ``SIGHUP``), with
the passphrase it was started with: it serves the new key document at once and opens envelopes
sealed to any key the file still holds. Partners fetch the new document on their own every
``key_refresh_seconds`` (verified against the pinned identity, never an older serial: K6) and
seal to the new key from then on; no phone call is needed, since the identity is unchanged.

Only the encryption keys may change this way: a key file with another signing identity is a new
identity that partners must pin again, and a changed data or token key needs a restart. Each
reload is recorded (``key.reload``), and so is a refused one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto.errors import CryptoError
from crypto.keys import load_identity
from service.audit import ALLOWED, Actor, denial, record
from service.errors import Conflict
from service.keyring import key_serial
from service.node import Node


@dataclass(frozen=True, slots=True)
class Reloaded:
    serial: int
    encryption_keys: list[str]
    """The ids of the encryption keys the node now holds, oldest first."""


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
        node.replace_identity(identity)
    except (CryptoError, ValueError) as exc:
        raise refused(str(exc), "keys_refused") from None
    serial = key_serial(session)
    kids = [key.kid for key in identity.kem_keys]
    record(session, actor=actor, action="key.reload", outcome=ALLOWED, at=node.utcnow(),
           object_type="key", object_id=kids[-1] if kids else None,
           reason=f"key document serial {serial}; encryption keys {', '.join(kids)}")  # fmt: skip
    return Reloaded(serial, kids)
