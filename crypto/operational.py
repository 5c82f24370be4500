"""Operational keys in protocol version 2: the online signing keys a node's root certifies, and
their revocations (docs/protocol.md section 10, RT3 and RT4).

A certificate (``liaison.operational-key``) binds one hybrid signing key to the node for a window,
under a root version; it must be signed by a threshold of that root's keys, and by a threshold of
the newest root the verifier trusts counting only keys that root still lists, so that a rotation
that drops a custodian's key (its file copied) also drops what that key helped certify. A
revocation (``liaison.revocation``) names a key id and the time from which what it signed is
suspect; the root signs one for every key when it certifies it, kept offline for the day the key
file is found copied. A revocation only removes trust, so one signed by a threshold of any root
version the verifier trusts is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crypto.errors import KeyExpired, MalformedInput, UnknownKey
from crypto.keydoc import check_node_id
from crypto.root import VerifiedRoot
from crypto.signing import SigningKey, VerifyKey
from crypto.threshold import integer, load_statement, require, sign_statement, signers

CERTIFICATE_TYPE = "liaison.operational-key"
REVOCATION_TYPE = "liaison.revocation"
CERTIFICATE_PURPOSE = "v2-operational-key"
REVOCATION_PURPOSE = "v2-revocation"
MAX_BYTES = 64 * 1024
_CERTIFICATE_FIELDS = {"type", "node_id", "root_version", "key", "kid", "not_before", "not_after"}
_REVOCATION_FIELDS = {"type", "node_id", "root_version", "kid", "since", "reason"}


@dataclass(frozen=True, slots=True)
class VerifiedCertificate:
    node_id: str
    root_version: int
    key: VerifyKey
    not_before: int
    not_after: int
    raw: bytes

    @property
    def kid(self) -> str:
        return self.key.key_id


@dataclass(frozen=True, slots=True)
class VerifiedRevocation:
    node_id: str
    root_version: int
    kid: str
    since: int
    reason: str
    raw: bytes


def certify(
    *,
    node_id: str,
    root: VerifiedRoot,
    key: VerifyKey,
    not_before: int,
    not_after: int,
    signed_by: Sequence[SigningKey],
) -> bytes:
    """A certificate of ``key`` under ``root``, signed by ``signed_by`` (a threshold of it).

    Raises:
        ValueError: an empty window.
    """
    if not_after <= not_before:
        raise ValueError("the window is empty")
    body = {"type": CERTIFICATE_TYPE, "node_id": check_node_id(node_id),
            "root_version": root.version, "key": key.to_json(), "kid": key.key_id,
            "not_before": not_before, "not_after": not_after}  # fmt: skip
    return sign_statement("certificate", body, CERTIFICATE_PURPOSE, signed_by)


def revoke(
    *, node_id: str, root: VerifiedRoot, kid: str, since: int, reason: str,
    signed_by: Sequence[SigningKey],
) -> bytes:  # fmt: skip
    """A revocation of operational key ``kid`` from ``since`` on, under ``root``."""
    body = {"type": REVOCATION_TYPE, "node_id": check_node_id(node_id),
            "root_version": root.version, "kid": kid, "since": since,
            "reason": reason[:500]}  # fmt: skip
    return sign_statement("revocation", body, REVOCATION_PURPOSE, signed_by)


def _root(roots: Mapping[int, VerifiedRoot], version: int) -> VerifiedRoot:
    root = roots.get(version)
    if root is None:
        raise UnknownKey(f"signed under root version {version}, which is not trusted here")
    return root


def verify_certificate(
    data: bytes, *, roots: Mapping[int, VerifiedRoot], now: int, expected_node_id: str
) -> VerifiedCertificate:
    """RT3: a certificate signed by a threshold of the root version it names and of the newest
    root in ``roots`` (counting only keys that root lists), whose window holds ``now``.

    Raises:
        MalformedInput: it does not parse, names another node, or its kid is not its key's.
        UnknownKey: its root version is not among ``roots``.
        SignatureInvalid: too few of the roots' keys signed it, or a signature is forged.
        KeyExpired: ``now`` is outside its window.
    """
    body, signatures = load_statement(data, "certificate", max_bytes=MAX_BYTES)
    if set(body) != _CERTIFICATE_FIELDS or body["type"] != CERTIFICATE_TYPE:
        raise MalformedInput(f"a certificate holds exactly {sorted(_CERTIFICATE_FIELDS)}")
    node_id = check_node_id(body["node_id"])
    if node_id != expected_node_id:
        raise MalformedInput(f"a certificate of {node_id}, not of {expected_node_id}")
    key = VerifyKey.from_json(body["key"])
    if body["kid"] != key.key_id:
        raise MalformedInput("the certificate's kid is not its key's")
    named = _root(roots, integer(body, "root_version"))
    newest = roots[max(roots)]
    found = signers(body, signatures, CERTIFICATE_PURPOSE, named.keys)
    require(found, named.threshold, f"the certificate of {key.key_id}")
    still = {k.key_id for k in newest.keys}
    what = f"the certificate of {key.key_id}, by keys root version {newest.version} lists"
    require(frozenset(found & still), newest.threshold, what)
    certificate = VerifiedCertificate(node_id, named.version, key, integer(body, "not_before"),
                                      integer(body, "not_after"), data)  # fmt: skip
    if not certificate.not_before <= now < certificate.not_after:
        raise KeyExpired(f"operational key {key.key_id} is not valid now")
    return certificate


def verify_revocation(
    data: bytes, *, roots: Mapping[int, VerifiedRoot], expected_node_id: str
) -> VerifiedRevocation:
    """RT4: a revocation signed by a threshold of a root version in ``roots``.

    Raises:
        MalformedInput: it does not parse, or names another node.
        UnknownKey: its root version is not among ``roots``.
        SignatureInvalid: too few of that root's keys signed it, or a signature is forged.
    """
    body, signatures = load_statement(data, "revocation", max_bytes=MAX_BYTES)
    if set(body) != _REVOCATION_FIELDS or body["type"] != REVOCATION_TYPE:
        raise MalformedInput(f"a revocation holds exactly {sorted(_REVOCATION_FIELDS)}")
    node_id = check_node_id(body["node_id"])
    if node_id != expected_node_id:
        raise MalformedInput(f"a revocation of {node_id}, not of {expected_node_id}")
    if not isinstance(body["kid"], str) or not isinstance(body["reason"], str):
        raise MalformedInput("a revocation names a kid and a reason")
    root = _root(roots, integer(body, "root_version"))
    found = signers(body, signatures, REVOCATION_PURPOSE, root.keys)
    require(found, root.threshold, f"the revocation of {body['kid']}")
    return VerifiedRevocation(node_id, root.version, body["kid"], integer(body, "since"),
                              body["reason"], data)  # fmt: skip
