"""Hybrid-signed JSON objects.

Form: ``{"<name>": {...}, "signatures": {"ed25519": b64u, "ml-dsa-65": b64u}}``.

Key documents and receipts share this form. The signed bytes are the RFC 8785 canonical form of
the inner object, so the signature survives re-serialisation by any JSON tool, and the parser is
the strict one (duplicate keys, NaN, depth and size are refused before any signature is checked).
"""

from __future__ import annotations

from typing import Any

from crypto.canonical import canonicalize, parse_strict
from crypto.errors import MalformedInput
from crypto.signing import HybridSignature, SigningKey, VerifyKey


def dump_signed(name: str, body: dict[str, Any], purpose: str, key: SigningKey) -> bytes:
    """Sign ``body`` for ``purpose`` and return the canonical bytes of the signed object."""
    signature = key.sign(purpose, canonicalize(body))
    return canonicalize({name: body, "signatures": signature.to_json()})


def load_signed(
    unverified_bytes: bytes, name: str, *, max_bytes: int, max_depth: int = 8
) -> tuple[dict[str, Any], HybridSignature]:
    """Parse a signed object's shape without checking the signature (the caller picks the key).

    Raises:
        MalformedInput: not JSON, wrong shape, or a malformed signature pair.
    """
    outer = parse_strict(unverified_bytes, max_bytes=max_bytes, max_depth=max_depth)
    if not isinstance(outer, dict) or set(outer) != {name, "signatures"}:
        raise MalformedInput(f"expected an object holding exactly {name!r} and 'signatures'")
    body = outer[name]
    if not isinstance(body, dict):
        raise MalformedInput(f"{name!r} must be a JSON object")
    return body, HybridSignature.from_json(outer["signatures"])


def verify_signed(
    body: dict[str, Any], signature: HybridSignature, purpose: str, key: VerifyKey
) -> None:
    """Check ``signature`` over the canonical form of ``body``.

    Raises:
        SignatureInvalid: either signature fails.
    """
    key.verify(purpose, canonicalize(body), signature)
