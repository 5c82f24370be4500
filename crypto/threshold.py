"""Statements signed by a threshold of keys: the root documents, operational-key certificates and
revocations of protocol version 2 (docs/protocol.md section 10).

Form: ``{"<name>": {...}, "signatures": [{"key_id": ..., "ed25519": b64u, "ml-dsa-65": b64u},
...]}``, one entry per signing key, sorted by key id. Each is a hybrid signature (both halves
required, ``crypto.signing``) over the RFC 8785 canonical form of the inner object, for the
statement's purpose. A threshold is met by *distinct keys* of the set named by the verifier, each
counted once however many entries claim it (python-tuf's GHSA-r7vq-6425-j94w counted signatures):
an entry naming a key twice makes the statement malformed, and an entry by a key outside the set
is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crypto.canonical import canonicalize, parse_strict
from crypto.errors import MalformedInput, SignatureInvalid
from crypto.signing import HybridSignature, SigningKey, VerifyKey

MAX_SIGNATURES = 16


def sign_statement(name: str, body: dict[str, Any], purpose: str,
                   keys: Sequence[SigningKey]) -> bytes:  # fmt: skip
    """Sign ``body`` for ``purpose`` with each of ``keys``; the canonical bytes of the statement.

    Raises:
        ValueError: no key, or one key twice.
    """
    ids = [key.public.key_id for key in keys]
    if not ids or len(set(ids)) != len(ids):
        raise ValueError("sign with at least one key, each once")
    message = canonicalize(body)
    signatures = sorted(
        ({"key_id": key.public.key_id, **key.sign(purpose, message).to_json()} for key in keys),
        key=lambda entry: entry["key_id"],
    )
    return canonicalize({name: body, "signatures": signatures})


def load_statement(
    unverified_bytes: bytes, name: str, *, max_bytes: int
) -> tuple[dict[str, Any], dict[str, HybridSignature]]:
    """Parse a statement's shape without checking any signature: its body, and its signatures by
    the key id each names.

    Raises:
        MalformedInput: not JSON, the wrong shape, a malformed signature, or a key named twice.
    """
    outer = parse_strict(unverified_bytes, max_bytes=max_bytes, max_depth=8)
    if not isinstance(outer, dict) or set(outer) != {name, "signatures"}:
        raise MalformedInput(f"expected an object holding exactly {name!r} and 'signatures'")
    body, entries = outer[name], outer["signatures"]
    if not isinstance(body, dict):
        raise MalformedInput(f"{name!r} must be a JSON object")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_SIGNATURES:
        raise MalformedInput(f"'signatures' must be a list of 1 to {MAX_SIGNATURES} entries")
    signatures: dict[str, HybridSignature] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("key_id"), str):
            raise MalformedInput("each signature names its key_id")
        key_id = entry["key_id"]
        if key_id in signatures:
            raise MalformedInput(f"key {key_id} signs more than once")
        signatures[key_id] = HybridSignature.from_json(
            {k: v for k, v in entry.items() if k != "key_id"}
        )
    return body, signatures


def signers(
    body: dict[str, Any],
    signatures: Mapping[str, HybridSignature],
    purpose: str,
    keys: Sequence[VerifyKey],
) -> frozenset[str]:
    """The key ids of the distinct keys among ``keys`` whose signature on ``body`` verifies.

    Raises:
        SignatureInvalid: a signature by one of ``keys`` does not verify (a forged or damaged
            entry is an error, not a missing vote).
    """
    message = canonicalize(body)
    found = set()
    for key in keys:
        signature = signatures.get(key.key_id)
        if signature is None:
            continue
        key.verify(purpose, message, signature)
        found.add(key.key_id)
    return frozenset(found)


def integer(body: dict[str, Any], name: str, low: int = 0) -> int:
    """A statement's integer field, at least ``low`` and below 2**63.

    Raises:
        MalformedInput: missing, not an integer (a boolean is not), or out of range.
    """
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**63:
        raise MalformedInput(f"{name} is not an integer of at least {low}")
    return value


def require(found: frozenset[str], threshold: int, what: str) -> None:
    """
    Raises:
        SignatureInvalid: fewer than ``threshold`` distinct keys signed.
    """
    if len(found) < threshold:
        raise SignatureInvalid(f"{what} is signed by {len(found)} of its keys, {threshold} needed")
