"""A node's root of trust in protocol version 2: its offline root key set, and its rotation.

docs/protocol.md section 10. A root document (``liaison.root``, version 1, 2, ...) names the node,
a threshold ``t`` and ``n`` hybrid root keys (2 <= n <= 8, 1 <= t <= n), and an expiry. Partners
pin the first one by its **root fingerprint**, read out by phone once (RT1), and then follow its
rotations without a call (RT2, TUF specification 1.0 section 5.3): version ``v + 1`` must be
signed by a threshold of version ``v``'s keys *and* a threshold of its own, the version must be
exactly the next, and only the final root must not have expired.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crypto.canonical import canonicalize
from crypto.encoding import b64u_encode
from crypto.errors import FingerprintMismatch, KeyExpired, MalformedInput
from crypto.fingerprint import digits_of, normalize
from crypto.keydoc import check_node_id
from crypto.signing import SigningKey, VerifyKey
from crypto.threshold import integer, load_statement, require, sign_statement, signers

ROOT_TYPE = "liaison.root"
PURPOSE = "v2-root"
MAX_ROOT_BYTES = 64 * 1024
MAX_KEYS = 8
MAX_CHAIN = 32
"""Most root versions followed in one update (a longer chain is refused, not truncated)."""
_FIELDS = {"type", "version", "node_id", "expires", "threshold", "keys"}


@dataclass(frozen=True, slots=True)
class VerifiedRoot:
    """A root document whose signatures were checked (RT1 or RT2)."""

    node_id: str
    version: int
    expires: int
    threshold: int
    keys: tuple[VerifyKey, ...]
    raw: bytes

    @property
    def fingerprint(self) -> str:
        return root_fingerprint(self.node_id, self.threshold, self.keys)


def root_fingerprint(node_id: str, threshold: int, keys: Sequence[VerifyKey]) -> str:
    """The root fingerprint: 12 groups of 5 digits from SHA-512 over the canonical form of the
    node id, the threshold and the sorted identity digests of the keys."""
    digests = sorted(b64u_encode(key.identity_digest) for key in keys)
    statement = {"type": "liaison.root-fingerprint", "node_id": node_id,
                 "threshold": threshold, "keys": digests}  # fmt: skip
    return digits_of(hashlib.sha512(canonicalize(statement)).digest())


def build_root(
    *,
    node_id: str,
    version: int,
    expires: int,
    threshold: int,
    keys: Sequence[VerifyKey],
    signed_by: Sequence[SigningKey],
) -> bytes:
    """A root document signed by ``signed_by`` (for a rotation: a threshold of the previous
    version's keys and a threshold of these ``keys``).

    Raises:
        ValueError: a threshold or key set outside the rules above.
    """
    _check_set(threshold, keys)
    body: dict[str, Any] = {
        "type": ROOT_TYPE,
        "version": version,
        "node_id": check_node_id(node_id),
        "expires": expires,
        "threshold": threshold,
        "keys": [key.to_json() for key in keys],
    }
    return sign_statement("root", body, PURPOSE, signed_by)


def _check_set(threshold: int, keys: Sequence[VerifyKey]) -> None:
    if not 2 <= len(keys) <= MAX_KEYS:
        raise ValueError(f"a root has 2 to {MAX_KEYS} keys")
    if len({key.key_id for key in keys}) != len(keys):
        raise ValueError("a root key is listed twice")
    if not 1 <= threshold <= len(keys):
        raise ValueError("the threshold is between 1 and the number of keys")


def _parse(data: bytes) -> tuple[VerifiedRoot, dict[str, Any], dict[str, Any]]:
    """The root's fields (signatures not yet checked), its body and its signatures."""
    body, signatures = load_statement(data, "root", max_bytes=MAX_ROOT_BYTES)
    if set(body) != _FIELDS or body["type"] != ROOT_TYPE:
        raise MalformedInput(f"a root document holds exactly {sorted(_FIELDS)}")
    raw_keys = body["keys"]
    if not isinstance(raw_keys, list):
        raise MalformedInput("the root's keys are not a list")
    keys = tuple(VerifyKey.from_json(item) for item in raw_keys)
    threshold = integer(body, "threshold", 1)
    try:
        _check_set(threshold, keys)
    except ValueError as exc:
        raise MalformedInput(f"the root's key set: {exc}") from exc
    root = VerifiedRoot(check_node_id(body["node_id"]), integer(body, "version", 1),
                        integer(body, "expires"), threshold, keys, data)  # fmt: skip
    return root, body, signatures


def _signed_by_own(root: VerifiedRoot, body: dict[str, Any], signatures: dict[str, Any]) -> None:
    found = signers(body, signatures, PURPOSE, root.keys)
    require(found, root.threshold, f"root version {root.version}")


def trust_roots(
    chain: Sequence[bytes],
    *,
    now: int,
    expected_node_id: str,
    pinned_fingerprint: str | None = None,
    trusted: VerifiedRoot | None = None,
) -> list[VerifiedRoot]:
    """Verify root documents: from the pin (``pinned_fingerprint``: ``chain`` starts at version
    1, RT1) or from the root already ``trusted`` (``chain`` continues it), each next version by
    RT2. Returns the roots newly verified, oldest first (empty when ``chain`` is and ``trusted``
    is still valid).

    Raises:
        MalformedInput: a document does not parse, or names another node.
        FingerprintMismatch: RT1, the first root is not the one pinned.
        SignatureInvalid: a root is not signed by a threshold of its predecessor's keys or of
            its own.
        KeyExpired: the final root has expired.
        ValueError: neither or both of ``pinned_fingerprint`` and ``trusted``.
    """
    if (pinned_fingerprint is None) == (trusted is None):
        raise ValueError("give exactly one of pinned_fingerprint or trusted")
    if len(chain) > MAX_CHAIN:
        raise MalformedInput(f"more than {MAX_CHAIN} root versions at once")
    verified: list[VerifiedRoot] = []
    current = trusted
    for data in chain:
        root, body, signatures = _parse(data)
        if root.node_id != expected_node_id:
            raise MalformedInput(f"a root of {root.node_id}, not of {expected_node_id}")
        if current is None:  # RT1: the pinned first root
            assert pinned_fingerprint is not None
            if root.version != 1:
                raise MalformedInput("the first root must be version 1")
            want, have = normalize(pinned_fingerprint), normalize(root.fingerprint)
            if not hmac.compare_digest(want.encode(), have.encode()):
                raise FingerprintMismatch(
                    f"the root's fingerprint is {root.fingerprint}, not the pinned one"
                )
        else:  # RT2: the next version, signed by the old set and by its own
            if root.version != current.version + 1:
                raise MalformedInput(f"root version {root.version} does not follow "
                                     f"{current.version}")  # fmt: skip
            found = signers(body, signatures, PURPOSE, current.keys)
            what = f"root version {root.version}, by version {current.version}'s keys"
            require(found, current.threshold, what)
        _signed_by_own(root, body, signatures)
        verified.append(root)
        current = root
    final = verified[-1] if verified else trusted
    assert final is not None
    if final.expires <= now:
        raise KeyExpired(f"root version {final.version} expired")
    return verified


def check_self_signed(data: bytes) -> VerifiedRoot:
    """A root document checked against its own keys only (for the custodians' ceremony, which
    holds no pin).

    Raises:
        MalformedInput, SignatureInvalid: as :func:`trust_roots`.
    """
    root, body, signatures = _parse(data)
    _signed_by_own(root, body, signatures)
    return root
